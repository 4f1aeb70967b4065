from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import vpc_discovery_info
from tests.support.discovery_vpc import build_vpc

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


@pytest.fixture
def built(ec2):
    return build_vpc(ec2, AZS, private_per_az=2)


def discover(run_module, vpc_id, **options):
    return run_module(vpc_discovery_info, dict(vpc_id=vpc_id, **options))


def refusal(fails, vpc_id, **options):
    return fails(vpc_discovery_info, dict(vpc_id=vpc_id, **options))


def install_route_hook(hook_module_clients, change_route):
    """Rewrite each route of the module's DescribeRouteTables answers as EC2 would have it (change_route(route))."""

    def rewrite(parsed, **_):
        for table in parsed.get("RouteTables", ()):
            for route in table.get("Routes", ()):
                change_route(route)

    hook_module_clients(
        "ec2", lambda client: client.meta.events.register("after-call.ec2.DescribeRouteTables", rewrite)
    )


def test_finds_each_azs_public_subnet_and_every_private_subnet_with_its_route_table(run_module, built):
    result = discover(run_module, built.vpc_id)

    assert result["changed"] is False
    assert result["availability_zones"] == list(AZS)
    assert result["problems"] == []
    for az, zone in built.zones.items():
        assert result["zones"][az] == dict(
            availability_zone=az,
            public_subnet_id=zone.public_subnet_id,
            public_subnet_ids=[zone.public_subnet_id],
            private_subnet_ids=zone.private_subnet_ids,
            private_route_table_ids=zone.private_route_table_ids,
            private_cidrs=zone.private_cidrs,
        )


def test_subnet_without_association_uses_the_main_route_table(run_module, ec2, built):
    """EC2 routes an unassociated subnet by the VPC's main table: here it has
    no default route, so the subnet is private and the main table is its table."""
    extra = built.subnet(ec2, "us-east-1a", "10.0.200.0/24")
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [built.vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]

    zone = discover(run_module, built.vpc_id)["zones"]["us-east-1a"]

    assert zone["private_subnet_ids"][-1] == extra
    assert zone["private_cidrs"][-1] == "10.0.200.0/24"
    assert zone["private_route_table_ids"][-1] == main


def test_main_route_table_to_an_internet_gateway_makes_unassociated_subnets_public(fails, run_module, ec2, built):
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [built.vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=built.internet_gateway_id)
    extra = built.subnet(ec2, "us-east-1b", "10.0.201.0/24")

    result = refusal(fails, built.vpc_id)

    assert (
        "us-east-1b has 2 public subnets (%s, %s)" % (built.zones["us-east-1b"].public_subnet_id, extra)
        in result["msg"]
    )


def test_availability_zones_limit_what_is_served(run_module, built):
    result = discover(run_module, built.vpc_id, availability_zones=["us-east-1c", "us-east-1a"])

    assert result["availability_zones"] == ["us-east-1c", "us-east-1a"]


def test_an_availability_zone_without_private_subnets_is_named(fails, run_module, built):
    result = refusal(fails, built.vpc_id, availability_zones=["us-east-1a", "us-east-1d"])

    assert "nat_zero_availability_zones names us-east-1d, but the VPC has no private subnet there" in result["msg"]


def test_subnet_tag_filter_keeps_only_tagged_subnets(run_module, ec2, built):
    zone = built.zones["us-east-1b"]
    second_public = built.add_public_subnet(ec2, "us-east-1b", "10.0.50.0/24")
    chosen = [second_public, zone.private_subnet_ids[1]]
    ec2.create_tags(Resources=chosen, Tags=[{"Key": "nat-zero:serve", "Value": "true"}])

    result = discover(run_module, built.vpc_id, subnet_tag_filter={"nat-zero:serve": True})

    assert result["zones"] == {
        "us-east-1b": dict(
            availability_zone="us-east-1b",
            public_subnet_id=second_public,
            public_subnet_ids=[second_public],
            private_subnet_ids=[zone.private_subnet_ids[1]],
            private_route_table_ids=[zone.private_route_table_ids[1]],
            private_cidrs=[zone.private_cidrs[1]],
        )
    }


def test_two_public_subnets_in_one_az_are_refused_naming_both(fails, run_module, ec2, built):
    second_public = built.add_public_subnet(ec2, "us-east-1a", "10.0.50.0/24")

    result = refusal(fails, built.vpc_id)

    first_public = built.zones["us-east-1a"].public_subnet_id
    assert "us-east-1a has 2 public subnets (%s, %s)" % (first_public, second_public) in result["msg"]
    assert "nat_zero_subnet_tag_filter" in result["msg"]
    assert result["zones"]["us-east-1a"]["public_subnet_id"] is None


def test_private_subnets_without_a_public_subnet_are_refused(fails, run_module, ec2, built):
    lonely = built.subnet(ec2, "us-east-1d", "10.0.210.0/24")

    result = refusal(fails, built.vpc_id)

    assert "us-east-1d has private subnets (%s) but no public subnet" % lonely in result["msg"]
    assert "leave us-east-1d out with nat_zero_availability_zones" in result["msg"]


