"""The collection as Ansible users meet it: built, installed, documented and
run by FQCN against a moto server on 127.0.0.1.

Every ansible command here runs in a scratch directory with an environment
that names its collections path explicitly, so neither the checkout's
ansible.cfg nor a developer's ~/.ansible decides which natzero.aws runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from playbooks.sandbox import create_vpc as sandbox_vpc
from playbooks.sandbox import emulator

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BIN = Path(sys.executable).parent
COLLECTION_LINK = REPO / "build" / "collections" / "ansible_collections" / "natzero" / "aws"


def module_names() -> list[str]:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def assert_ok(self) -> Run:
        assert self.returncode == 0, f"failed ({self.returncode}):\n{self.tail()}"
        return self


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


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> Run:
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, time.monotonic() - started)


@pytest.fixture(scope="session")
def moto_endpoint():
    with emulator.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def aws(moto_endpoint):
    """aws('ec2') -> a boto3 client of the moto server."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(service: str):
        return session.client(service, endpoint_url=moto_endpoint)

    return client


@pytest.fixture(scope="session")
def aws_env(moto_endpoint) -> dict[str, str]:
    """What points boto3 (and so every module) at the moto server."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture(scope="session")
def checkout_collections(tmp_path_factory) -> Path:
    """A collections path whose natzero.aws is this checkout (a link to it)."""
    root = tmp_path_factory.mktemp("checkout") / "collections"
    (root / "ansible_collections" / "natzero").mkdir(parents=True)
    (root / "ansible_collections" / "natzero" / "aws").symlink_to(REPO)
    return root


@pytest.fixture(scope="session")
def make_vpc(aws):
    """make_vpc(name, second_octet, zones) -> the nat_zero_* variables of a new fixture VPC."""

    def make(name: str, second_octet: int, zones=("us-east-1a", "us-east-1b")) -> dict:
        return sandbox_vpc.create_vpc(aws("ec2"), name, zones, second_octet)

    return make


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def deployment_resources(aws, name: str) -> dict[str, list]:
    """What deployment `name` owns in the emulator, by kind (only the non-empty kinds)."""
    tagged = [{"Name": "tag:nat-zero:deployment", "Values": [name]}]
    ec2 = aws("ec2")
    live = ["pending", "running", "stopping", "stopped", "shutting-down"]
    reservations = ec2.describe_instances(Filters=tagged + [{"Name": "instance-state-name", "Values": live}])[
        "Reservations"
    ]
    found = {
        "instances": [i["InstanceId"] for r in reservations for i in r["Instances"]],
        "elastic_ips": [a["AllocationId"] for a in ec2.describe_addresses(Filters=tagged)["Addresses"]],
        "enis": [e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=tagged)["NetworkInterfaces"]],
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]],
        "launch_templates": [
            t["LaunchTemplateId"] for t in ec2.describe_launch_templates(Filters=tagged)["LaunchTemplates"]
        ],
        "functions": [
            f["FunctionName"]
            for f in aws("lambda").list_functions()["Functions"]
            if f["FunctionName"] == f"{name}-nat-zero"
        ],
        "roles": [
            r["RoleName"] for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{name}-nat-zero")
        ],
        "log_groups": [
            g["logGroupName"]
            for g in aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}-nat-zero")["logGroups"]
        ],
        "event_rules": [r["Name"] for r in aws("events").list_rules(NamePrefix=f"{name}-nat-zero")["Rules"]],
    }
    return {kind: ids for kind, ids in found.items() if ids}
