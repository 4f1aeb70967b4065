"""always_on mode and static / bring-your-own Elastic IPs, end to end on moto."""

from tests.support.world import SWEEP_EVENT, state_change_event

AZ_A = "us-east-1a"


def eni_eip(world, az):
    eni = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[world.zones[az].public_eni_id])
    return (eni["NetworkInterfaces"][0].get("Association") or {}).get("PublicIp")


def nat_states(world, az):
    return sorted(n["State"]["Name"] for n in world.nats(az) if n["State"]["Name"] != "terminated")


def scale_up_and_down(world, reconcile):
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    address = eni_eip(world, AZ_A)
    world.ec2.terminate_instances(InstanceIds=[workload])
    reconcile(state_change_event(workload, "terminated"))
    reconcile(SWEEP_EVENT)
    return address


def users_address(world, **az):
    """An address the user allocated and the role tagged (nat-zero:eip-owner=user)."""
    tags = {"nat-zero:deployment": world.name, "nat-zero:vpc": world.vpc_id, "nat-zero:eip-owner": "user"}
    tags.update({"nat-zero:az": az["az"]} if az else {})
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return world.ec2.allocate_address(Domain="vpc", TagSpecifications=spec)


def exists(world, allocation_id):
    return any(a["AllocationId"] == allocation_id for a in world.ec2.describe_addresses()["Addresses"])


def test_always_on_runs_a_nat_in_every_az_without_workloads(world, reconcile, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_MODE", "always_on")
    summary = reconcile(SWEEP_EVENT)
    assert [zone["verdict"] for zone in summary["zones"]] == ["create_nat", "create_nat"]
    assert all(nat_states(world, az) == ["running"] for az in world.zones)
    # A NAT stopped by hand is started again, with no workload anywhere.
    (nat,) = world.nats(AZ_A)
    world.ec2.stop_instances(InstanceIds=[nat["InstanceId"]])
    assert reconcile(SWEEP_EVENT)["zones"][0]["verdict"] == "start_nat"


def test_ephemeral_address_is_released_when_idle(world, reconcile):
    scale_up_and_down(world, reconcile)
    assert eni_eip(world, AZ_A) is None and world.ec2.describe_addresses()["Addresses"] == []


def test_static_address_stays_on_the_eni_while_idle_and_comes_back(world, reconcile, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_EIP_MODE", "static")
    address = scale_up_and_down(world, reconcile)
    assert nat_states(world, AZ_A) == ["stopped"] and eni_eip(world, AZ_A) == address
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    assert nat_states(world, AZ_A) == ["running"] and eni_eip(world, AZ_A) == address


def test_users_address_is_used_kept_idle_and_never_released(world, reconcile, monkeypatch):
    mine = users_address(world)
    monkeypatch.setenv("NAT_ZERO_EIP_ALLOCATIONS", f'{{"{AZ_A}": "{mine["AllocationId"]}"}}')
    assert scale_up_and_down(world, reconcile) == mine["PublicIp"]
    assert eni_eip(world, AZ_A) == mine["PublicIp"]
    # Re-deployed ephemeral without it: taken off the ENI, still the user's.
    monkeypatch.delenv("NAT_ZERO_EIP_ALLOCATIONS")
    (action,) = reconcile(SWEEP_EVENT)["zones"][0]["actions"]
    assert (action["action"], action["allocation_id"]) == ("disassociate_eip", mine["AllocationId"])
    assert eni_eip(world, AZ_A) is None and exists(world, mine["AllocationId"])


def test_an_event_never_releases_a_users_address(world, reconcile, monkeypatch):
    """The event path releases every address of the AZ it finds, without a
    list read beforehand; the user's own (here tagged with the AZ too) must
    survive it, even once it is no longer configured."""
    mine = users_address(world, az=AZ_A)
    monkeypatch.setenv("NAT_ZERO_EIP_ALLOCATIONS", f'{{"{AZ_A}": "{mine["AllocationId"]}"}}')
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    assert eni_eip(world, AZ_A) == mine["PublicIp"]
    monkeypatch.delenv("NAT_ZERO_EIP_ALLOCATIONS")
    world.ec2.terminate_instances(InstanceIds=[workload])
    reconcile(state_change_event(workload, "terminated"))
    (nat,) = world.nats(AZ_A)
    summary = reconcile(state_change_event(nat["InstanceId"], "stopped"))
    assert summary["zones"][0]["outcomes"] == [{"action": "release_eip", "result": "noop", "reason": "no_eip"}]
    assert exists(world, mine["AllocationId"])
