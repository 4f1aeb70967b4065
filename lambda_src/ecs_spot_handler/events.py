"""Turn an invocation's event into an Interruption, or a reason to ignore it.

Never raises and never calls AWS: whatever arrives, the worst outcome is an
Ignored with its reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import NamedTuple, Union

from .config import Config

SOURCE = "aws.ecs"
DETAIL_TYPE = "ECS Task State Change"
STOP_CODE = "SpotInterruption"
SERVICE_GROUP_PREFIX = "service:"

_CLUSTER_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):cluster/(?P<name>[A-Za-z0-9_-]{1,255})$"
)
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class Interruption(NamedTuple):
    """A task of an ECS service that Fargate Spot reclaims."""

    cluster_arn: str
    service: str
    task_arn: str
    # When ECS began stopping the task (the Spot two-minute warning); every
    # later event of the same task carries the same instant.
    interrupted_at: datetime


class Ignored(NamedTuple):
    reason: str
    cluster_arn: str | None = None
    task_arn: str | None = None


Request = Union[Interruption, Ignored]


def parse_event(event, config: Config) -> Request:
    try:
        return _parse(event, config)
    except Exception as exc:  # a hostile payload must not crash the function
        return Ignored(f"unparseable event: {type(exc).__name__}")


def _parse(event, config: Config) -> Request:
    if not isinstance(event, dict):
        return Ignored(f"event is a {type(event).__name__}, not an object")
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        return Ignored("not an ECS task state change")
    if event.get("region") != config.region:
        return Ignored("event from another region")
    if config.account_id and event.get("account") != config.account_id:
        return Ignored("event from another account")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Ignored("event has no detail object")
    if detail.get("stopCode") != STOP_CODE:
        return Ignored("task not stopped by a Spot interruption")
    cluster_arn, task_arn = detail.get("clusterArn"), detail.get("taskArn")
    cluster = _CLUSTER_ARN.match(cluster_arn) if isinstance(cluster_arn, str) else None
    task_arn = task_arn if isinstance(task_arn, str) else None
    if cluster is None:
        return Ignored("detail.clusterArn is not an ECS cluster ARN", task_arn=task_arn)
    if cluster["region"] != config.region or (config.account_id and cluster["account"] != config.account_id):
        return Ignored("cluster of another region or account", cluster_arn, task_arn)
    service = _service_of(detail.get("group"))
    if service is None:
        return Ignored("standalone task (detail.group is not service:NAME)", cluster_arn, task_arn)
    interrupted_at = _interruption_time(event, detail)
    if interrupted_at is None:
        return Ignored("event carries no parseable time", cluster_arn, task_arn)
    return Interruption(cluster_arn, service, task_arn or "", interrupted_at)


def _service_of(group) -> str | None:
    if not isinstance(group, str) or not group.startswith(SERVICE_GROUP_PREFIX):
        return None
    name = group[len(SERVICE_GROUP_PREFIX) :]
    return name if _SERVICE_NAME.match(name) else None


def _interruption_time(event: dict, detail: dict) -> datetime | None:
    """The earliest instant the event gives for the interruption: stoppingAt,
    else stoppedAt, else the event's own time."""
    for value in (detail.get("stoppingAt"), detail.get("stoppedAt"), event.get("time")):
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None


def parse_time(value) -> datetime | None:
    """An EventBridge/ECS timestamp ('2026-12-01T13:22:40.123Z') as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc)
