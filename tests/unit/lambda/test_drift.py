"""Drift repair and cross-AZ failover end to end on moto. Moto answers
CreateRoute on an existing route with RouteAlreadyExists and ReplaceRoute on a
missing one with InvalidParameterValue, as EC2 does; status checks come from
tests.support.ec2_fidelity."""

import json

import pytest

from tests.support.world import SWEEP_EVENT, state_change_event

AZ_A, AZ_B = "us-east-1a", "us-east-1b"
HEALTH_EVENT = {"action": "health"}


@pytest.fixture
def routed(world, monkeypatch):
    """Each AZ's private route table, 0.0.0.0/0 -> its private ENI, as the role leaves it."""
    tables = {}
    for az, zone in world.zones.items():
        table = world.ec2.create_route_table(VpcId=world.vpc_id)["RouteTable"]["RouteTableId"]
        world.ec2.create_route(
            RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=zone.private_eni_id
        )
        tables[az] = table
    zones = json.loads(world.env()["NAT_ZERO_ZONES"])
    for az, table in tables.items():
        zones[az]["route_table_ids"] = [table]
    monkeypatch.setenv("NAT_ZERO_ZONES", json.dumps(zones))
    return tables


def default_route_target(world, table):
    (rt,) = world.ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"]
    for route in rt["Routes"]:
        if route.get("DestinationCidrBlock") == "0.0.0.0/0":
            return route.get("NetworkInterfaceId") or route.get("GatewayId")
    return None


def repairs(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line["repair"] for line in lines if "repair" in line]


def test_a_sweep_in_place_repairs_nothing_at_one_route_read(world, routed, reconcile):
    summary = reconcile(SWEEP_EVENT)
    assert [zone["verdict"] for zone in summary["zones"]] == ["steady", "steady"]
    assert summary["aws_calls"]["by_operation"]["DescribeRouteTables"] == 1
    assert summary["aws_calls"]["writes"] == 0


def test_deleted_route_is_created_again(world, routed, reconcile, capsys):
    world.ec2.delete_route(RouteTableId=routed[AZ_A], DestinationCidrBlock="0.0.0.0/0")
    capsys.readouterr()
    assert reconcile(SWEEP_EVENT)["zones"][0]["verdict"] == "repair_drift"
    assert default_route_target(world, routed[AZ_A]) == world.zones[AZ_A].private_eni_id
    (repair,) = repairs(capsys)
    assert (repair["action"], repair["was"], repair["result"]) == ("point_route", "missing", "done")


def test_route_pointed_elsewhere_is_replaced(world, routed, reconcile, capsys):
    gateway = world.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    world.ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=world.vpc_id)
    world.ec2.replace_route(RouteTableId=routed[AZ_B], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    capsys.readouterr()
    reconcile(SWEEP_EVENT)
    assert default_route_target(world, routed[AZ_B]) == world.zones[AZ_B].private_eni_id
    assert [r["was"] for r in repairs(capsys)] == ["another target"]


def test_source_dest_check_turned_on_is_turned_off(world, routed, reconcile, capsys):
    eni = world.zones[AZ_A].public_eni_id
    world.ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, SourceDestCheck={"Value": True})
    capsys.readouterr()
    reconcile(SWEEP_EVENT)
    (found,) = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    assert found["SourceDestCheck"] is False
    assert [r["action"] for r in repairs(capsys)] == ["disable_source_dest_check"]


def test_source_dest_check_of_a_running_nat_is_read_from_its_instance(world, routed, reconcile):
    for az in world.zones:
        reconcile(state_change_event(world.launch_workload(az), "pending"))
    summary = reconcile(SWEEP_EVENT)
    # Both NATs run: every ENI is attached, DescribeInstances shows them all.
    assert "DescribeNetworkInterfaces" not in summary["aws_calls"]["by_operation"]


@pytest.fixture
def cross_az(monkeypatch):
    monkeypatch.setenv("NAT_ZERO_FAILOVER", "cross_az")


def test_sick_nat_fails_over_to_the_other_az_and_comes_back(world, routed, reconcile, fidelity, cross_az):
    for az in world.zones:
        reconcile(state_change_event(world.launch_workload(az), "pending"))
    (nat_a,) = world.nats(AZ_A)
    fidelity.impair(nat_a["InstanceId"])

    zone_a = reconcile(HEALTH_EVENT)["zones"][0]
    assert zone_a["verdict"] == "replace_unhealthy_nat"
    # Traffic moves first, then the NAT goes.
    assert [a["action"] for a in zone_a["actions"]] == ["point_route", "terminate_nat"]
    assert default_route_target(world, routed[AZ_A]) == world.zones[AZ_B].private_eni_id

    fidelity.finish_shutdowns()
    reconcile(state_change_event(nat_a["InstanceId"], "terminated"))
    # The replacement runs (no heartbeat configured: running and healthy is enough).
    reconcile(HEALTH_EVENT)
    assert default_route_target(world, routed[AZ_A]) == world.zones[AZ_A].private_eni_id


def test_no_failover_to_a_sick_nat(world, routed, reconcile, fidelity, cross_az):
    for az in world.zones:
        reconcile(state_change_event(world.launch_workload(az), "pending"))
    for az in world.zones:
        fidelity.impair(world.nats(az)[0]["InstanceId"])
    reconcile(HEALTH_EVENT)
    for az, table in routed.items():
        assert default_route_target(world, table) == world.zones[az].private_eni_id
