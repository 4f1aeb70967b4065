from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_network


@pytest.fixture
def args(vpc):
    return dict(
        name="prod",
        vpc_id=vpc["vpc_id"],
        availability_zone=vpc["az"],
        public_subnet_id=vpc["public_subnet_id"],
        private_subnet_id=vpc["private_subnet_id"],
        private_cidr=vpc["private_cidr"],
        route_table_id=vpc["route_table_id"],
        tags={"team": "platform"},
    )


def default_route(ec2, route_table_id):
    routes = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"][0]["Routes"]
    return next((r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or ()}


def test_create_builds_security_group_enis_and_route(run_module, ec2, args):
    result = run_module(nat_network, args)

    assert result["changed"] is True
    group = ec2.describe_security_groups(GroupIds=[result["security_group_id"]])["SecurityGroups"][0]
    assert group["GroupName"] == "prod-nat-us-east-1a"
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] == [
        ("-1", ["10.0.1.0/24"])
    ]
    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=[result["public_eni_id"], result["private_eni_id"]])
    by_id = {e["NetworkInterfaceId"]: e for e in enis["NetworkInterfaces"]}
    public, private = by_id[result["public_eni_id"]], by_id[result["private_eni_id"]]
    assert public["SubnetId"] == args["public_subnet_id"]
    assert private["SubnetId"] == args["private_subnet_id"]
    assert public["SourceDestCheck"] is False and private["SourceDestCheck"] is False
    assert tags(private) == {
        "Name": "prod-nat-us-east-1a-private",
        "nat-zero:deployment": "prod",
        "nat-zero:vpc": args["vpc_id"],
        "nat-zero:az": "us-east-1a",
        "nat-zero:interface": "private",
        "team": "platform",
    }
    assert default_route(ec2, args["route_table_id"])["NetworkInterfaceId"] == result["private_eni_id"]
    assert result["route_target"] == result["private_eni_id"]
    assert result["replaced_route_target"] is None


def test_second_run_changes_nothing_and_finds_resources_by_tags(run_module, args):
    first = run_module(nat_network, args)
    second = run_module(nat_network, args)

    assert second["changed"] is False
    for key in ("security_group_id", "public_eni_id", "private_eni_id", "route_target"):
        assert second[key] == first[key]


def test_check_mode_reports_creation_and_creates_nothing(run_module, ec2, args):
    result = run_module(nat_network, args, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["private_eni_id"] is None
    assert result["diff"]["before"]["security_group"] is None
    assert (
        ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [args["vpc_id"]]}])["NetworkInterfaces"]
        == []
    )
    assert default_route(ec2, args["route_table_id"]) is None


def test_converges_drift_revoking_other_ingress_and_restoring_source_dest_check(run_module, ec2, args):
    first = run_module(nat_network, args)
    ec2.authorize_security_group_ingress(
        GroupId=first["security_group_id"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.modify_network_interface_attribute(NetworkInterfaceId=first["public_eni_id"], SourceDestCheck={"Value": True})

    result = run_module(nat_network, args, diff=True)

    assert result["changed"] is True
    group = ec2.describe_security_groups(GroupIds=[first["security_group_id"]])["SecurityGroups"][0]
    assert [p["IpProtocol"] for p in group["IpPermissions"]] == ["-1"]
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[first["public_eni_id"]])["NetworkInterfaces"][0]
    assert eni["SourceDestCheck"] is False
    assert "tcp 22-22 from 0.0.0.0/0" in result["diff"]["before"]["security_group"]["ingress"]


def test_default_route_pointing_elsewhere_is_replaced_and_reported(run_module, ec2, args, vpc):
    igw = vpc["internet_gateway_id"]  # a VPC has at most one internet gateway
    ec2.create_route(RouteTableId=args["route_table_id"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    result = run_module(nat_network, args)

    assert result["replaced_route_target"] == igw
    assert default_route(ec2, args["route_table_id"])["NetworkInterfaceId"] == result["private_eni_id"]


def test_check_mode_says_it_would_replace_the_route_and_leaves_it(run_module, ec2, args, monkeypatch):
    from ansible.module_utils import basic

    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=args["vpc_id"])
    ec2.create_route(RouteTableId=args["route_table_id"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    result = run_module(nat_network, args, check_mode=True)

    assert result["changed"] is True and result["replaced_route_target"] == igw
    assert [w.split(" the default route")[0] for w in warnings] == ["Would replace"]
    assert default_route(ec2, args["route_table_id"])["GatewayId"] == igw


def test_subnet_in_another_az_fails_before_changing_anything(fails, ec2, args, vpc):
    failure = fails(nat_network, dict(args, private_subnet_id=vpc["other_az_subnet_id"]))

    assert "not in availability_zone us-east-1a" in failure["msg"]
    assert (
        ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["prod-nat-us-east-1a"]}])[
            "SecurityGroups"
        ]
        == []
    )


def test_route_table_of_another_vpc_fails(fails, ec2, args):
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other_table = ec2.create_route_table(VpcId=other_vpc)["RouteTable"]["RouteTableId"]

    failure = fails(nat_network, dict(args, route_table_id=other_table))

    assert "not in vpc_id" in failure["msg"]


def security_groups(ec2):
    return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["prod-nat-us-east-1a"]}])[
        "SecurityGroups"
    ]


