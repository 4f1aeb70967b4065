"""Moto's ECS as the ECS Spot handler sees it: one cluster with Fargate Spot
services, and the task state change events EventBridge delivers for their
tasks. Shared by the unit tests, the security test and the benchmark."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3

from ecs_spot_handler import aws as handler_aws
from playbooks.sandbox.ecs_emulation import age_deployments

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
CLUSTER = "batch"


class EcsWorld:
    """One cluster; Fargate Spot services; events for their tasks."""

    def __init__(self):
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.cluster_arn = self.ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])[
            "cluster"
        ]["clusterArn"]
        self.ecs.register_task_definition(
            family="worker",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "worker", "image": "public.ecr.aws/docker/library/busybox:latest"}],
        )

    def create_service(self, name: str, desired_count: int = 4, deployed_ago: timedelta = timedelta(days=1)) -> dict:
        """A Fargate Spot service whose (only) deployment started `deployed_ago`."""
        service = self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition="worker",
            desiredCount=desired_count,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            # ECS requires the awsvpc subnets of a Fargate service; moto does
            # not, and the handler never reads them, so the tests spare the
            # EC2 backend (a second per test).
        )["service"]
        age_deployments(ACCOUNT, REGION, CLUSTER, name, deployed_ago)
        return service

    def deployments(self, service: str) -> list[dict]:
        return self.ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]["deployments"]

    def interruption_event(self, service: str | None, task: int = 0, stopping_at: datetime | None = None, **changes):
        """An 'ECS Task State Change' as EventBridge delivers it for a Spot interruption."""
        stopping_at = stopping_at or datetime.now(timezone.utc) - timedelta(seconds=5)
        task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{task:032x}"
        detail = {
            "clusterArn": self.cluster_arn,
            "taskArn": task_arn,
            "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/worker:1",
            "capacityProviderName": "FARGATE_SPOT",
            "launchType": "FARGATE",
            "lastStatus": "RUNNING",
            "desiredStatus": "STOPPED",
            "stopCode": "SpotInterruption",
            "stoppedReason": "Your Spot Task was interrupted.",
            "stoppingAt": _iso(stopping_at),
            "updatedAt": _iso(stopping_at),
        }
        if service is not None:
            detail["group"] = f"service:{service}"
            detail["startedBy"] = "ecs-svc/1234567890123456789"
        event = {
            "version": "0",
            "id": f"{task:08x}-0000-0000-0000-000000000000",
            "detail-type": "ECS Task State Change",
            "source": "aws.ecs",
            "account": ACCOUNT,
            "time": _iso(stopping_at),
            "region": REGION,
            "resources": [task_arn],
            "detail": detail,
        }
        event.update(changes)
        return event


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def set_handler_environment(monkeypatch) -> None:
    """What the role sets on the function, plus moto's credentials; no client cached."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("ECS_SPOT_HANDLER_REGION", REGION)
    monkeypatch.setenv("ECS_SPOT_HANDLER_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("ECS_SPOT_HANDLER_LOG_LEVEL", "INFO")
    handler_aws._clients.clear()
