"""Run `ansible-test sanity` on the collection as users install it.

ansible-test wants the collection at .../ansible_collections/natzero/aws, so
this builds the artifact (galaxy.yml's build_ignore applies), installs it into
a temporary directory (the artifact ships tests/sanity's ignore files and
tests/config.yml, what an installed collection needs). Then it runs every sanity test on this
Python. (Not under build/: inside this git checkout, ansible-test would list
files with git, and git ignores build/.)

Offline: ansible-test puts pip into each sanity virtual environment with a
bootstrap script it downloads from its own file server. A cached copy is used
when present, so the offline stand-in (get_pip.py beside this file) is put in
the cache first; everything else comes from the package index.

    python tests/collection/sanity.py [ansible-test sanity options, e.g. --test pylint]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PYTHON_VERSION = "%d.%d" % sys.version_info[:2]


def seed_pip_bootstrap() -> None:
    pip_version = get_venv_packages(NativePythonConfig(version=PYTHON_VERSION, path=sys.executable))["pip"]
    cached = Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % pip_version.replace(".", "_"))
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(__file__).with_name("get_pip.py"), cached)


def install_artifact(work: Path) -> Path:
    """The built artifact, installed under work; returns the collection's directory."""
    artifacts = work / "artifact"
    artifacts.mkdir()
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(artifacts), str(REPO)],
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--force",
            "-p",
            str(work / "collections"),
            str(artifacts / ("natzero-aws-%s.tar.gz" % version)),
        ],
        # Outside the checkout: its ansible.cfg would make ansible-galaxy see
        # the linked checkout as natzero.aws already installed.
        cwd=work,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work / "collections")),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return work / "collections" / "ansible_collections" / "natzero" / "aws"


def main(arguments) -> int:
    started = time.monotonic()
    seed_pip_bootstrap()
    with tempfile.TemporaryDirectory(prefix="natzero-sanity-") as work:
        return run_ansible_test("sanity", install_artifact(Path(work)), arguments, started)


def run_ansible_test(command: str, collection: Path, arguments, started: float) -> int:
    """ansible-test <command> on this Python in collection; says how it ended and how long it took."""
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))
    argv = [str(BIN / "ansible-test"), command, "--python", PYTHON_VERSION, "--color", "no", *arguments]
    returncode = subprocess.run(argv, cwd=collection, env=env, check=False).returncode
    print("ansible-test %s: exit %d in %.0f s" % (command, returncode, time.monotonic() - started))
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
