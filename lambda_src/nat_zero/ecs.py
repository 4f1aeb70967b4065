"""Whether ECS tasks carry the ignore tag (on the task or on its service).

Neither the "ECS Task State Change" event nor the task's ENI carries tags
(ECS propagates none to the ENI: aws/containers-roadmap#567), so they are
read from ECS, and only where they change a decision:

- a task event: ListTagsForResource on the task ARN, then, for a service's
  task not ignored by its own tags, on the service ARN (long ARN format,
  service/<cluster>/<name>, from the event's clusterArn and group). A task
  gets tags only as RunTask's, or propagated (propagateTags TASK_DEFINITION,
  or SERVICE for a service's task); a tag on the service alone is on the
  service only.
- a look that finds tasks only by their ENIs (the sweep, a leaving
  workload's search): the ENI's description names the task's attachment
  (arn:aws:ecs:<region>:<account>:attachment/<id>), not the task or its
  cluster, so the tasks are found by ListClusters, ListTasks per cluster and
  DescribeTasks with their tags, matching the attachment IDs; the search
  ends at the first task in use that is not ignored.

ListTasks with desiredStatus RUNNING is ECS's own answer to "which tasks does
it want running": an ENI whose task it does not list belongs to a task that
is leaving (DEACTIVATING to STOPPED, its ENI not yet deleted) and keeps no
NAT. A read that fails counts every task as in use: a NAT kept a sweep longer
costs cents, a workload without its way out does not.
"""

from __future__ import annotations

from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from .events import service_of_group

# DescribeTasks takes at most this many tasks; ListTasks pages as many.
_TASK_PAGE = 100


def service_arn(cluster_arn: str, service_name: str) -> str:
    """The service's ARN in the long format, from its cluster's ARN."""
    prefix, _separator, cluster = cluster_arn.partition(":cluster/")
    return f"{prefix}:service/{cluster}/{service_name}"


def _has_tag(tags: Iterable[dict] | None, tag: tuple[str, str]) -> bool:
    return any(t.get("key") == tag[0] and t.get("value") == tag[1] for t in tags or ())


def _attachment_ids(task: dict) -> set[str]:
    # DescribeTasks calls the ENI attachment "ElasticNetworkInterface" (the event "eni").
    return {a.get("id") for a in task.get("attachments") or () if a.get("type") in ("ElasticNetworkInterface", "eni")}


class TaskTags:
    """One invocation's reads of ECS tags (a service's are read once)."""

    def __init__(self, client, ignore_tag: tuple[str, str]):
        self.client = client
        self.ignore_tag = ignore_tag
        self._services: dict[str, bool] = {}
        # The first ECS error met (the reads are then taken as "in use").
        self.error: str | None = None

    def task_ignored(self, task_arn: str, cluster_arn: str | None, service_name: str | None) -> bool:
        """Whether the task of an event, or its service, has the ignore tag."""
        try:
            tags = self.client.list_tags_for_resource(resourceArn=task_arn).get("tags")
            return _has_tag(tags, self.ignore_tag) or self._service_ignored(cluster_arn, service_name)
        except (ClientError, BotoCoreError) as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"[:300]
            return False

    def any_in_use(self, attachment_ids: Iterable[str]) -> bool:
        """Whether any of these task attachments belongs to a task ECS wants
        running that is not ignored (all of them, when ECS cannot be read)."""
        wanted = set(attachment_ids)
        if not wanted:
            return False
        try:
            for cluster_arn in self._clusters():
                for task in self._cluster_tasks(cluster_arn):
                    found = _attachment_ids(task) & wanted
                    if not found:
                        continue
                    if not self._ignored(task, cluster_arn):
                        return True
                    wanted -= found
                    if not wanted:
                        return False
        except (ClientError, BotoCoreError) as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"[:300]
            return True
        return False

    def _ignored(self, task: dict, cluster_arn: str) -> bool:
        return _has_tag(task.get("tags"), self.ignore_tag) or self._service_ignored(
            cluster_arn, service_of_group(task.get("group"))
        )

    def _service_ignored(self, cluster_arn: str | None, service_name: str | None) -> bool:
        if not cluster_arn or not service_name:
            return False
        arn = service_arn(cluster_arn, service_name)
        if arn not in self._services:
            tags = self.client.list_tags_for_resource(resourceArn=arn).get("tags")
            self._services[arn] = _has_tag(tags, self.ignore_tag)
        return self._services[arn]

    def _clusters(self):
        for page in self.client.get_paginator("list_clusters").paginate():
            yield from page.get("clusterArns") or ()

    def _cluster_tasks(self, cluster_arn: str):
        """The cluster's tasks ECS wants running (PROVISIONING to RUNNING),
        described with their tags, a page at a time."""
        pages = self.client.get_paginator("list_tasks").paginate(
            cluster=cluster_arn, desiredStatus="RUNNING", PaginationConfig={"PageSize": _TASK_PAGE}
        )
        for page in pages:
            arns = page.get("taskArns") or []
            if arns:
                described = self.client.describe_tasks(cluster=cluster_arn, tasks=arns, include=["TAGS"])
                yield from described.get("tasks") or ()
