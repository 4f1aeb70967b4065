"""Whatever arrives, parse_event answers with a request or a reason to ignore it."""

import pytest

from nat_zero.config import load_config
from nat_zero.events import Ignored, Interruption, StateChange, Sweep, parse_event
from tests.support.lambda_env import GOOD_ENV
from tests.support.world import state_change_event

ENV = dict(GOOD_ENV, NAT_ZERO_ACCOUNT_ID="123456789012")
CONFIG = load_config(ENV)
IID = "i-0123456789abcdef0"


def test_state_change_is_parsed():
    assert parse_event(state_change_event(IID, "running"), CONFIG) == StateChange(IID, "running")


def test_reconcile_action_is_a_sweep():
    assert parse_event({"action": "reconcile"}, CONFIG) == Sweep("requested")


def test_health_action_is_a_health_sweep():
    assert parse_event({"action": "health"}, CONFIG) == Sweep("health")


@pytest.mark.parametrize("action", ["terminate", "stop", "hibernate"])
def test_spot_interruption_warning_is_parsed(action):
    event = with_field("detail-type", "EC2 Spot Instance Interruption Warning")
    event["detail"] = {"instance-id": IID, "instance-action": action}
    assert parse_event(event, CONFIG) == Interruption(IID, action)


def with_detail(**detail):
    event = state_change_event(IID, "running")
    event["detail"] = detail
    return event


def with_field(key, value):
    event = state_change_event(IID, "running")
    event[key] = value
    return event


HOSTILE = {
    "none": None,
    "string": "reconcile",
    "list": [{"action": "reconcile"}],
    "number": 42,
    "empty": {},
    "unknown_action": {"action": "delete-everything"},
    "action_wrong_type": {"action": ["reconcile"]},
    "other_source": with_field("source", "aws.ecs"),
    "other_detail_type": with_field("detail-type", "EC2 Instance Rebalance Recommendation"),
    "interruption_without_action": with_field("detail-type", "EC2 Spot Instance Interruption Warning"),
    "interruption_bad_action": dict(
        with_field("detail-type", "EC2 Spot Instance Interruption Warning"),
        detail={"instance-id": IID, "instance-action": "explode"},
    ),
    "interruption_bad_instance": dict(
        with_field("detail-type", "EC2 Spot Instance Interruption Warning"),
        detail={"instance-id": "i-zz\n", "instance-action": "terminate"},
    ),
    "health_with_detail_type": {"action": "health", "detail-type": "Scheduled Event"},
    "other_region": with_field("region", "eu-west-1"),
    "other_account": with_field("account", "999999999999"),
    "detail_missing": {k: v for k, v in state_change_event(IID, "running").items() if k != "detail"},
    "detail_string": with_field("detail", "i-0123456789abcdef0"),
    "instance_id_missing": with_detail(state="running"),
    "instance_id_number": with_detail(**{"instance-id": 12345, "state": "running"}),
    "instance_id_malformed": with_detail(**{"instance-id": "i-XYZ; DROP", "state": "running"}),
    "instance_id_huge": with_detail(**{"instance-id": "i-" + "0" * 100000, "state": "running"}),
    "state_missing": with_detail(**{"instance-id": IID}),
    "state_unknown": with_detail(**{"instance-id": IID, "state": "exploded"}),
    "state_list": with_detail(**{"instance-id": IID, "state": ["running"]}),
    "state_dict": with_detail(**{"instance-id": IID, "state": {"Name": "running"}}),
    "huge_payload": {"padding": "x" * 1_000_000, "source": "aws.ec2"},
    "action_in_state_change": dict(state_change_event(IID, "running"), action="reconcile"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_malformed_and_hostile_events_are_ignored(name):
    request = parse_event(HOSTILE[name], CONFIG)
    assert isinstance(request, Ignored)
    assert request.reason


def test_event_without_region_or_account_is_accepted():
    event = state_change_event(IID, "stopped")
    del event["region"], event["account"]
    assert parse_event(event, CONFIG) == StateChange(IID, "stopped")
