"""Bugs the fault-injection simulation (tests/simulation) found, one test each,
in the smallest world that shows them. Each section names the seed that meets
the bug; tests/simulation/test_machinery.py undoes each fix and checks that
seed fails again, and `NAT_ZERO_SIM_SEED=<seed> .venv/bin/python -m pytest
tests/simulation -k replay -s` prints its whole run."""

from datetime import timedelta

from nat_zero.config import load_config
from nat_zero.events import StateChange, parse_event
from tests.support.world import SWEEP_EVENT, state_change_event

AZ_A = "us-east-1a"


def launch_time(world, instance_id):
    return world.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["LaunchTime"]


def event_at(instance_id, state, when):
    event = state_change_event(instance_id, state)
    event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def only_nat(world, az=AZ_A):
    nats = world.nats(az)
    assert len(nats) == 1, nats
    return nats[0]


def verdicts(summary):
    return [zone["verdict"] for zone in summary["zones"]]


# -- seed 86: a "stopping" event delivered after the workload was started again ---


def test_stopping_event_older_than_the_workloads_launch_keeps_the_nat(world, reconcile):
    # The workload was stopped, then started again; the "stopping" event of
    # the first run arrives minutes late. The read says running, and the
    # workload's LaunchTime is newer than the event: it is about an old run.
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    nat = only_nat(world)["InstanceId"]
    late = event_at(workload, "stopping", launch_time(world, workload) - timedelta(minutes=3))
    summary = reconcile(late)
    assert verdicts(summary) == ["steady"]
    assert only_nat(world)["InstanceId"] == nat and only_nat(world)["State"]["Name"] == "running"


def test_fresh_stopping_event_still_beats_a_stale_running_read(world, reconcile, fidelity):
    # The other side of the same rule: a "stopping" newer than the LaunchTime
    # is about this run, and it beats a read that has not caught up yet.
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    fresh = event_at(workload, "stopping", launch_time(world, workload) + timedelta(minutes=3))
    fidelity.serve_stale_state(workload, "running", reads=5)
    assert verdicts(reconcile(fresh)) == ["stop_nat"]


def test_state_change_carries_the_event_time():
    from tests.support.lambda_env import GOOD_ENV

    request = parse_event(state_change_event("i-0123456789abcdef0", "stopping"), load_config(GOOD_ENV))
    assert isinstance(request, StateChange) and request.time.isoformat() == "2026-11-23T17:00:00+00:00"
    malformed = dict(state_change_event("i-0123456789abcdef0", "stopping"), time="yesterday")
    assert parse_event(malformed, load_config(GOOD_ENV)).time is None


# -- seed 20: an instance with the NAT tags but not on the AZ's ENIs ----------


def launch_stray_nat(world, az=AZ_A, stopped=False):
    """An instance with this deployment's NAT tags, launched by hand in the
    public subnet: it has ENIs of its own, not the AZ's persistent pair."""
    stray = world.launch_nat(az)
    if stopped:
        world.ec2.stop_instances(InstanceIds=[stray])
    return stray


def test_nat_tagged_instance_off_the_zone_enis_is_replaced_not_adopted(world, reconcile):
    stray = launch_stray_nat(world)
    workload = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(workload, "pending"))
    assert verdicts(summary) == ["create_nat"]
    assert summary["zones"][0]["actions"][0] == {"action": "terminate_nat", "instance_id": stray, "reason": "duplicate"}
    nat = only_nat(world)
    zone = world.zones[AZ_A]
    enis = {n["Attachment"]["DeviceIndex"]: n["NetworkInterfaceId"] for n in nat["NetworkInterfaces"]}
    assert nat["InstanceId"] != stray and enis == {0: zone.public_eni_id, 1: zone.private_eni_id}


def test_stopped_nat_on_the_zone_enis_is_started_rather_than_a_running_stray(world, reconcile):
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    nat = only_nat(world)["InstanceId"]
    world.ec2.stop_instances(InstanceIds=[nat])
    stray = launch_stray_nat(world)
    summary = reconcile(SWEEP_EVENT)
    assert summary["zones"][0]["verdict"] == "start_nat"
    assert [n["InstanceId"] for n in world.nats(AZ_A)] == [nat]
    assert only_nat(world)["State"]["Name"] == "running" and stray not in {n["InstanceId"] for n in world.nats(AZ_A)}


# -- seed 364: an EIP left free by a crash, met by a sweep while the NAT stops -----------


def allocate_free_eip(world, az=AZ_A):
    """What an invocation that died between AllocateAddress and AssociateAddress leaves."""
    tags = {
        "nat-zero:deployment": world.name,
        "nat-zero:vpc": world.vpc_id,
        "nat-zero:az": az,
        "nat-zero:managed": "true",
    }
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return world.ec2.allocate_address(Domain="vpc", TagSpecifications=spec)["AllocationId"]


def test_sweep_releases_a_crash_left_eip_while_the_nat_is_stopping(world, reconcile, fidelity):
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    nat = only_nat(world)["InstanceId"]
    on_eni = {a["AllocationId"] for a in world.eips(AZ_A)}
    loose = allocate_free_eip(world)
    world.ec2.stop_instances(InstanceIds=[nat])
    fidelity.serve_stale_state(nat, "stopping", reads=1)
    summary = reconcile(SWEEP_EVENT)
    assert summary["zones"][0]["verdict"] == "wait_for_stopping_nat"
    assert summary["zones"][0]["actions"] == [{"action": "release_eip", "allocation_id": loose}]
    assert {a["AllocationId"] for a in world.eips(AZ_A)} == on_eni
