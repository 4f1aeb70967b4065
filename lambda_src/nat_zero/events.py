"""Turn an invocation's event into a request, or a reason to ignore it.

Never raises: whatever arrives, the worst outcome is an Ignored request.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Union

from .config import DISPATCHED_INSTANCE_KEY, Config
from .decision import INSTANCE_STATES
from .record import Record

_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
STATE_CHANGE = "EC2 Instance State-change Notification"


class StateChange(Record):
    instance_id: str
    state: str
    # When EC2 changed the state (the event's "time"; None when absent or
    # malformed). It tells a late event about an earlier run of the instance
    # from a fresh one; it is not part of what the request asks.
    time: datetime | None = None
    # The instance as the region's dispatcher read it (lambda_src/nat_zero_dispatch),
    # so this reconciler does not read it again; None when the event came directly.
    instance: dict | None = None
    _compared = ("instance_id", "state")


class Sweep(Record):
    reason: str


class Ignored(Record):
    reason: str


Request = Union[StateChange, Sweep, Ignored]


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
        return Ignored("unknown action")
    if event.get("source") != "aws.ec2" or event.get("detail-type") != STATE_CHANGE:
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
    if state not in INSTANCE_STATES:
        return Ignored("event has no valid state")
    return StateChange(instance_id, state, _event_time(event.get("time")), _dispatched_instance(event, instance_id))


def _dispatched_instance(event: dict, instance_id: str) -> dict | None:
    """The instance the dispatcher carried, if it is this event's; its
    LaunchTime back to a datetime (JSON carried it as ISO 8601), or dropped
    when unreadable, as the reconciler compares it only as a datetime."""
    instance = event.get(DISPATCHED_INSTANCE_KEY)
    if not isinstance(instance, dict) or instance.get("InstanceId") != instance_id:
        return None
    instance = dict(instance)
    launched = instance.pop("LaunchTime", None)
    try:
        instance["LaunchTime"] = datetime.fromisoformat(launched)
    except (TypeError, ValueError):
        pass
    return instance


def _event_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
