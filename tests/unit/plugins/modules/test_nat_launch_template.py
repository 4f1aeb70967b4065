from __future__ import annotations

import base64

import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_launch_template

VPC_ID = "vpc-0123456789abcdef0"


@pytest.fixture
def args():
    return dict(
        name="prod",
        availability_zone="us-east-1a",
        vpc_id=VPC_ID,
        image_id="ami-12c6146b",
        instance_type="t4g.nano",
        instance_profile_arn="arn:aws:iam::123456789012:instance-profile/prod-nat",
        user_data="#!/bin/sh\necho nat\n",
        tags={"team": "platform"},
    )


def latest(ec2, template_id):
    return ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Latest"])[
        "LaunchTemplateVersions"
    ][0]


def tag_spec(data, resource_type):
    spec = next(s for s in data["TagSpecifications"] if s["ResourceType"] == resource_type)
    return {t["Key"]: t["Value"] for t in spec["Tags"]}


def test_create_builds_a_hardened_template_without_network_interfaces(run_module, ec2, args):
    result = run_module(nat_launch_template, args)

    assert result["changed"] is True
    assert result["launch_template_name"] == "prod-nat-us-east-1a"
    assert result["version"] == 1
    data = latest(ec2, result["launch_template_id"])["LaunchTemplateData"]
    assert data["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
        "HttpEndpoint": "enabled",
    }
    assert data["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"
    assert data["BlockDeviceMappings"][0]["Ebs"]["VolumeType"] == "gp3"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert "NetworkInterfaces" not in data and "KeyName" not in data
    assert base64.b64decode(data["UserData"]).decode() == args["user_data"]
    assert data["IamInstanceProfile"] == {"Arn": args["instance_profile_arn"]}
    for resource_type in ("instance", "volume"):
        assert tag_spec(data, resource_type) == {
            "Name": "prod-nat-us-east-1a",
            "nat-zero:managed": "true",
            "nat-zero:deployment": "prod",
            "nat-zero:az": "us-east-1a",
            "nat-zero:config-version": result["config_version"],
            "team": "platform",
        }
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [result["launch_template_id"]]}])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags}["nat-zero:vpc"] == VPC_ID


def test_second_run_changes_nothing(run_module, args):
    first = run_module(nat_launch_template, args)
    second = run_module(nat_launch_template, args)

    assert second["changed"] is False
    assert (second["launch_template_id"], second["version"], second["config_version"]) == (
        first["launch_template_id"],
        1,
        first["config_version"],
    )


def test_config_version_is_the_same_in_every_az_and_follows_the_content(run_module, args):
    a = run_module(nat_launch_template, args)
    b = run_module(nat_launch_template, dict(args, availability_zone="us-east-1b"))
    spot = run_module(nat_launch_template, dict(args, availability_zone="us-east-1c", market_type="spot"))

    assert a["launch_template_id"] != b["launch_template_id"]
    assert a["config_version"] == b["config_version"]
    assert spot["config_version"] != a["config_version"]
    assert len(a["config_version"]) == 16


