"""ECS tasks in a test world (the model: playbooks/sandbox/ecs_tasks.py), and
ECS's answers about them on the reconciler's ECS client.

Moto cannot run an awsvpc task, so it knows none of the modelled tasks (its
ListTagsForResource on one raises NotImplementedError). EcsApi answers the
reconciler's ECS reads from the modelled tasks, at the botocore layer, as ECS
does:

- ListClusters: the clusters of the tasks; ListTasks(cluster, desiredStatus
  RUNNING): the tasks ECS wants running (PROVISIONING to RUNNING), not the
  ones leaving; DescribeTasks: at most 100 tasks a call (more is
  InvalidParameterException), tags only with include=["TAGS"], the ENI
  attachment of type "ElasticNetworkInterface" (the event says "eni").
- ListTagsForResource on a task or a service (long ARN format,
  service/<cluster>/<name>). A task carries its own tags and, only when its
  service propagates them (propagateTags SERVICE), its service's as they were
  when it started: a tag put on the service later stays on the service.
  An ARN ECS does not know is InvalidParameterException.
"""

from __future__ import annotations

import json

from botocore.awsrequest import AWSResponse

from playbooks.sandbox.ecs_tasks import ACCOUNT, CLUSTER, REGION, Task, new_task
from tests.support.world import World

__all__ = ["EcsApi", "Task", "ecs_api", "new_task", "running_task", "start_task"]

# ECS's limit on the tasks of one DescribeTasks.
DESCRIBE_TASKS_LIMIT = 100
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"


def service_arn(name: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}"


class EcsApi:
    """The account's ECS as the reconciler reads it: the modelled tasks, and
    the tags of tasks and services."""

    def __init__(self):
        self.tasks: list[Task] = []
        self.task_tags: dict[str, dict[str, str]] = {}
        self.service_tags: dict[str, dict[str, str]] = {}
        self.propagating_services: set[str] = set()
        self.calls: list[str] = []

    def add(self, task: Task, tags: dict[str, str] | None = None) -> Task:
        """A task ECS has just started, with RunTask's tags and what its
        service propagates."""
        service = task.group.removeprefix("service:") if task.group.startswith("service:") else None
        propagated = self.service_tags.get(service, {}) if service in self.propagating_services else {}
        self.task_tags[task.arn] = {**propagated, **(tags or {})}
        self.tasks.append(task)
        return task

    def tag_task(self, task: Task, tags: dict[str, str]) -> None:
        """TagResource on the task (before any event of it is delivered)."""
        self.task_tags[task.arn].update(tags)

    def tag_service(self, name: str, tags: dict[str, str], propagate: bool = False) -> None:
        self.service_tags.setdefault(name, {}).update(tags)
        if propagate:
            self.propagating_services.add(name)

    def install(self, client) -> None:
        client.meta.events.register("before-call.ecs.*", self._answer)

    def _answer(self, model, params, **_):
        self.calls.append(model.name)
        request = json.loads(params.get("body") or b"{}")
        answer = getattr(self, f"_{model.name}")(request)
        if "Error" in answer:
            return AWSResponse("https://ecs.amazonaws.com/", 400, {}, None), answer
        return AWSResponse("https://ecs.amazonaws.com/", 200, {}, None), answer

    def _ListClusters(self, _request):
        return {"clusterArns": [CLUSTER_ARN] if self.tasks else []}

    def _ListTasks(self, request):
        status = request.get("desiredStatus", "RUNNING")
        in_cluster = request.get("cluster") in (CLUSTER, CLUSTER_ARN)
        return {"taskArns": [t.arn for t in self.tasks if in_cluster and t.desired_status == status]}

    def _DescribeTasks(self, request):
        arns = request.get("tasks") or []
        if len(arns) > DESCRIBE_TASKS_LIMIT:
            return _error("InvalidParameterException", "Tasks cannot be longer than 100.")
        with_tags = "TAGS" in (request.get("include") or [])
        by_arn = {t.arn: t for t in self.tasks}
        described = [self._describe(by_arn[a], with_tags) for a in arns if a in by_arn]
        return {"tasks": described, "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in by_arn]}

    def _describe(self, task: Task, with_tags: bool) -> dict:
        details = [{"name": "subnetId", "value": task.subnet_id}]
        if task.eni_id:
            details.append({"name": "networkInterfaceId", "value": task.eni_id})
        described = {
            "taskArn": task.arn,
            "clusterArn": CLUSTER_ARN,
            "group": task.group,
            "lastStatus": task.last_status,
            "desiredStatus": task.desired_status,
            "attachments": [
                {"id": task.attachment_id, "type": "ElasticNetworkInterface", "status": "ATTACHED", "details": details}
            ],
        }
        if with_tags:
            described["tags"] = _tag_list(self.task_tags.get(task.arn, {}))
        return described

    def _ListTagsForResource(self, request):
        arn = request.get("resourceArn")
        if arn in self.task_tags:
            return {"tags": _tag_list(self.task_tags[arn])}
        names = set(self.service_tags) | {
            t.group.removeprefix("service:") for t in self.tasks if t.group.startswith("service:")
        }
        services = {service_arn(name): self.service_tags.get(name, {}) for name in names}
        if arn in services:
            return {"tags": _tag_list(services[arn])}
        return _error("InvalidParameterException", "The specified resource is not valid.")


def _tag_list(tags: dict[str, str]) -> list[dict]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def _error(code: str, message: str) -> dict:
    return {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def ecs_api(world: World) -> EcsApi:
    """The world's ECS (one per world)."""
    return vars(world).setdefault("_ecs_api", EcsApi())


def start_task(
    world: World, az: str, subnet_id: str | None = None, tags: dict[str, str] | None = None, **kwargs
) -> Task:
    """A task ECS has just placed in the AZ's private subnet (or subnet_id)."""
    task = new_task(world.ec2, az, subnet_id or world.zones[az].private_subnet_id, **kwargs)
    return ecs_api(world).add(task, tags)


def running_task(world: World, az: str, **kwargs) -> Task:
    """A task already running, its ENI in place (no event delivered)."""
    task = start_task(world, az, **kwargs)
    task.provision()
    task.run()
    return task
