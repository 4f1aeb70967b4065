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
_SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
_ENI_ID = re.compile(r"eni-[0-9a-f]{8,17}")
# ECS attachment IDs are UUIDs; a task ENI's description ends with one.
_ATTACHMENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TASK_ARN = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task/[A-Za-z0-9_/-]+")
_CLUSTER_ARN = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_-]{1,255}")
# A service's task carries group "service:<service name>" (a standalone
# task "family:<task definition family>"): its service's name, for the
# service's tags.
_SERVICE_GROUP = re.compile(r"service:([A-Za-z0-9_-]{1,255})")
STATE_CHANGE = "EC2 Instance State-change Notification"
SPOT_INTERRUPTION = "EC2 Spot Instance Interruption Warning"
# What EC2 does to a Spot Instance two minutes after the warning.
_INTERRUPTION_ACTIONS = ("terminate", "stop", "hibernate")
TASK_STATE_CHANGE = "ECS Task State Change"
# An ECS task's lifecycle (lastStatus and desiredStatus). From PROVISIONING
# (its ENI being created) until it stops, it is a workload while ECS wants it
# running; once desiredStatus is STOPPED it is leaving, like a stopping instance.
TASK_STATUSES = (
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
    "DELETED",
)
_STARTING_TASK_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING")


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


class TaskStateChange(Record):
    """An ECS task with awsvpc networking changed state. Its attachment's
    subnet places it (no read); its ENI ID is absent while PROVISIONING."""

    task_arn: str
    last_status: str
    desired_status: str
    subnet_id: str
    attachment_id: str
    eni_id: str | None = None
    # Where its tags are read (the ignore tag): its cluster, and its
    # service's name when a service started it; None when absent or malformed.
    cluster_arn: str | None = None
    service_name: str | None = None
    _compared = ("task_arn", "last_status", "desired_status", "subnet_id", "attachment_id", "eni_id")

    @property
    def workload_state(self) -> str | None:
        """The instance state a task in this state counts as: pending while
        starting, running, or None once ECS takes it out of service."""
        if self.desired_status != "RUNNING":
            return None
        if self.last_status in _STARTING_TASK_STATUSES:
            return "pending"
        return "running" if self.last_status == "RUNNING" else None


class Sweep(Record):
    reason: str


class Interruption(Record):
    """EC2 takes this Spot Instance back in two minutes."""

    instance_id: str
    action: str


class Ignored(Record):
    reason: str


Request = Union[StateChange, TaskStateChange, Sweep, Interruption, Ignored]


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
    if event.get("source") == "aws.ecs" and event.get("detail-type") == TASK_STATE_CHANGE:
        return _parse_task(event, config)
    if event.get("source") != "aws.ec2" or event.get("detail-type") not in (STATE_CHANGE, SPOT_INTERRUPTION):
        return Ignored("not an EC2 instance state-change notification")
    detail = _our_detail(event, config)
    if isinstance(detail, Ignored):
        return detail
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
    return StateChange(instance_id, state, _event_time(event.get("time")), _dispatched_instance(event, instance_id))


def _our_detail(event: dict, config: Config) -> dict | Ignored:
    """The event's detail, if the event is of this region and account."""
    region = event.get("region")
    if region is not None and region != config.region:
        return Ignored("event from another region")
    account = event.get("account")
    if config.account_id and account is not None and account != config.account_id:
        return Ignored("event from another account")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Ignored("event detail is not an object")
    return detail


def _parse_task(event: dict, config: Config) -> Request:
    if "ecs" not in config.workload_sources:
        return Ignored("ECS tasks are not a workload source of this deployment")
    detail = _our_detail(event, config)
    if isinstance(detail, Ignored):
        return detail
    task_arn, last, desired = detail.get("taskArn"), detail.get("lastStatus"), detail.get("desiredStatus")
    if not isinstance(task_arn, str) or not _TASK_ARN.fullmatch(task_arn):
        return Ignored("event has no valid taskArn")
    if last not in TASK_STATUSES or desired not in TASK_STATUSES:
        return Ignored("event has no valid task status")
    attachment = _eni_attachment(detail.get("attachments"))
    if attachment is None:
        # bridge/host networking: the task uses its container instance's
        # network, and that instance is the workload.
        return Ignored("task has no awsvpc network attachment")
    attachment_id, details = attachment
    subnet_id, eni_id = details.get("subnetId"), details.get("networkInterfaceId")
    if not isinstance(subnet_id, str) or not _SUBNET_ID.fullmatch(subnet_id):
        return Ignored("task attachment has no valid subnetId")
    if eni_id is not None and (not isinstance(eni_id, str) or not _ENI_ID.fullmatch(eni_id)):
        return Ignored("task attachment has a malformed networkInterfaceId")
    cluster_arn = detail.get("clusterArn")
    cluster_arn = cluster_arn if isinstance(cluster_arn, str) and _CLUSTER_ARN.fullmatch(cluster_arn) else None
    service_name = service_of_group(detail.get("group"))
    return TaskStateChange(task_arn, last, desired, subnet_id, attachment_id, eni_id, cluster_arn, service_name)


def service_of_group(group) -> str | None:
    """The name of the service a task's group names, or None."""
    service = _SERVICE_GROUP.fullmatch(group) if isinstance(group, str) else None
    return service.group(1) if service else None


def _eni_attachment(attachments) -> tuple[str, dict] | None:
    """(attachment ID, its details as a dict) of the task's ENI attachment."""
    if not isinstance(attachments, list):
        return None
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("type") != "eni":
            continue
        attachment_id, details = attachment.get("id"), attachment.get("details")
        if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.fullmatch(attachment_id):
            return None
        if not isinstance(details, list):
            return None
        pairs = [d for d in details if isinstance(d, dict) and isinstance(d.get("name"), str)]
        return attachment_id, {d["name"]: d.get("value") for d in pairs}
    return None


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
