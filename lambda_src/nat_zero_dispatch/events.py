"""Turn an invocation's event into an instance event, or a reason to ignore it.

Never raises and never calls AWS: whatever arrives, the worst outcome is an
Ignored with its reason, and nothing is read or invoked for it.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Union

from .config import Config

SOURCE = "aws.ec2"
STATE_CHANGE = "EC2 Instance State-change Notification"
STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")


class InstanceEvent(NamedTuple):
    instance_id: str
    state: str
    event: dict


class Ignored(NamedTuple):
    reason: str


Request = Union[InstanceEvent, Ignored]


def parse_event(event, config: Config) -> Request:
    try:
        return _parse(event, config)
    except Exception as exc:  # a hostile payload must not crash the function
        return Ignored(f"unparseable event: {type(exc).__name__}")


def _parse(event, config: Config) -> Request:
    if not isinstance(event, dict):
        return Ignored(f"event is a {type(event).__name__}, not an object")
    if event.get("source") != SOURCE or event.get("detail-type") != STATE_CHANGE:
        return Ignored("not an EC2 instance state-change notification")
    if event.get("region") != config.region:
        return Ignored("event from another region")
    if config.account_id and event.get("account") != config.account_id:
        return Ignored("event from another account")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Ignored("event detail is not an object")
    instance_id, state = detail.get("instance-id"), detail.get("state")
    if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
        return Ignored("event has no valid instance-id")
    if state not in STATES:
        return Ignored("event has no valid state")
    return InstanceEvent(instance_id, state, event)
