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


def deployment_resources(client, name: str) -> dict[str, list]:
    """client(service) -> boto3 client. What deployment `name` owns in the emulator, by kind (only the non-empty kinds)."""
    tagged = [{"Name": "tag:nat-zero:deployment", "Values": [name]}]
    ec2 = client("ec2")
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
            for f in client("lambda").list_functions()["Functions"]
            if f["FunctionName"] == f"{name}-nat-zero"
        ],
        "roles": [
            r["RoleName"] for r in client("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{name}-nat-zero")
        ],
        "log_groups": [
            g["logGroupName"]
            for g in client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}-nat-zero")["logGroups"]
        ],
        "event_rules": [r["Name"] for r in client("events").list_rules(NamePrefix=f"{name}-nat-zero")["Rules"]],
    }
    return {kind: ids for kind, ids in found.items() if ids}
