"""Turn an invocation's event into a request, or a reason to ignore it.

Never raises: whatever arrives, the worst outcome is an Ignored request.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Union

from .config import Config
from .decision import INSTANCE_STATES
from .record import Record

_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
STATE_CHANGE = "EC2 Instance State-change Notification"
SPOT_INTERRUPTION = "EC2 Spot Instance Interruption Warning"
# What EC2 does to a Spot Instance two minutes after the warning.
_INTERRUPTION_ACTIONS = ("terminate", "stop", "hibernate")


class StateChange(Record):
    instance_id: str
    state: str
    # When EC2 changed the state (the event's "time"; None when absent or
    # malformed). It tells a late event about an earlier run of the instance
    # from a fresh one; it is not part of what the request asks.
    time: datetime | None = None
    _compared = ("instance_id", "state")


class Sweep(Record):
    reason: str


class Interruption(Record):
    """EC2 takes this Spot Instance back in two minutes."""

    instance_id: str
    action: str


class Ignored(Record):
    reason: str


Request = Union[StateChange, Sweep, Interruption, Ignored]


def parse_event(event, config: Config) -> Request:
    try:
        return _parse(event, config)
    except Exception as exc:  # a hostile payload must not crash the function
        return Ignored(f"unparseable event: {type(exc).__name__}")


def _parse(event, config: Config) -> Request:
    if not isinstance(event, dict):
        return Ignored(f"event is a {type(event).__name__}, not an object")
    if "action" in event:
        if event.get("action") == "reconcile" and "detail-type" not in event:
            return Sweep("requested")
        if event.get("action") == "health" and "detail-type" not in event:
            return Sweep("health")
        return Ignored("unknown action")
    if event.get("source") != "aws.ec2" or event.get("detail-type") not in (STATE_CHANGE, SPOT_INTERRUPTION):
        return Ignored("not an EC2 instance state-change notification")
    region = event.get("region")
    if region is not None and region != config.region:
        return Ignored("event from another region")
    account = event.get("account")
    if config.account_id and account is not None and account != config.account_id:
        return Ignored("event from another account")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Ignored("event detail is not an object")
    instance_id, state = detail.get("instance-id"), detail.get("state")
    # fullmatch: "$" alone would let a trailing newline through, and the
    # malformed ID would then read as unknown and cost a whole sweep.
    if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
        return Ignored("event has no valid instance-id")
    if event["detail-type"] == SPOT_INTERRUPTION:
        action = detail.get("instance-action")
        if action not in _INTERRUPTION_ACTIONS:
            return Ignored("interruption warning has no valid instance-action")
        return Interruption(instance_id, action)
    if state not in INSTANCE_STATES:
        return Ignored("event has no valid state")
    return StateChange(instance_id, state, _event_time(event.get("time")))


def _event_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
