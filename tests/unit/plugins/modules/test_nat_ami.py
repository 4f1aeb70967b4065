from __future__ import annotations

import base64
import gzip
from pathlib import Path

from ansible_collections.natzero.aws.plugins.module_utils import aws as aws_utils
from ansible_collections.natzero.aws.plugins.modules import nat_ami

BOOTSTRAP = Path(__file__).resolve().parents[4] / "roles" / "nat_zero" / "files" / "nat-bootstrap.sh"


def stock_and_subnet(ec2):
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vpc_id = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.5.0.0/24")["Subnet"]["SubnetId"]
    return image_id, subnet_id


def builders(ec2, states=("pending", "running", "stopping", "stopped")):
    filters = [
        {"Name": "tag-key", "Values": [nat_ami.BAKE_TAG]},
        {"Name": "instance-state-name", "Values": list(states)},
    ]
    return [i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def test_builder_user_data_carries_the_bootstrap_intact_and_fits_ec2s_limit():
    script = BOOTSTRAP.read_text()
    user_data = nat_ami.builder_user_data(["nftables", "amazon-ssm-agent"], script)

    assert len(user_data.encode()) <= nat_ami.MAX_USER_DATA
    encoded = next(line for line in user_data.splitlines() if "nat-bootstrap.sh" in line and "base64" in line)
    assert gzip.decompress(base64.b64decode(encoded.split()[1])).decode() == script
    assert user_data.splitlines()[-1] == "systemctl poweroff"


def test_missing_subnet_fails_naming_it_before_launching_anything(fails, ec2):
    image_id, _ = stock_and_subnet(ec2)
    failure = fails(nat_ami, dict(name="nat-image", source_image_id=image_id))

    assert "subnet_id is required" in failure["msg"]
    assert builders(ec2) == []


def test_bakes_once_then_leaves_the_image_alone_and_check_mode_changes_nothing(run_module, ec2, monkeypatch):
    image_id, subnet_id = stock_and_subnet(ec2)
    args = dict(name="nat-image", source_image_id=image_id, subnet_id=subnet_id, tags={"team": "net"})
    # Moto runs no user data: each pause of the wait stops the builder, as its poweroff would.
    monkeypatch.setattr(aws_utils, "sleep", lambda _: ec2.stop_instances(InstanceIds=builders(ec2, ("running",))))

    assert run_module(nat_ami, args, check_mode=True)["changed"] is True
    assert builders(ec2) == []
    baked = run_module(nat_ami, args)

    assert baked["changed"] is True and baked["image_id"].startswith("ami-")
    assert builders(ec2) == []  # terminated after the image was made
    image = ec2.describe_images(ImageIds=[baked["image_id"]])["Images"][0]
    assert {"Key": "team", "Value": "net"} in image["Tags"]
    again = run_module(nat_ami, args)
    assert again["changed"] is False and again["image_id"] == baked["image_id"]


def test_a_builder_ec2_terminates_fails_the_bake_with_its_reason(fails, ec2, monkeypatch):
    image_id, subnet_id = stock_and_subnet(ec2)
    monkeypatch.setattr(
        aws_utils, "sleep", lambda _: ec2.terminate_instances(InstanceIds=builders(ec2)) if builders(ec2) else None
    )
    failure = fails(nat_ami, dict(name="nat-image", source_image_id=image_id, subnet_id=subnet_id))

    assert "was terminated while baking" in failure["msg"]
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def test_absent_removes_the_image(run_module, ec2, monkeypatch):
    image_id, subnet_id = stock_and_subnet(ec2)
    monkeypatch.setattr(aws_utils, "sleep", lambda _: ec2.stop_instances(InstanceIds=builders(ec2, ("running",))))
    baked = run_module(nat_ami, dict(name="nat-image", source_image_id=image_id, subnet_id=subnet_id))

    assert run_module(nat_ami, dict(name="nat-image", state="absent"), check_mode=True)["changed"] is True
    assert ec2.describe_images(ImageIds=[baked["image_id"]])["Images"]
    assert run_module(nat_ami, dict(name="nat-image", state="absent"))["changed"] is True
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert run_module(nat_ami, dict(name="nat-image", state="absent"))["changed"] is False
