"""The real ansible-playbook against a moto server on 127.0.0.1.

One moto server per test session; every test module builds its own fixture
VPCs in it and names its deployments apart, so modules never see each other's
resources.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from playbooks.sandbox import create_vpc
from playbooks.sandbox.emulator import moto_server

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
COLLECTION_LINK = REPO / "build" / "collections" / "ansible_collections" / "natzero" / "aws"
BIN = Path(sys.executable).parent

# Wall-clock seconds of the runs worth reporting, printed at the end of the session.
TIMINGS: dict[str, float] = {}


def pytest_sessionfinish(session):
    # Under pytest-xdist each worker measures its own runs: hand them to the
    # controller, which prints the summary.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["playbook_timings"] = dict(TIMINGS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    TIMINGS.update(getattr(node, "workeroutput", {}).get("playbook_timings", {}))


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("ansible-playbook timings (moto server)")
        for label, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{label:<40} {seconds:6.1f} s")


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on a free port of 127.0.0.1, stopped at the end whatever happens."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def aws_env(moto_endpoint) -> dict[str, str]:
    """The environment that points boto3 (and so every module) at the moto server."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture(scope="session")
def aws(aws_env):
    """aws('ec2') -> a boto3 client of the moto server."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(service: str):
        return session.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"])

    return client


@pytest.fixture(scope="session")
def collection_link():
    """What `make collection` does, for a bare `pytest` run."""
    if not COLLECTION_LINK.exists():
        COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
        COLLECTION_LINK.symlink_to(Path("../../../.."))
    return COLLECTION_LINK


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, int]:
        match = re.search(r"^localhost\s*:\s*(.*)$", self.output, re.MULTILINE)
        assert match, f"no PLAY RECAP in:\n{self.tail()}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def assert_ok(self) -> PlaybookRun:
        assert self.returncode == 0, f"ansible-playbook failed ({self.returncode}):\n{self.tail()}"
        return self


@pytest.fixture(scope="session")
def run_playbook(aws_env, collection_link, tmp_path_factory):
    """run_playbook('site.yml', variables, check=False) -> PlaybookRun (never raises on failure).

    A playbook given as an absolute path (a test's own play) runs as is; a
    name runs from playbooks/."""
    vars_dir = tmp_path_factory.mktemp("vars")

    def run(
        playbook: str, variables: dict, check: bool = False, env: dict | None = None, label: str = ""
    ) -> PlaybookRun:
        vars_file = vars_dir / f"{label or variables.get('nat_zero_name', 'vars')}-{time.monotonic_ns()}.yml"
        vars_file.write_text(yaml.safe_dump(variables, sort_keys=False))
        command = [
            str(BIN / "ansible-playbook"),
            "-i",
            "inventory.yml",
            playbook if Path(playbook).is_absolute() else f"playbooks/{playbook}",
            "-e",
            f"@{vars_file}",
        ]
        if check:
            command.append("--check")
        environment = {**os.environ, **aws_env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
        environment.pop("AWS_PROFILE", None)
        # env: changes to the environment; None removes a variable.
        environment.update(env or {})
        environment = {key: value for key, value in environment.items() if value is not None}
        started = time.monotonic()
        completed = subprocess.run(
            command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return PlaybookRun(completed.returncode, completed.stdout, time.monotonic() - started)

    return run


@pytest.fixture(scope="session")
def make_vpc(aws):
    """make_vpc(name, second_octet) -> the nat_zero_* variables of a new two-AZ fixture VPC."""
    ec2 = aws("ec2")

    def make(name: str, second_octet: int = 0) -> dict:
        return create_vpc.create_vpc(ec2, name, ("us-east-1a", "us-east-1b"), second_octet)

    return make
