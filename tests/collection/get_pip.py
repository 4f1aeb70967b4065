"""An offline stand-in for the get-pip.py script that ansible-test downloads.

ansible-test creates each sanity test's virtual environment without pip, then
runs a pip bootstrap script it fetches from its own file server, which this
network cannot reach. It uses a cached copy when one exists
(~/.ansible/test/cache/get_pip_<version>.py), so the test command puts this
file there: it installs the interpreter's bundled pip with ensurepip, then the
pip version ansible-test asked for, from the package index pip is configured
with.
"""

from __future__ import annotations

import subprocess
import sys

# Options only get-pip.py understands; pip itself would reject them.
GET_PIP_OPTIONS = ("--no-setuptools", "--no-wheel")


def main() -> None:
    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_OPTIONS]
    # In a child process: ensurepip.bootstrap() would turn off pip's configuration
    # files (and with them the index and certificate settings) in this one.
    subprocess.run([sys.executable, "-m", "ensurepip"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True)


if __name__ == "__main__":
    main()