def test_changed_content_creates_a_new_default_version(run_module, ec2, args):
    first = run_module(nat_launch_template, args)

    result = run_module(nat_launch_template, dict(args, image_id="ami-0000000000000000f"), diff=True)

    assert result["changed"] is True
    assert result["version"] == 2
    assert result["config_version"] != first["config_version"]
    assert result["diff"]["before"]["config_version"] == first["config_version"]
    template = ec2.describe_launch_templates(LaunchTemplateIds=[first["launch_template_id"]])["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == 2
    assert latest(ec2, first["launch_template_id"])["LaunchTemplateData"]["ImageId"] == "ami-0000000000000000f"


@pytest.mark.parametrize(
    "change",
    [
        {"image_id": "ami-0000000000000000f"},
        {"instance_type": "t4g.micro"},
        {"market_type": "spot"},
        {"block_device_size": 20},
        {"user_data": "#!/bin/sh\necho other\n"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_what_needs_a_new_instance_changes_the_config_version(run_module, args, change):
    first = run_module(nat_launch_template, args)

    assert run_module(nat_launch_template, dict(args, **change))["config_version"] != first["config_version"]


def test_changed_tags_make_a_new_template_version_with_the_same_config_version(run_module, ec2, args):
    first = run_module(nat_launch_template, args)

    result = run_module(nat_launch_template, dict(args, tags={"team": "network", "cost-centre": "42"}))

    assert result["changed"] is True
    assert (result["version"], result["config_version"]) == (2, first["config_version"])
    launched = tag_spec(latest(ec2, first["launch_template_id"])["LaunchTemplateData"], "instance")
    assert (launched["team"], launched["cost-centre"]) == ("network", "42")
    assert launched["nat-zero:config-version"] == first["config_version"]
    again = run_module(nat_launch_template, dict(args, tags={"team": "network", "cost-centre": "42"}))
    assert (again["changed"], again["version"]) == (False, 2)


def test_check_mode_reports_and_changes_nothing(run_module, ec2, args):
    created = run_module(nat_launch_template, dict(args), check_mode=True)
    assert created["changed"] is True and created["launch_template_id"] is None
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []

    first = run_module(nat_launch_template, args)
    update = run_module(nat_launch_template, dict(args, instance_type="t4g.micro"), check_mode=True)
    assert update["changed"] is True and update["version"] == 2
    assert latest(ec2, first["launch_template_id"])["VersionNumber"] == 1


def test_template_of_another_vpc_is_never_touched(run_module, fails, args):
    run_module(nat_launch_template, args)

    failure = fails(nat_launch_template, dict(args, vpc_id="vpc-0fffffffffffffff0"))

    assert "belongs to %s" % VPC_ID in failure["msg"]


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(image_id="i-123"), "not an AMI ID"),
        (dict(block_device_iops=100), "block_device_iops"),
        (dict(user_data="x" * 17000), "16 KiB"),
        (dict(name="bad name!"), "not a valid deployment name"),
    ],
)
def test_invalid_input_fails(fails, args, override, message):
    assert message in fails(nat_launch_template, dict(args, **override))["msg"]


def test_absent_deletes_the_template(run_module, ec2, args):
    run_module(nat_launch_template, args)
    absent = dict(name="prod", availability_zone="us-east-1a", vpc_id=VPC_ID, state="absent")

    assert run_module(nat_launch_template, absent, check_mode=True)["changed"] is True
    assert len(ec2.describe_launch_templates()["LaunchTemplates"]) == 1
    assert run_module(nat_launch_template, absent)["changed"] is True
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    assert run_module(nat_launch_template, absent)["changed"] is False


def root_mapping(ec2, result):
    [mapping] = latest(ec2, result["launch_template_id"])["LaunchTemplateData"]["BlockDeviceMappings"]
    return mapping


def test_root_volume_settings_go_to_the_images_root_device(run_module, ec2, args):
    result = run_module(nat_launch_template, dict(args, root_device_name="/dev/sda1", block_device_size=15))

    mapping = root_mapping(ec2, result)
    assert (mapping["DeviceName"], mapping["Ebs"]["VolumeSize"]) == ("/dev/sda1", 15)


def test_root_volume_uses_the_aws_managed_key_not_the_accounts_default(run_module, ec2, args):
    """Encrypted without a key, EC2 takes the account's default EBS key, which
    may be a customer managed key the reconciler has no grant on."""
    result = run_module(nat_launch_template, args)

    assert root_mapping(ec2, result)["Ebs"]["KmsKeyId"] == "alias/aws/ebs"


def test_named_key_encrypts_the_root_volume(run_module, ec2, args):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    result = run_module(nat_launch_template, dict(args, kms_key_id=key))

    assert root_mapping(ec2, result)["Ebs"]["KmsKeyId"] == key


def test_unencrypted_root_volume_names_no_key(run_module, fails, ec2, args):
    result = run_module(nat_launch_template, dict(args, encrypt_root_volume=False))

    assert "KmsKeyId" not in root_mapping(ec2, result)["Ebs"]
    failure = fails(nat_launch_template, dict(args, encrypt_root_volume=False, kms_key_id="alias/nat"))
    assert failure["msg"] == "kms_key_id is set but encrypt_root_volume is false; a key only encrypts"
