from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.natzero.aws.plugins.modules import nat_cleanup, nat_eip

AZ = "us-east-1a"
LENT = {
    "nat-zero:deployment": "prod",
    "nat-zero:az": AZ,
    "nat-zero:eip-owner": "user",
    "nat-zero:managed": "true",
}


def tags_of(ec2, allocation_id):
    [address] = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
    return {t["Key"]: t["Value"] for t in address.get("Tags", ())}


def address(ec2, allocation_id):
    return ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]


@pytest.fixture
def users_eip(ec2):
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "partner-allowlist"}]}]
    return ec2.allocate_address(Domain="vpc", TagSpecifications=spec)["AllocationId"]


def lend_args(vpc, allocation_id, **extra):
    return dict(name="prod", vpc_id=vpc["vpc_id"], availability_zone=AZ, allocation_id=allocation_id, **extra)


def public_eni(ec2, vpc, deployment="prod"):
    spec = [{"ResourceType": "network-interface", "Tags": [{"Key": "nat-zero:deployment", "Value": deployment}]}]
    return ec2.create_network_interface(SubnetId=vpc["public_subnet_id"], TagSpecifications=spec)["NetworkInterface"][
        "NetworkInterfaceId"
    ]


def test_lending_tags_the_address_for_the_deployment_and_keeps_the_users_tags(run_module, ec2, vpc, users_eip):
    result = run_module(nat_eip, lend_args(vpc, users_eip, tags={"team": "net"}))

    assert result["changed"] is True
    expected = dict(LENT, **{"nat-zero:vpc": vpc["vpc_id"], "Name": "partner-allowlist", "team": "net"})
    assert tags_of(ec2, users_eip) == expected == result["tags"]
    assert result["public_ip"] == address(ec2, users_eip)["PublicIp"]


def test_lending_twice_changes_nothing(run_module, vpc, users_eip):
    run_module(nat_eip, lend_args(vpc, users_eip))

    assert run_module(nat_eip, lend_args(vpc, users_eip))["changed"] is False


def test_check_mode_reports_the_tags_and_writes_none(run_module, ec2, vpc, users_eip):
    result = run_module(nat_eip, lend_args(vpc, users_eip), check_mode=True)

    assert result["changed"] is True and result["tags"]["nat-zero:eip-owner"] == "user"
    assert tags_of(ec2, users_eip) == {"Name": "partner-allowlist"}


def test_an_allocation_that_does_not_exist_fails_naming_it(fails, ec2, vpc):
    # EC2 answers an unknown allocation ID with InvalidAllocationID.NotFound, not an empty list.
    with pytest.raises(ClientError, match="InvalidAllocationID.NotFound"):
        ec2.describe_addresses(AllocationIds=["eipalloc-0123456789abcdef0"])

    failure = fails(nat_eip, lend_args(vpc, "eipalloc-0123456789abcdef0"), check_mode=True)

    assert failure["msg"] == "Elastic IP eipalloc-0123456789abcdef0 does not exist in region us-east-1"


def test_a_malformed_allocation_id_fails_before_asking_aws(fails, vpc):
    failure = fails(nat_eip, lend_args(vpc, "203.0.113.10"))

    assert "allocation_id '203.0.113.10' is not an allocation ID" in failure["msg"]


def test_an_address_associated_elsewhere_fails_and_is_not_tagged(fails, ec2, vpc, users_eip):
    elsewhere = public_eni(ec2, vpc, deployment="someone-else")
    ec2.associate_address(AllocationId=users_eip, NetworkInterfaceId=elsewhere)

    failure = fails(nat_eip, lend_args(vpc, users_eip), check_mode=True)

    assert failure["msg"].startswith(f"Elastic IP {users_eip} (")
    assert f"is associated with {elsewhere}, which is not this deployment's NAT" in failure["msg"]
    assert tags_of(ec2, users_eip) == {"Name": "partner-allowlist"}


def test_an_address_lent_to_another_deployment_fails(run_module, fails, vpc, users_eip):
    run_module(nat_eip, dict(lend_args(vpc, users_eip), name="staging"))

    failure = fails(nat_eip, lend_args(vpc, users_eip))

    assert f"is lent to deployment staging (VPC {vpc['vpc_id']})" in failure["msg"]


def test_an_address_on_this_deployments_nat_in_another_az_fails(run_module, fails, ec2, vpc, users_eip):
    run_module(nat_eip, dict(lend_args(vpc, users_eip), availability_zone="us-east-1b"))
    ec2.associate_address(AllocationId=users_eip, NetworkInterfaceId=public_eni(ec2, vpc))

    failure = fails(nat_eip, lend_args(vpc, users_eip))

    assert "is in use by this deployment's NAT in us-east-1b, not us-east-1a" in failure["msg"]


def test_an_address_on_this_deployments_nat_in_its_az_is_fine(run_module, ec2, vpc, users_eip):
    run_module(nat_eip, lend_args(vpc, users_eip))
    ec2.associate_address(AllocationId=users_eip, NetworkInterfaceId=public_eni(ec2, vpc))

    result = run_module(nat_eip, lend_args(vpc, users_eip))

    assert result["changed"] is False and result["association_id"]


def test_giving_back_disassociates_and_removes_only_the_deployments_tags(run_module, ec2, vpc, users_eip):
    run_module(nat_eip, lend_args(vpc, users_eip))
    ec2.associate_address(AllocationId=users_eip, NetworkInterfaceId=public_eni(ec2, vpc))

    result = run_module(nat_eip, dict(name="prod", vpc_id=vpc["vpc_id"], allocation_id=users_eip, state="absent"))

    assert result["changed"] is True and result["association_id"] is None
    assert tags_of(ec2, users_eip) == {"Name": "partner-allowlist"} == result["tags"]
    assert "AssociationId" not in address(ec2, users_eip)
    again = run_module(nat_eip, dict(name="prod", vpc_id=vpc["vpc_id"], allocation_id=users_eip, state="absent"))
    assert again["changed"] is False


def test_teardown_gives_the_users_address_back_and_releases_only_its_own(run_module, ec2, vpc, users_eip):
    run_module(nat_eip, lend_args(vpc, users_eip))
    ec2.associate_address(AllocationId=users_eip, NetworkInterfaceId=public_eni(ec2, vpc))
    ours_spec = [
        {
            "ResourceType": "elastic-ip",
            "Tags": [
                {"Key": "nat-zero:deployment", "Value": "prod"},
                {"Key": "nat-zero:vpc", "Value": vpc["vpc_id"]},
                {"Key": "nat-zero:az", "Value": "us-east-1b"},
            ],
        }
    ]
    ours = ec2.allocate_address(Domain="vpc", TagSpecifications=ours_spec)["AllocationId"]

    result = run_module(nat_cleanup, dict(name="prod", vpc_id=vpc["vpc_id"]))

    assert result["released_allocation_ids"] == [ours]
    assert result["returned_allocation_ids"] == [users_eip]
    assert [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]] == [users_eip]
    assert tags_of(ec2, users_eip) == {"Name": "partner-allowlist"}
    assert "AssociationId" not in address(ec2, users_eip)
