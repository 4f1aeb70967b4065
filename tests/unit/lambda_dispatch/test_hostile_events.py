"""Whatever arrives, a malformed event reads nothing and invokes nothing."""

from __future__ import annotations

import pytest

from nat_zero_dispatch.config import load_config
from nat_zero_dispatch.events import Ignored, parse_event
from tests.support.fleet import ACCOUNT
from tests.support.world import REGION, state_change_event

GOOD_ID = "i-0123456789abcdef0"


def _with(**changes):
    event = state_change_event(GOOD_ID, "running", account=ACCOUNT)
    for key, value in changes.items():
        event[key.replace("_", "-")] = value
    return event


def _detail(**detail):
    event = state_change_event(GOOD_ID, "running", account=ACCOUNT)
    event["detail"] = detail
    return event


HOSTILE = {
    "none": None,
    "list": [state_change_event(GOOD_ID, "running")],
    "string": "EC2 Instance State-change Notification",
    "empty": {},
    "sweep action": {"action": "reconcile"},
    "other source": _with(source="aws.ecs"),
    "other detail type": _with(detail_type="EC2 Spot Instance Interruption Warning"),
    "other region": _with(region="eu-west-1"),
    "no region": {k: v for k, v in _with().items() if k != "region"},
    "other account": _with(account="210987654321"),
    "detail a list": _with(detail=["i-0123456789abcdef0"]),
    "id with newline": _detail(**{"instance-id": GOOD_ID + "\n", "state": "running"}),
    "id of a volume": _detail(**{"instance-id": "vol-0123456789abcdef0", "state": "running"}),
    "id a number": _detail(**{"instance-id": 12345, "state": "running"}),
    "unknown state": _detail(**{"instance-id": GOOD_ID, "state": "exploded"}),
    "no state": _detail(**{"instance-id": GOOD_ID}),
    "keys not strings": {1: 2, (3,): 4},
}


@pytest.mark.parametrize("event", HOSTILE.values(), ids=HOSTILE.keys())
def test_malformed_event_reads_nothing_and_invokes_nothing(event, dispatch, lambda_service):
    summary = dispatch(event)

    assert summary["outcome"] == "ignored"
    assert summary["reason"]
    assert summary["aws_calls"] == {}
    assert lambda_service.invocations == []


def test_parse_never_raises_on_an_event_whose_get_fails():
    class Exploding(dict):
        def get(self, *_):
            raise RuntimeError("boom")

    request = parse_event(Exploding(), load_config({"NAT_ZERO_REGION": REGION}))

    assert request == Ignored("unparseable event: RuntimeError")
