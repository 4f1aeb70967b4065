"""Run `ansible-test units` on the collection, the way a collection CI runs it.

ansible-test wants the collection at .../ansible_collections/natzero/aws, so
this copies the checkout's files (tracked and new, as git lists them) into a
temporary tree of that shape and runs every unit test there on this Python.
(Not under build/: inside this git checkout, ansible-test would list files
with git, and git ignores build/.) tests/unit/conftest.py makes the
reconciler's package and the test support importable without pyproject.toml.

    python tests/collection/units.py [ansible-test units options, e.g. a test file]

tests/unit/requirements.txt and tests/unit/constraints.txt (the oldest
boto3/botocore the collection supports) are for `ansible-test units --venv
--requirements` in a collection CI; this script runs on the current Python.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sanity import REPO, run_ansible_test


def copy_checkout(collection: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = collection / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def main(arguments) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="natzero-units-") as work:
        collection = Path(work) / "ansible_collections" / "natzero" / "aws"
        copy_checkout(collection)
        return run_ansible_test("units", collection, arguments, started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
