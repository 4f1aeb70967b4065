"""The moto-server fixtures of every suite that runs ansible against the
emulator (tests/integration, tests/security, tests/collection). A suite's
conftest imports them (`from tests.support.fixtures import *`); pytest starts
a server only for the tests that ask for one, and each xdist worker (session
scope) has its own.

One server per session; every test module builds its own fixture VPCs in it
and names its deployments apart, so modules never see each other's resources.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from playbooks.sandbox import create_vpc
from playbooks.sandbox.emulator import moto_server, sandbox_credentials
from tests.support import moto
from tests.support.runs import BIN, REPO, Run, ansible_environment, run

# What `from tests.support.fixtures import *` gives a suite's conftest.
__all__ = ["aws", "aws_env", "collection_link", "make_vpc", "moto_endpoint", "run_playbook"]

COLLECTION_LINK = REPO / "build" / "collections" / "ansible_collections" / "natzero" / "aws"


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on a free port of 127.0.0.1, stopped at the end whatever happens."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def aws_env(moto_endpoint) -> dict[str, str]:
    """The environment that points boto3 (and so every module) at the moto server."""
    return sandbox_credentials(moto_endpoint)


@pytest.fixture(scope="session")
def aws(moto_endpoint):
    """aws('ec2') -> a boto3 client of the moto server."""
    return moto.clients(moto_endpoint)


@pytest.fixture(scope="session")
def collection_link():
    """What `make collection` does, for a bare `pytest` run."""
    if not COLLECTION_LINK.exists():
        COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
        COLLECTION_LINK.symlink_to(Path("../../../.."))
    return COLLECTION_LINK


@pytest.fixture(scope="session")
def make_vpc(aws):
    """make_vpc(name, second_octet, zones) -> the nat_zero_* variables of a new fixture VPC."""

    def make(name: str, second_octet: int = 0, zones=("us-east-1a", "us-east-1b")) -> dict:
        return create_vpc.create_vpc(aws("ec2"), name, zones, second_octet)

    return make


@pytest.fixture(scope="session")
def run_playbook(aws_env, collection_link, tmp_path_factory):
    """run_playbook('site.yml', variables, check=False, env=None, label='') -> Run
    (never raises on failure). A playbook given as an absolute path (a test's
    own play) runs as is; a name runs from playbooks/. env: changes to the
    environment; None removes a variable."""
    vars_dir = tmp_path_factory.mktemp("vars")

    def run_one(playbook: str, variables: dict, check: bool = False, env: dict | None = None, label: str = "") -> Run:
        vars_file = vars_dir / f"{label or variables.get('nat_zero_name', 'vars')}-{time.monotonic_ns()}.yml"
        vars_file.write_text(yaml.safe_dump(variables, sort_keys=False))
        playbook_path = playbook if Path(playbook).is_absolute() else f"playbooks/{playbook}"
        command = [str(BIN / "ansible-playbook"), "-i", "inventory.yml", playbook_path, "-e", f"@{vars_file}"]
        if check:
            command.append("--check")
        return run(command, REPO, ansible_environment(aws_env, env))

    return run_one
