"""A state change handed over by the region's dispatcher carries the instance
it read; the reconciler takes it only for the event's own instance."""

from datetime import datetime, timezone

from nat_zero.config import DISPATCHED_INSTANCE_KEY, load_config
from nat_zero.events import StateChange, parse_event
from tests.support.lambda_env import GOOD_ENV
from tests.support.world import state_change_event

CONFIG = load_config(dict(GOOD_ENV, NAT_ZERO_ACCOUNT_ID="123456789012"))
IID = "i-0123456789abcdef0"
LAUNCHED = datetime(2026, 11, 23, 16, 59, 30, tzinfo=timezone.utc)


def dispatched(instance) -> dict:
    return {**state_change_event(IID, "running"), DISPATCHED_INSTANCE_KEY: instance}


def test_carried_instance_comes_with_its_launch_time_as_a_datetime():
    carried = {"InstanceId": IID, "VpcId": "vpc-0123456789abcdef0", "LaunchTime": LAUNCHED.isoformat()}

    request = parse_event(dispatched(carried), CONFIG)

    assert request == StateChange(IID, "running")
    assert request.instance == {**carried, "LaunchTime": LAUNCHED}


def test_instance_of_another_id_is_not_taken():
    request = parse_event(dispatched({"InstanceId": "i-0fedcba9876543210", "LaunchTime": LAUNCHED.isoformat()}), CONFIG)

    assert request == StateChange(IID, "running")
    assert request.instance is None


def test_carried_instance_that_is_not_an_object_is_not_taken():
    assert parse_event(dispatched(["i-0123456789abcdef0"]), CONFIG).instance is None


def test_unreadable_launch_time_is_dropped_not_trusted():
    request = parse_event(dispatched({"InstanceId": IID, "LaunchTime": "yesterday"}), CONFIG)

    assert "LaunchTime" not in request.instance


def test_direct_event_carries_no_instance():
    assert parse_event(state_change_event(IID, "running"), CONFIG).instance is None
