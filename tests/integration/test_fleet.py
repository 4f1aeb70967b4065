"""A fleet from one inventory: three tagged VPCs in two regions, listed by the
natzero.aws.vpcs inventory plugin, deployed by one ansible-playbook run with
forks 3, idempotent on the second run, verified and torn down the same way.

Until discovery from the VPC ID lands, each VPC's subnet lists come from
host_vars next to the inventory file (as a user would keep them)."""

from __future__ import annotations

import os
import re
import subprocess
import time

import boto3
import pytest
import yaml

from playbooks.sandbox import create_vpc
from tests.integration.conftest import BIN, REPO, TIMINGS
from tests.support.readme import clean_environment, readme_block, run_block

pytestmark = pytest.mark.integration

FLEET = {"us-east-1": ("fleet-a", "fleet-b"), "eu-west-1": ("fleet-c",)}
# The example the README points to, as a user copies it.
INVENTORY = REPO / "examples" / "fleet.natzero.yml"


def client(aws_env, service: str, region: str):
    """A client of the moto server in another region than the session's."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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


def ansible(aws_env, command: list[str], cwd) -> tuple[int, str, float]:
    environment = {**os.environ, **aws_env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    environment.pop("AWS_PROFILE", None)
    environment["PATH"] = f"{BIN}{os.pathsep}{environment['PATH']}"
    # ansible.cfg's collections_path is relative to the checkout.
    environment["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / "build" / "collections")
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return completed.returncode, completed.stdout, time.monotonic() - started


def playbook(aws_env, fleet, name: str, forks: int) -> tuple[dict, str, float]:
    directory, _ = fleet
    code, output, seconds = ansible(
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
    )
    assert code == 0, output[-6000:]
    recap = {
        host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)}
        for host, counts in re.findall(r"^(vpc-\w+)\s*:\s*(.*)$", output, re.MULTILINE)
    }
    return recap, output, seconds


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
    code, output, _ = ansible(aws_env, ["ansible-inventory", "-i", "fleet.natzero.yml", "--graph"], directory)

    assert code == 0, output
    assert "@nat_zero_vpcs:" in output
    assert all(f"--{vpc_id}" in output for vpc_id in vpcs)


def test_one_run_deploys_the_fleet_the_next_changes_nothing_and_one_removes_it(aws_env, fleet):
    _, vpcs = fleet
    serial, _, serial_seconds = playbook(aws_env, fleet, "site.yml", forks=1)
    TIMINGS["fleet of 3: site.yml, forks 1"] = serial_seconds
    assert set(serial) == set(vpcs) and all(counts["failed"] == 0 for counts in serial.values())
    assert all(deployed(aws_env, vpcs).values())

    again, _, parallel_seconds = playbook(aws_env, fleet, "site.yml", forks=3)
    TIMINGS["fleet of 3: site.yml again, forks 3"] = parallel_seconds
    assert {host: counts["changed"] for host, counts in again.items()} == dict.fromkeys(vpcs, 0)

    verified, output, verify_seconds = playbook(aws_env, fleet, "verify.yml", forks=3)
    TIMINGS["fleet of 3: verify.yml, forks 3"] = verify_seconds
    assert set(verified) == set(vpcs), output[-3000:]

    _, _, teardown_seconds = playbook(aws_env, fleet, "teardown.yml", forks=3)
    TIMINGS["fleet of 3: teardown.yml, forks 3"] = teardown_seconds
    assert not any(deployed(aws_env, vpcs).values())

    redeployed, _, fresh_parallel_seconds = playbook(aws_env, fleet, "site.yml", forks=3)
    TIMINGS["fleet of 3: site.yml, forks 3"] = fresh_parallel_seconds
    assert all(counts["changed"] > 0 for counts in redeployed.values())
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

    run = run_block(readme_block("fleet"), directory, env, timeout=1800)

    assert run.returncode == 0, run.stdout[-6000:]
    assert all(re.search(rf"^{vpc_id}\s*:\s*ok=\d+\s+changed=[1-9]", run.stdout, re.M) for vpc_id in vpcs)
    assert not any(deployed(aws_env, vpcs).values())
