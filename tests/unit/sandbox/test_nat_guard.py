"""The demo's stand-in for the NAT's guard writes what the real guard writes
(nat-bootstrap.sh), on the deployment's running NATs only, and nothing for a
NAT crashed by hand: the reconciler reads the first as forwarding and finds
the second's report ageing; the relay skips time for the reconciler."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from nat_zero.config import DATAPLANE_TAG, DEPLOYMENT_TAG
from nat_zero.decision import FORWARDING
from nat_zero.observe import dataplane_report
from playbooks.sandbox.nat_guard import REPORT_TIME, EmulatedGuard, report_value
from tests.support.world import AMI

BOOTSTRAP = Path(__file__).resolve().parents[3] / "roles" / "nat_zero" / "files" / "nat-bootstrap.sh"


def test_the_report_has_the_real_guards_format():
    # The real guard's tag value: "<status> {now}", {now} being the UTC time in the reconciler's format.
    guard = BOOTSTRAP.read_text()
    assert f'"now": now.strftime("{REPORT_TIME}")' in guard
    assert "Tag.1.Value=${status} {now}" in guard
    at = datetime(2026, 12, 1, 21, 5, 9, tzinfo=timezone.utc)
    assert report_value(FORWARDING, at) == "forwarding 2026-12-01T21:05:09Z"


@pytest.fixture
def ec2():
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


def instance(ec2, **tags) -> str:
    tag_specs = (
        [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    )
    return ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, TagSpecifications=tag_specs)[
        "Instances"
    ][0]["InstanceId"]


def described(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_running_nats_of_the_deployment_report_forwarding_and_a_hung_one_does_not(ec2):
    clock = [datetime.now(timezone.utc) + timedelta(minutes=1)]
    healthy, hung, stopped = (instance(ec2, **{DEPLOYMENT_TAG: "demo"}) for _ in range(3))
    other_deployment, workload = instance(ec2, **{DEPLOYMENT_TAG: "other"}), instance(ec2)
    ec2.stop_instances(InstanceIds=[stopped])
    guard = EmulatedGuard(ec2, "demo", lambda: clock[0])

    guard.report()
    guard.hang(hung)
    clock[0] += timedelta(minutes=2)
    guard.report()

    tags = {i: {t["Key"]: t["Value"] for t in described(ec2, i).get("Tags", ())} for i in (healthy, hung, stopped)}
    assert tags[healthy][DATAPLANE_TAG] == report_value(FORWARDING, clock[0])
    # The hung NAT's last report is from before it hung: two minutes old.
    assert tags[hung][DATAPLANE_TAG] == report_value(FORWARDING, clock[0] - timedelta(minutes=2))
    assert DATAPLANE_TAG not in tags[stopped]
    for untouched in (other_deployment, workload):
        assert DATAPLANE_TAG not in {t["Key"] for t in described(ec2, untouched).get("Tags", ())}
    # What the reconciler makes of it.
    assert dataplane_report(described(ec2, healthy), "running") == FORWARDING


def test_skipping_time_moves_the_reconcilers_clock_not_the_wall_clock(monkeypatch):
    import nat_zero.handler
    from playbooks.sandbox.relay import Relay

    monkeypatch.setattr(nat_zero.handler, "now", nat_zero.handler.now)  # restored after the test
    relay = Relay.__new__(Relay)  # no emulator: only the clock is under test
    relay.handler, relay.skipped = nat_zero.handler.handler, timedelta(0)

    relay.skip_time(900)
    relay.skip_time(150)

    assert relay.skipped == timedelta(seconds=1050)
    wall_clock = datetime.now(timezone.utc)
    assert nat_zero.handler.now() >= wall_clock + timedelta(seconds=1050)
