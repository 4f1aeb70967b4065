"""Health: a sick NAT is found by the sweep or the health run, replaced on
the same ENIs once the old one is gone, and keeps its EIP. EC2's status
checks and ENI exclusivity come from tests.support.ec2_fidelity (moto
reports every instance "ok" and lets two instances share an ENI)."""

import re
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import yaml

from nat_zero import handler as nat_zero_handler
from nat_zero.decision import HEALTH_RULE_PERIOD_S, HEARTBEAT_LATE_S, HEARTBEAT_PERIOD_S, STALE_REPORT_S
from tests.support.world import SWEEP_EVENT, state_change_event

AZ_A = "us-east-1a"
HEALTH_EVENT = {"action": "health"}


def verdict_of(summary, az=AZ_A):
    return next(zone for zone in summary["zones"] if zone["az"] == az)


def eni_eip(world, az):
    eni = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[world.zones[az].public_eni_id])
    return (eni["NetworkInterfaces"][0].get("Association") or {}).get("PublicIp")


def live_nats(world, az):
    return [n for n in world.nats(az) if n["State"]["Name"] != "terminated"]


def running_nat(world, reconcile):
    workload = world.launch_workload(AZ_A)
    reconcile(state_change_event(workload, "pending"))
    (nat,) = live_nats(world, AZ_A)
    return nat


def age_the_world(monkeypatch, nat, seconds):
    """Look `seconds` after the NAT's launch."""
    monkeypatch.setattr(nat_zero_handler, "now", lambda: nat["LaunchTime"] + timedelta(seconds=seconds))


def report(world, nat_id, status, at):
    world.ec2.create_tags(
        Resources=[nat_id], Tags=[{"Key": "nat-zero:dataplane", "Value": f"{status} {at:%Y-%m-%dT%H:%M:%SZ}"}]
    )


FAULTS = [
    ("instance check", lambda f, iid: f.impair(iid, "InstanceStatus"), "instance status impaired"),
    ("system check", lambda f, iid: f.impair(iid, "SystemStatus"), "system status impaired"),
    ("retirement", lambda f, iid: f.schedule_retirement(iid), "instance-retirement scheduled"),
]


@pytest.mark.parametrize("name,fault,problem", FAULTS, ids=[f[0] for f in FAULTS])
def test_sick_nat_is_replaced_after_it_is_gone_on_the_same_enis_with_the_same_eip(
    world, reconcile, fidelity, name, fault, problem
):
    nat = running_nat(world, reconcile)
    address = eni_eip(world, AZ_A)
    assert verdict_of(reconcile(HEALTH_EVENT))["verdict"] == "steady"

    fault(fidelity, nat["InstanceId"])
    summary = reconcile(HEALTH_EVENT)
    zone = verdict_of(summary)
    assert zone["verdict"] == "replace_unhealthy_nat"
    assert zone["actions"] == [
        {"action": "terminate_nat", "instance_id": nat["InstanceId"], "reason": f"unhealthy: {problem}"}
    ]
    # One status read for every running NAT of the deployment, in the same run.
    assert summary["aws_calls"]["by_operation"]["DescribeInstanceStatus"] == 1

    # EC2 keeps the ENIs while the old NAT shuts down, and its read shows the
    # NAT shutting down: the next look waits for it and launches nothing
    # (a launch on the ENIs would be refused "in use", test_handler.py).
    zone = verdict_of(reconcile(HEALTH_EVENT))
    assert (zone["verdict"], zone["actions"]) == ("wait_for_terminating_nat", [])
    assert fidelity.eni_conflicts == 0 and live_nats(world, AZ_A) == []
    fidelity.finish_shutdowns()
    assert verdict_of(reconcile(state_change_event(nat["InstanceId"], "terminated")))["verdict"] == "create_nat"
    (replacement,) = live_nats(world, AZ_A)
    attached = {eni["NetworkInterfaceId"] for eni in replacement["NetworkInterfaces"]}
    assert attached == {world.zones[AZ_A].public_eni_id, world.zones[AZ_A].private_eni_id}
    assert eni_eip(world, AZ_A) == address


