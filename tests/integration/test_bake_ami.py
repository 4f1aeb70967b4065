"""playbooks/bake_ami.yml against the moto server, run as the docs tell a user to.

Moto runs no user data, so the builder never powers itself off: a watcher
stops it once it is running, as its last line (`systemctl poweroff`) would.
"""

from __future__ import annotations

import base64
import shlex
import threading
import time

import pytest
import yaml

from tests.integration.conftest import TIMINGS
from tests.support.runs import REPO, Run, ansible_environment, run

pytestmark = pytest.mark.integration

NAME = "bake"
VARS_FILE = REPO / "my-vpc.yml"


def builders(ec2, states=("pending", "running", "stopping", "stopped")):
    filters = [
        {"Name": "tag-key", "Values": ["nat-zero:bake"]},
        {"Name": "instance-state-name", "Values": list(states)},
    ]
    return [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


class PowerOff(threading.Thread):
    """Stops each builder once it runs, and keeps its user data for the test."""

    def __init__(self, ec2):
        super().__init__(daemon=True)
        self.ec2 = ec2
        self.user_data: dict[str, str] = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for builder in builders(self.ec2, states=("running",)):
                iid = builder["InstanceId"]
                attribute = self.ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
                self.user_data[iid] = base64.b64decode(attribute["UserData"]["Value"]).decode()
                self.ec2.stop_instances(InstanceIds=[iid])
            time.sleep(0.5)


@pytest.fixture
def my_vpc(make_vpc):
    """my-vpc.yml, where the docs' commands expect it (removed afterwards)."""
    variables = {**make_vpc(NAME, second_octet=60), "nat_zero_name": NAME, "nat_zero_tags": {"team": "platform"}}
    VARS_FILE.write_text(yaml.safe_dump(variables, sort_keys=False))
    yield variables
    VARS_FILE.unlink()


def run_literally(command: str, aws_env: dict, label: str) -> Run:
    done = run(shlex.split(command), REPO, ansible_environment(aws_env))
    TIMINGS[label] = done.seconds
    return done


def test_bake_ami_builds_a_tagged_image_once_and_site_yml_accepts_it(aws, aws_env, my_vpc, collection_link):
    ec2 = aws("ec2")
    watcher = PowerOff(ec2)
    watcher.start()
    try:
        run_literally(
            "ansible-playbook playbooks/bake_ami.yml -e @my-vpc.yml --check", aws_env, "bake_ami --check"
        ).assert_ok()
        assert (
            ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["nat-zero-*"]}])["Images"] == []
        )
        assert builders(ec2) == []

        baked = run_literally("ansible-playbook playbooks/bake_ami.yml -e @my-vpc.yml", aws_env, "bake_ami").assert_ok()
    finally:
        watcher.done.set()
        watcher.join(timeout=5)

    [image] = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["nat-zero-*"]}])["Images"]
    assert image["State"] == "available"
    assert {"Key": "team", "Value": "platform"} in image["Tags"]
    assert f"nat_zero_ami_id={image['ImageId']}" in baked.output
    # The builder installed what the NAT needs, powered off, and is gone.
    [user_data] = watcher.user_data.values()
    assert "dnf install -y nftables amazon-ssm-agent" in user_data
    assert "systemctl enable amazon-ssm-agent.service" in user_data
    assert user_data.rstrip().endswith("systemctl poweroff")
    assert builders(ec2) == []

    again = run_literally("ansible-playbook playbooks/bake_ami.yml -e @my-vpc.yml", aws_env, "bake_ami again")
    assert again.assert_ok().recap["changed"] == 0, again.tail()

    # The image passes the role's AMI check for the NAT's instance type (what site.yml runs first).
    check = run_literally(
        f"ansible localhost -m natzero.aws.nat_ami_info -a 'instance_type=t4g.nano image_id={image['ImageId']}'",
        aws_env,
        "nat_ami_info on the baked image",
    )
    assert image["ImageId"] in check.assert_ok().output, check.tail()
