"""Make the unit tests' imports independent of how pytest was started.

`pytest` from the checkout gets lambda_src and the checkout on sys.path from
pyproject.toml; `ansible-test units` runs its own pytest configuration from
ansible_collections/natzero/aws. Either way the reconciler's package
(lambda_src/nat_zero), the shared test support (tests.support), tools/ and the
collection (ansible_collections.natzero.aws) import the same.

The checkout is the collection: a temporary ansible_collections/natzero/aws
link to it makes `ansible_collections.natzero.aws...` importable (and lets
ansible-doc find it) without `make collection`.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

for path in (REPO_ROOT, REPO_ROOT / "lambda_src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

COLLECTIONS_ROOT = Path(tempfile.mkdtemp(prefix="natzero-collections-"))
(COLLECTIONS_ROOT / "ansible_collections" / "natzero").mkdir(parents=True)
(COLLECTIONS_ROOT / "ansible_collections" / "natzero" / "aws").symlink_to(REPO_ROOT)
sys.path.insert(0, str(COLLECTIONS_ROOT))
atexit.register(shutil.rmtree, COLLECTIONS_ROOT, True)  # removes the link, never follows it


@pytest.fixture(scope="session")
def collections_root():
    return COLLECTIONS_ROOT