def test_public_subnet_without_internet_route_fails_before_changing_anything(fails, ec2, args, vpc):
    ec2.delete_route(RouteTableId=vpc["public_route_table_id"], DestinationCidrBlock="0.0.0.0/0")

    failure = fails(nat_network, args)

    assert failure["msg"] == (
        "Subnet %s is not a public subnet: its route table %s has no 0.0.0.0/0 route; "
        "the NAT needs a 0.0.0.0/0 route to an internet gateway (igw-...)"
        % (vpc["public_subnet_id"], vpc["public_route_table_id"])
    )
    assert security_groups(ec2) == []


def test_public_subnet_routed_to_something_else_fails_naming_the_target(fails, ec2, args, vpc):
    ec2.replace_route(
        RouteTableId=vpc["public_route_table_id"],
        DestinationCidrBlock="0.0.0.0/0",
        NetworkInterfaceId=ec2.create_network_interface(SubnetId=vpc["public_subnet_id"])["NetworkInterface"][
            "NetworkInterfaceId"
        ],
    )

    failure = fails(nat_network, args)

    assert "its route table %s sends 0.0.0.0/0 to eni-" % vpc["public_route_table_id"] in failure["msg"]


def test_route_to_a_detached_internet_gateway_fails_as_a_blackhole(fails, args, vpc, hook_module_clients):
    """EC2 keeps the route of a detached (or deleted) gateway, in state blackhole; moto drops the state."""

    def blackhole(parsed, **_):
        for table in parsed.get("RouteTables", ()):
            for route in table.get("Routes", ()):
                if route.get("GatewayId", "").startswith("igw-"):
                    route["State"] = "blackhole"

    hook_module_clients(
        "ec2", lambda client: client.meta.events.register("after-call.ec2.DescribeRouteTables", blackhole)
    )

    failure = fails(nat_network, args)

    assert "sends 0.0.0.0/0 to %s, which is gone (blackhole)" % vpc["internet_gateway_id"] in failure["msg"]


def test_public_subnet_without_a_table_of_its_own_is_judged_by_the_main_table(run_module, fails, ec2, args, vpc):
    [association] = ec2.describe_route_tables(RouteTableIds=[vpc["public_route_table_id"]])["RouteTables"][0][
        "Associations"
    ]
    ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc["vpc_id"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]

    assert (
        "the VPC's main route table (it has no table of its own) %s has no 0.0.0.0/0 route" % main
        in (fails(nat_network, args)["msg"])
    )

    ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=vpc["internet_gateway_id"])
    assert run_module(nat_network, args)["changed"] is True


def test_invalid_cidr_fails(fails, args):
    assert "not a valid CIDR" in fails(nat_network, dict(args, private_cidr="10.0.1.0/33"))["msg"]