def test_status_is_not_read_while_no_nat_runs(world, reconcile):
    summary = reconcile(HEALTH_EVENT)
    assert summary["trigger"] == {"kind": "sweep", "reason": "health"}
    assert "DescribeInstanceStatus" not in summary["aws_calls"]["by_operation"]


def test_status_is_not_read_on_a_single_event(world, reconcile, fidelity):
    nat = running_nat(world, reconcile)
    fidelity.impair(nat["InstanceId"])
    summary = reconcile(state_change_event(nat["InstanceId"], "running"))
    assert "DescribeInstanceStatus" not in summary["aws_calls"]["by_operation"]
    assert verdict_of(summary)["verdict"] == "steady"


@pytest.fixture
def heartbeat(monkeypatch):
    """A deployment with the health rule: its NATs' guard re-reports (the heartbeat)."""
    monkeypatch.setenv("NAT_ZERO_HEALTH_RULE", "demo-nat-zero-health")


def test_stale_report_replaces_the_nat_fresh_one_keeps_it(world, reconcile, fidelity, heartbeat, monkeypatch):
    nat = running_nat(world, reconcile)
    age_the_world(monkeypatch, nat, 3600)
    report(world, nat["InstanceId"], "forwarding", nat["LaunchTime"] + timedelta(seconds=3600 - STALE_REPORT_S + 1))
    assert verdict_of(reconcile(HEALTH_EVENT))["verdict"] == "steady"

    report(world, nat["InstanceId"], "forwarding", nat["LaunchTime"] + timedelta(seconds=3600 - STALE_REPORT_S - 1))
    zone = verdict_of(reconcile(HEALTH_EVENT))
    assert zone["verdict"] == "replace_unhealthy_nat"
    assert zone["actions"][0]["reason"] == f"unhealthy: data-plane report {STALE_REPORT_S + 1} s old"


def test_one_lost_heartbeat_read_late_keeps_the_nat(world, reconcile, fidelity, heartbeat, monkeypatch):
    """EC2 throttled one beat (the guard does not retry: the next beat does), and
    DescribeInstances shows the next beat's tag only seconds after it was
    written (eventual consistency): the report read is two late beats plus
    that lag old, which is no fault."""
    nat = running_nat(world, reconcile)
    age_the_world(monkeypatch, nat, 3600)
    tag_read_lag = 5
    age = 2 * (HEARTBEAT_PERIOD_S + HEARTBEAT_LATE_S) + tag_read_lag
    report(world, nat["InstanceId"], "forwarding", nat["LaunchTime"] + timedelta(seconds=3600 - age))
    zone = verdict_of(reconcile(HEALTH_EVENT))
    assert zone["verdict"] == "steady" and "not_forwarding" not in zone


def test_the_role_schedules_the_health_rule_at_the_period_the_reconciler_counts_on():
    """A stale report is seen at most one health period late (HEALTH_RULE_PERIOD_S)."""
    role_vars = yaml.safe_load((Path(__file__).parents[3] / "roles/nat_zero/vars/main.yml").read_text())
    (minutes,) = re.fullmatch(r"rate\((\d+) minutes?\)", role_vars["nat_zero__health_schedule"]).groups()
    assert int(minutes) * 60 == HEALTH_RULE_PERIOD_S


def test_missing_report_waits_for_boot_then_backs_off_then_replaces(world, reconcile, fidelity, heartbeat, monkeypatch):
    nat = running_nat(world, reconcile)
    expected = [(120, "steady"), (300, "back_off_unhealthy_nat"), (1000, "replace_unhealthy_nat")]
    for seconds, verdict in expected:
        age_the_world(monkeypatch, nat, seconds)
        assert verdict_of(reconcile(HEALTH_EVENT))["verdict"] == verdict, seconds


