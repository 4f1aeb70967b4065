from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_zero_info

AMI = "ami-12c6146b"


def launch(ec2, subnet_id, tags):
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet_id, TagSpecifications=spec)[
        "Instances"
    ][0]["InstanceId"]


@pytest.fixture
def scene(ec2, vpc):
    nat_tags = {"nat-zero:managed": "true", "nat-zero:deployment": "prod", "nat-zero:config-version": "aaaa"}
    nat = launch(ec2, vpc["public_subnet_id"], nat_tags)
    workload = launch(ec2, vpc["private_subnet_id"], {"Name": "app"})
    launch(ec2, vpc["private_subnet_id"], {"nat-zero:ignore": "true"})
    launch(ec2, vpc["public_subnet_id"], {"nat-zero:managed": "true", "nat-zero:deployment": "staging"})
    stopped_workload = launch(ec2, vpc["private_subnet_id"], {"Name": "batch"})
    ec2.stop_instances(InstanceIds=[stopped_workload])
    eip_tags = [
        {"Key": "nat-zero:deployment", "Value": "prod"},
        {"Key": "nat-zero:vpc", "Value": vpc["vpc_id"]},
        {"Key": "nat-zero:az", "Value": "us-east-1a"},
    ]
    address = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": eip_tags}])
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=nat)
    eni = ec2.create_network_interface(SubnetId=vpc["private_subnet_id"])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.create_route(RouteTableId=vpc["route_table_id"], DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni)
    return dict(
        vpc=vpc,
        nat=nat,
        workload=workload,
        allocation_id=address["AllocationId"],
        public_ip=address["PublicIp"],
        eni=eni,
    )


def args(scene, **extra):
    base = dict(name="prod", vpc_id=scene["vpc"]["vpc_id"], availability_zones=["us-east-1a", "us-east-1b"])
    return dict(base, **extra)


def test_reports_workloads_nat_eip_and_route_per_az(run_module, ec2, scene):
    other_table = ec2.create_route_table(VpcId=scene["vpc"]["vpc_id"])["RouteTable"]["RouteTableId"]

    result = run_module(
        nat_zero_info,
        args(scene, route_table_ids=[scene["vpc"]["route_table_id"], other_table], config_version="aaaa"),
    )

    assert result["changed"] is False
    a, b = result["zones"]["us-east-1a"], result["zones"]["us-east-1b"]
    assert a["workloads"] == [scene["workload"]]
    assert a["nat"] == {"id": scene["nat"], "state": "running", "config_version": "aaaa", "config_drift": False}
    assert a["eip"]["allocation_id"] == scene["allocation_id"]
    assert a["eip"]["public_ip"] == scene["public_ip"]
    assert a["route_target"] == scene["eni"]
    assert b == dict(workloads=[], nat=None, nats=[], eip=None, eips=[], route_table_id=other_table, route_target=None)


def test_config_drift_shows_an_outdated_nat(run_module, scene):
    result = run_module(nat_zero_info, args(scene, config_version="bbbb"))

    assert result["zones"]["us-east-1a"]["nat"]["config_drift"] is True
    assert result["zones"]["us-east-1a"]["route_target"] is None


def test_check_mode_reads_the_same(run_module, scene):
    result = run_module(nat_zero_info, args(scene), check_mode=True)

    assert result["changed"] is False
    assert result["zones"]["us-east-1a"]["nat"]["id"] == scene["nat"]


def test_route_tables_must_match_the_zones(fails, scene):
    failure = fails(nat_zero_info, args(scene, route_table_ids=[scene["vpc"]["route_table_id"]]))

    assert "one route table per AZ" in failure["msg"]


def test_reports_the_region_it_used_and_whether_the_vpc_exists(run_module, scene):
    result = run_module(nat_zero_info, args(scene, region="us-east-1"))

    assert result["region"] == "us-east-1"
    assert result["vpc_exists"] is True
    assert result["availability_zones"] == ["us-east-1a", "us-east-1b"]
    assert "found" not in result


def test_a_vpc_that_does_not_exist_is_reported_not_raised(run_module, scene):
    # AWS answers DescribeVpcs for an unknown ID with InvalidVpcID.NotFound, not an empty list.
    result = run_module(nat_zero_info, args(scene, vpc_id="vpc-0123456789abcdef0"))

    assert result["vpc_exists"] is False
    assert all(zone["nat"] is None and zone["eip"] is None for zone in result["zones"].values())


def test_without_zones_finds_the_azs_the_deployment_has_something_in(run_module, ec2, scene):
    vpc_id = scene["vpc"]["vpc_id"]
    identity = [
        {"Key": "nat-zero:deployment", "Value": "prod"},
        {"Key": "nat-zero:vpc", "Value": vpc_id},
        {"Key": "nat-zero:az", "Value": "us-east-1c"},
    ]
    ec2.create_security_group(
        GroupName="prod-nat-us-east-1c",
        Description="nat",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": identity}],
    )

    result = run_module(nat_zero_info, dict(name="prod", vpc_id=vpc_id))

    # us-east-1a: the NAT and its EIP; us-east-1c: a security group left behind.
    assert result["availability_zones"] == ["us-east-1a", "us-east-1c"]
    assert result["found"] is True
    assert result["zones"]["us-east-1a"]["nat"]["id"] == scene["nat"]


def test_without_zones_an_unknown_deployment_is_not_found(run_module, scene):
    result = run_module(nat_zero_info, dict(name="typo", vpc_id=scene["vpc"]["vpc_id"]))

    assert result["found"] is False
    assert result["availability_zones"] == []
    assert result["zones"] == {}
