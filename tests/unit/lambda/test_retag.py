"""A change of the deployment's tags retags its NAT and Elastic IPs in place:
no new instance, no cut in traffic (the decision, then the handler on moto)."""

import json

from nat_zero.decision import Eip, Nat, ReleaseEip, Retag, Snapshot, TerminateNat, Workload, decide
from tests.support.world import SWEEP_EVENT, state_change_event

AZ = "us-east-1a"
NAT_ID = "i-0nat000000000001"
VERSION = "cfg-2"
OURS = (("Name", "prod-nat-us-east-1a"), ("nat-zero:deployment", "prod"), ("nat-zero:managed", "true"))
WANTED = tuple(sorted(OURS + (("team", "network"),)))


def snapshot(nat_tags, nat_version=VERSION, eips=None, workloads=1):
    return Snapshot(
        az=AZ,
        config_version=VERSION,
        public_eni_id="eni-0aaaaaaaaaaaaaaaa",
        workloads=tuple(Workload(f"i-0w{n:015d}", "running") for n in range(workloads)),
        nats=(Nat(NAT_ID, "running", config_version=nat_version, eip_public_ip="198.51.100.1", tags=nat_tags),),
        eips=eips,
        nat_tags=WANTED,
        eip_tags=WANTED,
    )


def eip(allocation_id, tags, on_eni=True, user_owned=False):
    return Eip(
        allocation_id,
        "198.51.100.1",
        association_id="eipassoc-1" if on_eni else None,
        network_interface_id="eni-0aaaaaaaaaaaaaaaa" if on_eni else None,
        tags=tags,
        user_owned=user_owned,
    )


def test_a_running_nat_with_old_user_tags_is_retagged_not_replaced():
    old = tuple(sorted(OURS + (("team", "platform"), ("cost-centre", "7"))))

    decision = decide(snapshot(old))

    assert decision.verdict == "retag"
    assert decision.actions == (Retag(AZ, NAT_ID, set_tags=(("team", "network"),), remove_keys=("cost-centre",)),)


def test_tags_as_wanted_change_nothing():
    assert decide(snapshot(WANTED)).actions == ()


def test_aws_and_nat_zero_tags_outside_the_set_are_kept():
    read = tuple(sorted(WANTED + (("aws:cloudformation:stack-name", "x"), ("nat-zero:dataplane", "forwarding 1"))))

    assert decide(snapshot(read)).actions == ()


def test_an_outdated_nat_is_replaced_and_not_retagged():
    decision = decide(snapshot(OURS, nat_version="cfg-1"))

    assert decision.verdict == "replace_outdated_nat"
    assert not any(isinstance(a, Retag) for a in decision.actions)


def test_tags_not_read_are_not_compared():
    assert decide(snapshot(None)).actions == ()


def test_a_sweep_retags_the_eip_on_the_eni_but_not_a_users_own_or_one_released():
    eips = (
        eip("eipalloc-kept", OURS),
        eip("eipalloc-users", (("owner", "me"),), on_eni=False, user_owned=True),
        eip("eipalloc-loose", OURS, on_eni=False),
    )

    decision = decide(snapshot(WANTED, eips=eips))

    assert ReleaseEip(AZ, "eipalloc-loose", None) in decision.actions
    retags = [a for a in decision.actions if isinstance(a, Retag)]
    assert retags == [Retag(AZ, "eipalloc-kept", set_tags=(("team", "network"),))]
    assert decision.actions[-1] == retags[0]
    assert not any(isinstance(a, TerminateNat) for a in decision.actions)


def test_changed_user_tags_retag_the_running_nat_and_its_eip_in_place(world, reconcile, monkeypatch):
    workload = world.launch_workload(AZ)
    reconcile(state_change_event(workload, "pending"))
    [nat] = world.nats(AZ)
    [address] = world.eips(AZ)
    world.ec2.create_tags(Resources=[nat["InstanceId"]], Tags=[{"Key": "nat-zero:dataplane", "Value": "forwarding"}])

    monkeypatch.setenv("NAT_ZERO_TAGS", json.dumps({"team": "network"}))
    summary = reconcile(SWEEP_EVENT)

    assert [zone["verdict"] for zone in summary["zones"] if zone["az"] == AZ] == ["retag"]
    [retagged] = world.nats(AZ)
    assert retagged["InstanceId"] == nat["InstanceId"] and retagged["State"]["Name"] != "shutting-down"
    tags = {t["Key"]: t["Value"] for t in retagged["Tags"]}
    assert tags["team"] == "network" and tags["nat-zero:dataplane"] == "forwarding"
    [address_after] = world.eips(AZ)
    assert address_after["AllocationId"] == address["AllocationId"]
    assert {t["Key"]: t["Value"] for t in address_after["Tags"]}["team"] == "network"

    monkeypatch.setenv("NAT_ZERO_TAGS", "{}")
    reconcile(SWEEP_EVENT)
    assert "team" not in {t["Key"] for t in world.nats(AZ)[0]["Tags"]}
    assert [zone["verdict"] for zone in reconcile(SWEEP_EVENT)["zones"] if zone["az"] == AZ] == ["steady"]