def test_absent_removes_route_enis_and_security_group(run_module, ec2, args):
    created = run_module(nat_network, args)
    absent = dict(name="prod", vpc_id=args["vpc_id"], availability_zone="us-east-1a", state="absent")

    check = run_module(nat_network, absent, check_mode=True)
    assert check["changed"] is True
    assert default_route(ec2, args["route_table_id"]) is not None

    result = run_module(nat_network, absent)

    assert result["changed"] is True
    assert result["removed"][-1] == created["security_group_id"]
    assert default_route(ec2, args["route_table_id"]) is None
    assert (
        ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [args["vpc_id"]]}])["NetworkInterfaces"]
        == []
    )
    assert run_module(nat_network, absent)["changed"] is False


def test_absent_keeps_a_default_route_that_is_not_ours(run_module, ec2, args):
    run_module(nat_network, args)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.replace_route(RouteTableId=args["route_table_id"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    run_module(nat_network, dict(name="prod", vpc_id=args["vpc_id"], availability_zone="us-east-1a", state="absent"))

    assert default_route(ec2, args["route_table_id"])["GatewayId"] == igw


def test_absent_refuses_while_a_running_instance_holds_an_eni(run_module, fails, ec2, args):
    created = run_module(nat_network, args)
    instance_id = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"NetworkInterfaceId": created["public_eni_id"], "DeviceIndex": 0},
            {"NetworkInterfaceId": created["private_eni_id"], "DeviceIndex": 1},
        ],
    )["Instances"][0]["InstanceId"]
    absent = dict(name="prod", vpc_id=args["vpc_id"], availability_zone="us-east-1a", state="absent")

    failure = fails(nat_network, absent)

    assert instance_id in failure["msg"] and "running" in failure["msg"]
    assert default_route(ec2, args["route_table_id"]) is not None

    ec2.terminate_instances(InstanceIds=[instance_id])
    assert run_module(nat_network, absent)["changed"] is True


def test_several_route_tables_all_route_to_the_private_eni_and_all_cidrs_are_admitted(run_module, ec2, args):
    second_table = ec2.create_route_table(VpcId=args["vpc_id"])["RouteTable"]["RouteTableId"]
    several = {k: v for k, v in args.items() if k not in ("route_table_id", "private_cidr")}
    several.update(route_table_ids=[args["route_table_id"], second_table], private_cidrs=["10.0.1.0/24", "10.0.9.0/24"])

    result = run_module(nat_network, several)

    assert result["route_table_ids"] == [args["route_table_id"], second_table]
    for table in (args["route_table_id"], second_table):
        assert default_route(ec2, table)["NetworkInterfaceId"] == result["private_eni_id"]
    group = ec2.describe_security_groups(GroupIds=[result["security_group_id"]])["SecurityGroups"][0]
    assert sorted(r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]) == ["10.0.1.0/24", "10.0.9.0/24"]
    assert run_module(nat_network, several)["changed"] is False


def test_absent_removes_the_route_of_every_table_it_routed(run_module, ec2, args):
    second_table = ec2.create_route_table(VpcId=args["vpc_id"])["RouteTable"]["RouteTableId"]
    routed = {k: v for k, v in args.items() if k != "route_table_id"}
    run_module(nat_network, dict(routed, route_table_ids=[args["route_table_id"], second_table]))

    result = run_module(
        nat_network,
        dict(name="prod", vpc_id=args["vpc_id"], availability_zone=args["availability_zone"], state="absent"),
    )

    assert {"%s:0.0.0.0/0" % t for t in (args["route_table_id"], second_table)} <= set(result["removed"])
    assert default_route(ec2, args["route_table_id"]) is None and default_route(ec2, second_table) is None


def test_a_cidr_dropped_from_private_cidrs_is_revoked(run_module, ec2, args):
    wide = {k: v for k, v in args.items() if k != "private_cidr"}
    wide["private_cidrs"] = ["10.0.1.0/24", "10.0.9.0/24"]
    first = run_module(nat_network, wide)

    result = run_module(nat_network, dict(wide, private_cidrs=["10.0.1.0/24"]))

    assert result["changed"] is True
    group = ec2.describe_security_groups(GroupIds=[first["security_group_id"]])["SecurityGroups"][0]
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["10.0.1.0/24"]
