"""The collection as Ansible users meet it: built, installed, documented and
run by FQCN against a moto server on 127.0.0.1.

Every ansible command here runs in a scratch directory with an environment
that names its collections path explicitly, so neither the checkout's
ansible.cfg nor a developer's ~/.ansible decides which natzero.aws runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.fixtures import *  # noqa: F403 (the moto-server fixtures)
from tests.support.runs import REPO


def module_names() -> list[str]:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def ansible_env(collections_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an ansible command: no AWS settings, no ansible.cfg."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_", "EC2_", "BOTO_"))}
    config = collections_path.parent / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        # The Python running the tests is the one with boto3.
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(collections_path.parent / "ansible-tmp"),
        ANSIBLE_HOME=str(collections_path.parent / "ansible-home"),
    )
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def checkout_collections(tmp_path_factory) -> Path:
    """A collections path whose natzero.aws is this checkout (a link to it)."""
    root = tmp_path_factory.mktemp("checkout") / "collections"
    (root / "ansible_collections" / "natzero").mkdir(parents=True)
    (root / "ansible_collections" / "natzero" / "aws").symlink_to(REPO)
    return root


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
