"""A fleet from one inventory: three tagged VPCs in two regions, listed by the
natzero.aws.vpcs inventory plugin, deployed by one ansible-playbook run with
forks 3, idempotent on the second run, verified and torn down the same way.

Until discovery from the VPC ID lands, each VPC's subnet lists come from
host_vars next to the inventory file (as a user would keep them)."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from playbooks.sandbox import create_vpc
from tests.integration.conftest import TIMINGS
from tests.support.moto import clients
from tests.support.readme import clean_environment, readme_block, run_block
from tests.support.runs import BIN, REPO, Run, ansible_environment, run

pytestmark = pytest.mark.integration

FLEET = {"us-east-1": ("fleet-a", "fleet-b"), "eu-west-1": ("fleet-c",)}
# The example the README points to, as a user copies it.
INVENTORY = REPO / "examples" / "fleet.natzero.yml"


def client(aws_env, service: str, region: str):
    """A client of the moto server in another region than the session's."""
    return clients(aws_env["AWS_ENDPOINT_URL"], region)(service)


@pytest.fixture(scope="module")
def fleet(aws_env, collection_link, tmp_path_factory):
    """The inventory directory: fleet.natzero.yml and host_vars/<vpc-id>.yml per VPC."""
    directory = tmp_path_factory.mktemp("fleet")
    (directory / "fleet.natzero.yml").write_text(INVENTORY.read_text())
    (directory / "host_vars").mkdir()
    vpcs = {}
    for octet, (region, names) in enumerate(FLEET.items(), start=60):
        ec2 = client(aws_env, "ec2", region)
        for offset, name in enumerate(names):
            variables = create_vpc.create_vpc(ec2, name, (f"{region}a", f"{region}b"), octet + 10 * offset)
            vpc_id = variables.pop("nat_zero_vpc_id")
            ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "nat-zero:enabled", "Value": "true"}])
            (directory / "host_vars" / f"{vpc_id}.yml").write_text(yaml.safe_dump(variables))
            vpcs[vpc_id] = (region, name)
    return directory, vpcs


def ansible(aws_env, command: list[str], cwd) -> Run:
    # ansible.cfg's collections_path is relative to the checkout.
    environment = ansible_environment(
        aws_env,
        {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections")},
    )
    return run(command, cwd, environment)


def playbook(aws_env, fleet, name: str, forks: int) -> Run:
    """One run of playbooks/<name> over the fleet's inventory, asserted to succeed."""
    directory, _ = fleet
    return ansible(
        aws_env,
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(directory / "fleet.natzero.yml"),
            f"playbooks/{name}",
            "--forks",
            str(forks),
        ],
        REPO,
    ).assert_ok()


def deployed(aws_env, vpcs) -> dict[str, str]:
    """Each VPC's reconciler function, as the deployment named it."""
    found = {}
    for vpc_id, (region, name) in vpcs.items():
        functions = client(aws_env, "lambda", region).list_functions()["Functions"]
        names = {f["FunctionName"] for f in functions}
        found[vpc_id] = f"{name}-nat-zero" in names
    return found


def test_the_graph_command_of_the_docs_lists_every_tagged_vpc(aws_env, fleet):
    directory, vpcs = fleet
    graph = ansible(aws_env, ["ansible-inventory", "-i", "fleet.natzero.yml", "--graph"], directory).assert_ok()

    assert "@nat_zero_vpcs:" in graph.output
    assert all(f"--{vpc_id}" in graph.output for vpc_id in vpcs)


def test_one_run_deploys_the_fleet_the_next_changes_nothing_and_one_removes_it(aws_env, fleet):
    _, vpcs = fleet
    serial = playbook(aws_env, fleet, "site.yml", forks=1)
    TIMINGS["fleet of 3: site.yml, forks 1"] = serial.seconds
    assert set(serial.recaps) == set(vpcs) and all(counts["failed"] == 0 for counts in serial.recaps.values())
    assert all(deployed(aws_env, vpcs).values())

    again = playbook(aws_env, fleet, "site.yml", forks=3)
    TIMINGS["fleet of 3: site.yml again, forks 3"] = again.seconds
    assert {host: counts["changed"] for host, counts in again.recaps.items()} == dict.fromkeys(vpcs, 0)

    verified = playbook(aws_env, fleet, "verify.yml", forks=3)
    TIMINGS["fleet of 3: verify.yml, forks 3"] = verified.seconds
    assert set(verified.recaps) == set(vpcs), verified.tail()

    teardown = playbook(aws_env, fleet, "teardown.yml", forks=3)
    TIMINGS["fleet of 3: teardown.yml, forks 3"] = teardown.seconds
    assert not any(deployed(aws_env, vpcs).values())

    redeployed = playbook(aws_env, fleet, "site.yml", forks=3)
    TIMINGS["fleet of 3: site.yml, forks 3"] = redeployed.seconds
    assert all(counts["changed"] > 0 for counts in redeployed.recaps.values())
    playbook(aws_env, fleet, "teardown.yml", forks=3)
    assert not any(deployed(aws_env, vpcs).values())


def test_the_readme_fleet_commands_deploy_verify_and_remove_every_vpc(aws_env, fleet, tmp_path):
    directory, vpcs = fleet
    # The user's directory: the inventory, its host_vars and the playbooks.
    (directory / "playbooks").symlink_to(REPO / "playbooks")
    env = clean_environment(
        tmp_path,
        **aws_env,
        PATH=f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"),
    )

    commands = run_block(readme_block("fleet"), directory, env, timeout=1800).assert_ok()

    assert all(re.search(rf"^{vpc_id}\s*:\s*ok=\d+\s+changed=[1-9]", commands.output, re.M) for vpc_id in vpcs)
    assert not any(deployed(aws_env, vpcs).values())
