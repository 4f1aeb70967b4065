"""The simulation's own parts: EC2's lifecycle as the reconciler sees it, the
fidelity hooks it relies on, and proof that the invariants catch the bugs the
simulation found (each fix undone, the seed that found it fails again)."""

import random
from collections import Counter

import pytest

from nat_zero import decision as nat_zero_decision
from nat_zero import observe as nat_zero_observe
from tests.simulation.clock import Clock
from tests.simulation.ec2_model import SimulatedEc2
from tests.simulation.faults import FaultPlan
from tests.simulation.fleet import NAT, Delays, Fleet
from tests.simulation.invariants import Invariants, MotoView
from tests.simulation.runner import run_seed
from tests.support.ec2_fidelity import Ec2Fidelity

AZ_A = "us-east-1a"


def calm_plan():
    plan = FaultPlan(random.Random(0))
    plan.calm()
    return plan


@pytest.fixture
def simulated(world, reconciler_client):
    """The simulation's EC2 on the reconciler's client, without faults."""
    clock = Clock()
    rng = random.Random(1)
    faults = Counter()
    plan = calm_plan()
    fleet = Fleet(clock, world.ec2, Delays(rng, 0.0, faults))
    invariants = Invariants(world, fleet, MotoView(), clock)
    ec2 = SimulatedEc2(reconciler_client, world.ec2, fleet, clock, rng, plan, faults, invariants)
    return ec2, fleet, clock


def launch_nat(world, client, fleet):
    zone = world.zones[AZ_A]
    response = client.run_instances(
        LaunchTemplate={"LaunchTemplateId": zone.launch_template_id},
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
            {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "nat-zero:deployment", "Value": world.name}]}],
    )
    return response["Instances"][0]["InstanceId"]


def read_state(client, instance_id):
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def moto_state(world, instance_id):
    return read_state(world.ec2, instance_id)


def test_a_launch_reads_pending_until_ec2_has_booted_it(world, reconciler_client, simulated):
    _, fleet, clock = simulated
    nat = launch_nat(world, reconciler_client, fleet)
    assert fleet.get(nat).kind == NAT
    assert read_state(reconciler_client, nat) == "pending"
    clock.advance(60)
    assert read_state(reconciler_client, nat) == "running"


def test_stop_takes_time_and_reaches_moto_only_when_done(world, reconciler_client, simulated):
    _, fleet, clock = simulated
    nat = launch_nat(world, reconciler_client, fleet)
    clock.advance(60)
    reconciler_client.stop_instances(InstanceIds=[nat])
    assert read_state(reconciler_client, nat) == "stopping" and moto_state(world, nat) == "running"
    clock.advance(60)
    assert read_state(reconciler_client, nat) == "stopped" and moto_state(world, nat) == "stopped"


def test_ec2_refuses_to_start_a_stopping_instance_or_stop_a_pending_one(world, reconciler_client, simulated):
    _, fleet, clock = simulated
    nat = launch_nat(world, reconciler_client, fleet)
    with pytest.raises(reconciler_client.exceptions.ClientError, match="IncorrectInstanceState"):
        reconciler_client.stop_instances(InstanceIds=[nat])
    clock.advance(60)
    reconciler_client.stop_instances(InstanceIds=[nat])
    with pytest.raises(reconciler_client.exceptions.ClientError, match="IncorrectInstanceState"):
        reconciler_client.start_instances(InstanceIds=[nat])
    assert moto_state(world, nat) == "running"


def test_a_shutting_down_nat_holds_its_enis_and_stays_in_filtered_reads(world, reconciler_client, simulated):
    _, fleet, clock = simulated
    nat = launch_nat(world, reconciler_client, fleet)
    reconciler_client.terminate_instances(InstanceIds=[nat])
    filtered = reconciler_client.describe_instances(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])
    assert [i["State"]["Name"] for r in filtered["Reservations"] for i in r["Instances"]] == ["shutting-down"]
    with pytest.raises(reconciler_client.exceptions.ClientError, match="InvalidNetworkInterface.InUse"):
        launch_nat(world, reconciler_client, fleet)
    clock.advance(400)
    assert moto_state(world, nat) == "terminated"
    assert launch_nat(world, reconciler_client, fleet) != nat


def test_a_throttled_mutation_happens_once(world, reconciler_client):
    # botocore runs every before-send hook; without answered(), moto would
    # also carry out the throttled attempt, and the retry a second time.
    fidelity = Ec2Fidelity(reconciler_client, raw_client=world.ec2)
    fidelity.throttle_next("RunInstances", times=2)
    world.launch_workload(AZ_A)
    zone = world.zones[AZ_A]
    reconciler_client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=zone.public_subnet_id)
    assert fidelity.throttled == 2
    assert len(world.instances(AZ_A)) == 2


# -- the invariants catch the bugs the simulation found (the fix undone) -------------------


def test_a_seed_replays_identically():
    first, again = run_seed(7), run_seed(7)
    assert first.trace == again.trace and first.faults == again.faults and first.steps == again.steps


UNDONE_FIXES = {
    # seed: (module, attribute, what it is replaced with, the violation expected)
    86: (
        nat_zero_observe,
        "believed_state",
        lambda read, trigger, instance: nat_zero_decision.freshest_state(read, trigger.state),
        "stopped while workload",
    ),
    20: (nat_zero_observe, "_on_zone_enis", lambda *_: True, "does not hold the AZ's ENIs"),
    364: (nat_zero_decision, "_release_loose", lambda *_: (), "left unassociated after a sweep"),
}


@pytest.mark.parametrize("seed", sorted(UNDONE_FIXES))
def test_the_seed_that_found_a_bug_fails_without_its_fix(seed, monkeypatch):
    module, attribute, undone, expected = UNDONE_FIXES[seed]
    assert run_seed(seed).ok
    monkeypatch.setattr(module, attribute, undone)
    result = run_seed(seed)
    assert any(expected in v for v in result.violations), (
        f"seed {seed} no longer meets this bug (the simulation's randomness changed?): find a new "
        f"seed that does and update UNDONE_FIXES\n" + result.report(trace_lines=0)
    )
