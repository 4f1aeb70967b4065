"""Make the unit tests' imports independent of how pytest was started.

`pytest` from the checkout gets these paths from pyproject.toml; `ansible-test
units` runs its own pytest configuration from ansible_collections/natzero/aws.
Either way the reconciler's package (lambda_src/nat_zero), the shared test
support (tests.support) and tools/ import the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

for path in (REPO_ROOT, REPO_ROOT / "lambda_src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