@pytest.mark.parametrize(
    "make_target, kind",
    [
        (
            lambda ec2, vpc: ec2.create_nat_gateway(SubnetId=vpc.zones["us-east-1a"].public_subnet_id)["NatGateway"][
                "NatGatewayId"
            ],
            "a NAT gateway",
        ),
        (
            lambda ec2, vpc: ec2.create_vpc_peering_connection(
                VpcId=vpc.vpc_id, PeerVpcId=ec2.create_vpc(CidrBlock="172.16.0.0/16")["Vpc"]["VpcId"]
            )["VpcPeeringConnection"]["VpcPeeringConnectionId"],
            "a VPC peering connection",
        ),
        (lambda ec2, vpc: ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"], "a transit gateway"),
    ],
    ids=["nat-gateway", "peering", "transit-gateway"],
)
def test_private_route_table_already_routed_elsewhere_is_refused_naming_it(
    fails, run_module, ec2, built, make_target, kind
):
    target = make_target(ec2, built)
    table = built.zones["us-east-1b"].private_route_table_ids[0]
    key = {"nat": "NatGatewayId", "pcx": "VpcPeeringConnectionId", "tgw": "TransitGatewayId"}[target.split("-")[0]]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **{key: target})

    result = refusal(fails, built.vpc_id)

    subnet = built.zones["us-east-1b"].private_subnet_ids[0]
    assert (
        "route table %s of private subnets %s in us-east-1b already sends 0.0.0.0/0 to %s (%s)"
        % (
            table,
            subnet,
            target,
            kind,
        )
        in result["msg"]
    )


def test_route_to_an_instance_reads_as_its_eni_as_ec2_reports_it_and_is_refused(
    fails, run_module, ec2, built, hook_module_clients
):
    """EC2 lists a route to an instance with InstanceId and NetworkInterfaceId (its primary ENI)."""
    subnet = built.zones["us-east-1c"].private_subnet_ids[1]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
    eni = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
    table = built.zones["us-east-1c"].private_route_table_ids[1]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", InstanceId=instance["InstanceId"])
    install_route_hook(hook_module_clients, lambda r: r.get("InstanceId") and r.setdefault("NetworkInterfaceId", eni))

    result = refusal(fails, built.vpc_id)

    assert "already sends 0.0.0.0/0 to %s (a network interface not of this deployment)" % eni in result["msg"]


def test_default_route_to_this_deployments_own_eni_is_no_conflict(fails, run_module, ec2, built):
    zone = built.zones["us-east-1a"]
    own = ec2.create_network_interface(
        SubnetId=zone.private_subnet_ids[0],
        TagSpecifications=[
            {
                "ResourceType": "network-interface",
                "Tags": [
                    {"Key": "nat-zero:deployment", "Value": "prod"},
                    {"Key": "nat-zero:vpc", "Value": built.vpc_id},
                ],
            }
        ],
    )["NetworkInterface"]["NetworkInterfaceId"]
    for table in zone.private_route_table_ids:
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=own)

    assert discover(run_module, built.vpc_id, name="prod")["zones"]["us-east-1a"]["private_route_table_ids"] == (
        zone.private_route_table_ids
    )
    assert "a network interface not of this deployment" in refusal(fails, built.vpc_id, name="other")["msg"]


def test_blackhole_default_route_is_no_conflict_and_no_internet(run_module, ec2, built, hook_module_clients):
    """A route whose NAT gateway was deleted stays, in state blackhole: nothing uses it."""
    nat = ec2.create_nat_gateway(SubnetId=built.zones["us-east-1a"].public_subnet_id)["NatGateway"]["NatGatewayId"]
    table = built.zones["us-east-1a"].private_route_table_ids[0]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    install_route_hook(hook_module_clients, lambda r: r.get("NatGatewayId") == nat and r.update(State="blackhole"))

    assert table in discover(run_module, built.vpc_id)["zones"]["us-east-1a"]["private_route_table_ids"]


def test_a_route_table_shared_by_private_subnets_of_two_azs_is_refused(fails, run_module, ec2, built):
    shared = built.zones["us-east-1a"].private_route_table_ids[0]
    moved = built.zones["us-east-1b"].private_subnet_ids[0]
    association = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [moved]}])[
        "RouteTables"
    ][0]["Associations"][0]["RouteTableAssociationId"]
    ec2.replace_route_table_association(AssociationId=association, RouteTableId=shared)

    result = refusal(fails, built.vpc_id)

    assert "route table %s serves private subnets of us-east-1a, us-east-1b" % shared in result["msg"]


def test_vpc_without_private_subnets_is_refused(fails, run_module, ec2):
    only_public = build_vpc(ec2, ("us-east-1a",), private_per_az=0)

    assert "found no private subnet to serve" in refusal(fails, only_public.vpc_id)["msg"]


def test_unknown_vpc_is_named(fails, run_module, aws):
    assert refusal(fails, "vpc-0123456789abcdef0")["msg"] == (
        "VPC vpc-0123456789abcdef0 does not exist in region us-east-1"
    )


def test_discover_is_pure_and_orders_cidrs_numerically():
    subnets = [
        {"SubnetId": "subnet-b", "AvailabilityZone": "eu-west-1a", "CidrBlock": "10.0.100.0/24"},
        {"SubnetId": "subnet-a", "AvailabilityZone": "eu-west-1a", "CidrBlock": "10.0.9.0/24"},
        {"SubnetId": "subnet-p", "AvailabilityZone": "eu-west-1a", "CidrBlock": "10.0.0.0/24"},
        {"SubnetId": "subnet-6", "AvailabilityZone": "eu-west-1a", "CidrBlock": None},
    ]
    tables = [
        {"RouteTableId": "rtb-main", "Associations": [{"Main": True}], "Routes": []},
        {
            "RouteTableId": "rtb-pub",
            "Associations": [{"SubnetId": "subnet-p"}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}],
        },
    ]

    zones, problems = vpc_discovery_info.discover(subnets, tables, set(), None)

    assert problems == []
    assert zones["eu-west-1a"]["private_subnet_ids"] == ["subnet-a", "subnet-b"]
    assert zones["eu-west-1a"]["private_route_table_ids"] == ["rtb-main"]
