"""ECS tasks with awsvpc networking, modelled on moto's EC2.

Moto 5.2.5 cannot run them (RunTask with awsvpc fails: its NetworkInterface
has no private_dns_name), so a task here is what the reconciler sees of one
in AWS: the "ECS Task State Change" events EventBridge delivers, and the ENI
ECS creates for it in EC2, described as AWS describes a task ENI (Description
"arn:aws:ecs:<region>:<account>:attachment/<uuid>"; AWS also shows it
RequesterManaged, which nothing here reads, and moto's CreateNetworkInterface
cannot set). Only EC2 calls are made, so the model works in-process and
against a moto server alike.

The lifecycle follows ECS's: PROVISIONING before the ENI exists (the event's
attachment names the subnet but no networkInterfaceId yet), the ENI created
and attached while PENDING, RUNNING, then on a stop DEACTIVATING, STOPPING,
DEPROVISIONING (the ENI detached and deleted), STOPPED.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.support.world import REGION, World

ACCOUNT = "123456789012"  # moto's default account
CLUSTER = "apps"


@dataclass
class Task:
    world: World
    az: str
    subnet_id: str
    attachment_id: str
    task_id: str
    group: str
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    eni_id: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{self.task_id}"

    def event(self) -> dict:
        """The task's current state as EventBridge delivers it."""
        details = [{"name": "subnetId", "value": self.subnet_id}]
        if self.eni_id:
            details += [
                {"name": "networkInterfaceId", "value": self.eni_id},
                {"name": "privateIPv4Address", "value": "10.0.16.10"},
            ]
        attachment_status = {"PROVISIONING": "PRECREATED", "STOPPED": "DELETED"}.get(self.last_status, "ATTACHED")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "ECS Task State Change",
            "source": "aws.ecs",
            "account": ACCOUNT,
            "time": "2026-11-23T17:00:00Z",
            "region": REGION,
            "resources": [self.arn],
            "detail": {
                "attachments": [
                    {"id": self.attachment_id, "type": "eni", "status": attachment_status, "details": details}
                ],
                "availabilityZone": self.az,
                "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
                "desiredStatus": self.desired_status,
                "group": self.group,
                "lastStatus": self.last_status,
                "launchType": "FARGATE",
                "taskArn": self.arn,
            },
        }

    def provision(self) -> dict:
        """ECS creates the task's ENI and the task moves to PENDING."""
        response = self.world.ec2.create_network_interface(
            SubnetId=self.subnet_id, Description=f"arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/{self.attachment_id}"
        )
        self.eni_id = response["NetworkInterface"]["NetworkInterfaceId"]
        self.last_status = "PENDING"
        return self.event()

    def run(self) -> dict:
        self.last_status = "RUNNING"
        return self.event()

    def stop(self) -> dict:
        """ECS is asked to stop it: it leaves, its ENI still exists."""
        self.desired_status = "STOPPED"
        self.last_status = "DEACTIVATING"
        return self.event()

    def deprovision(self) -> dict:
        """The ENI is detached and deleted; the task is STOPPED."""
        if self.eni_id:
            self.world.ec2.delete_network_interface(NetworkInterfaceId=self.eni_id)
        self.desired_status = "STOPPED"
        self.last_status = "STOPPED"
        return self.event()


def start_task(world: World, az: str, subnet_id: str | None = None, group: str = "service:web") -> Task:
    """A task ECS has just placed in the AZ's private subnet (PROVISIONING)."""
    task_id = uuid.uuid4().hex
    return Task(world, az, subnet_id or world.zones[az].private_subnet_id, str(uuid.uuid4()), task_id, group)


def running_task(world: World, az: str, **kwargs) -> Task:
    """A task already running, its ENI in place (no event delivered)."""
    task = start_task(world, az, **kwargs)
    task.provision()
    task.run()
    return task
