from __future__ import annotations

from ansible_collections.natzero.aws.plugins.modules import nat_ami_info

SSM_PREFIX = "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-"


def test_graviton_instance_type_gets_al2023_minimal_arm64_from_ssm(run_module):
    result = run_module(nat_ami_info, dict(instance_type="t4g.nano"))

    assert result["changed"] is False
    assert result["source"] == "ssm_parameter"
    assert result["ssm_parameter"] == SSM_PREFIX + "arm64"
    assert result["architecture"] == "arm64"
    assert result["instance_architectures"] == ["arm64"]
    assert result["image_id"].startswith("ami-")
    assert result["name"].startswith("al2023-ami-minimal")


def test_x86_instance_type_gets_the_x86_64_image(run_module):
    result = run_module(nat_ami_info, dict(instance_type="t3.nano"))

    assert result["ssm_parameter"] == SSM_PREFIX + "x86_64"
    assert result["architecture"] == "x86_64"


def test_check_mode_answers_the_same(run_module):
    assert run_module(nat_ami_info, dict(instance_type="t4g.nano"), check_mode=True)["changed"] is False


def test_pinned_image_of_the_wrong_architecture_fails_clearly(run_module, fails):
    arm_image = run_module(nat_ami_info, dict(instance_type="t4g.nano"))["image_id"]

    failure = fails(nat_ami_info, dict(instance_type="t3.nano", image_id=arm_image))

    assert "is built for arm64, but instance type t3.nano runs" in failure["msg"]


def test_pinned_image_is_returned_when_it_fits(run_module):
    arm_image = run_module(nat_ami_info, dict(instance_type="t4g.nano"))["image_id"]

    result = run_module(nat_ami_info, dict(instance_type="t4g.small", image_id=arm_image))

    assert (result["image_id"], result["source"]) == (arm_image, "image_id")


def copy_of_amazon_linux(ec2, arch, name):
    filters = [{"Name": "name", "Values": ["al2023-ami-minimal-*-%s" % arch]}]
    source = ec2.describe_images(Owners=["amazon"], Filters=filters)["Images"][0]
    return ec2.copy_image(SourceImageId=source["ImageId"], Name=name, SourceRegion="us-east-1")["ImageId"]


def test_name_pattern_picks_an_image_of_the_instance_architecture(run_module, ec2):
    arm = copy_of_amazon_linux(ec2, "arm64", "nat-image-arm")
    x86 = copy_of_amazon_linux(ec2, "x86_64", "nat-image-x86")
    args = dict(name_pattern="nat-image-*", owner="self")

    assert run_module(nat_ami_info, dict(args, instance_type="t4g.nano"))["image_id"] == arm
    result = run_module(nat_ami_info, dict(args, instance_type="t3.nano"))
    assert (result["image_id"], result["source"], result["architecture"]) == (x86, "name_pattern", "x86_64")


def test_name_pattern_without_a_match_fails(fails):
    failure = fails(nat_ami_info, dict(instance_type="t4g.nano", name_pattern="no-such-image-*", owner="self"))

    assert "No available AMI owned by self matches 'no-such-image-*'" in failure["msg"]


def test_unknown_instance_type_fails(fails):
    assert "Instance type t9.nope does not exist" in fails(nat_ami_info, dict(instance_type="t9.nope"))["msg"]


def test_missing_ssm_parameter_fails_clearly(fails):
    failure = fails(nat_ami_info, dict(instance_type="t4g.nano", ssm_parameter="/no/such/{arch}"))

    assert "SSM parameter /no/such/arm64 does not exist" in failure["msg"]


def test_returns_the_images_root_device_name_and_snapshot_size(run_module, ec2):
    image = ec2.describe_images(ImageIds=["ami-12c6146b"])["Images"][0]
    [root] = [m for m in image["BlockDeviceMappings"] if m["DeviceName"] == image["RootDeviceName"]]

    result = run_module(nat_ami_info, dict(instance_type="t3.nano", image_id="ami-12c6146b"))

    assert result["root_device_name"] == "/dev/sda1"
    assert result["root_snapshot_size"] == root["Ebs"]["VolumeSize"]


def test_instance_store_image_fails_clearly(fails, hook_module_clients):
    """EC2 still lists instance-store AMIs (moto has none): such a NAT could never be stopped."""

    def instance_store(parsed, **_):
        for image in parsed.get("Images", ()):
            image.update(RootDeviceType="instance-store", BlockDeviceMappings=[])

    hook_module_clients(
        "ec2", lambda client: client.meta.events.register("after-call.ec2.DescribeImages", instance_store)
    )

    failure = fails(nat_ami_info, dict(instance_type="t3.nano", image_id="ami-12c6146b"))

    assert failure["msg"].startswith("AMI ami-12c6146b (")
    assert "has an instance-store root device; a NAT stops and starts, which needs an EBS-backed AMI" in failure["msg"]