def test_without_health_rule_a_missing_report_is_only_logged(world, reconcile, fidelity, monkeypatch):
    nat = running_nat(world, reconcile)
    age_the_world(monkeypatch, nat, 3600)
    zone = verdict_of(reconcile(SWEEP_EVENT))
    assert zone["verdict"] == "steady" and zone["not_forwarding"] == [nat["InstanceId"]]


def interruption_warning(instance_id, action="terminate"):
    return {
        "version": "0",
        "id": "1e5527d7-bb36-4607-3370-4164db56a40e",
        "detail-type": "EC2 Spot Instance Interruption Warning",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2026-11-23T17:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:ec2:us-east-1:123456789012:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "instance-action": action},
    }


def test_spot_interruption_warning_replaces_the_nat_at_once(world, reconcile, fidelity):
    nat = running_nat(world, reconcile)
    summary = reconcile(interruption_warning(nat["InstanceId"]))
    assert summary["trigger"]["resolved"] == "nat"
    zone = verdict_of(summary)
    assert zone["verdict"] == "replace_unhealthy_nat"
    assert zone["actions"][0]["reason"] == "unhealthy: spot interruption (terminate)"


def test_spot_interruption_warning_for_a_workload_does_nothing(world, reconcile):
    workload = world.launch_workload(AZ_A)
    summary = reconcile(interruption_warning(workload))
    assert summary["trigger"]["resolved"] == "not_our_nat" and summary["zones"] == []
    assert summary["aws_calls"]["writes"] == 0


RULE = "demo-nat-zero-health"


@pytest.fixture
def health_rule(world, heartbeat):
    """The 1-minute health rule as the role creates it: disabled until a NAT runs."""
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name=RULE, ScheduleExpression="rate(1 minute)", State="DISABLED")
    return lambda: events.describe_rule(Name=RULE)["State"]


def test_health_rule_runs_only_while_a_nat_is_live(world, reconcile, health_rule):
    assert "health_rule" not in reconcile(SWEEP_EVENT)  # idle: nothing to switch, no call
    workload = world.launch_workload(AZ_A)
    assert reconcile(state_change_event(workload, "pending"))["health_rule"] == {"switch": "enable", "result": "done"}
    assert health_rule() == "ENABLED"
    # A health run proves the rule is on: no call while the NAT lives.
    summary = reconcile(HEALTH_EVENT)
    assert "health_rule" not in summary and "EnableRule" not in summary["aws_calls"]["by_operation"]

    world.ec2.terminate_instances(InstanceIds=[workload])
    reconcile(state_change_event(workload, "terminated"))
    assert health_rule() == "ENABLED"
    assert reconcile(HEALTH_EVENT)["health_rule"] == {"switch": "disable", "result": "done"}
    assert health_rule() == "DISABLED"


def test_a_sweep_that_sees_a_running_nat_turns_the_rule_on(world, reconcile, health_rule):
    reconcile(state_change_event(world.launch_workload(AZ_A), "pending"))
    boto3.client("events", region_name="us-east-1").disable_rule(Name=RULE)
    assert reconcile(SWEEP_EVENT)["health_rule"]["switch"] == "enable"
    assert health_rule() == "ENABLED"


def test_always_on_keeps_the_health_rule(world, reconcile, health_rule, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_MODE", "always_on")
    reconcile(SWEEP_EVENT)
    assert health_rule() == "ENABLED"
    for nat in world.nats(AZ_A) + world.nats("us-east-1b"):
        world.ec2.stop_instances(InstanceIds=[nat["InstanceId"]])
    assert "health_rule" not in reconcile(HEALTH_EVENT)
    assert health_rule() == "ENABLED"


def test_a_missing_health_rule_is_reported_not_fatal(world, reconcile, heartbeat):
    summary = reconcile(state_change_event(world.launch_workload(AZ_A), "pending"))
    assert summary["health_rule"] == {"switch": "enable", "result": "error", "error": "ResourceNotFoundException"}
    assert summary["zones"][0]["verdict"] == "create_nat" and "error" not in summary
