"""ECS tasks with awsvpc networking, modelled on moto's EC2 (the sandbox demo
and the tests).

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

import json
import random
import uuid
from dataclasses import dataclass

from botocore.awsrequest import AWSResponse

REGION = "us-east-1"  # the sandbox's and the tests' region
ACCOUNT = "123456789012"  # moto's default account
CLUSTER = "apps"


@dataclass
class Task:
    ec2: object  # a boto3 EC2 client of the account
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
            "id": f"{self.task_id}-{self.last_status}",
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
        response = self.ec2.create_network_interface(
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
            self.ec2.delete_network_interface(NetworkInterfaceId=self.eni_id)
        self.desired_status = "STOPPED"
        self.last_status = "STOPPED"
        return self.event()


def new_task(ec2, az: str, subnet_id: str, group: str = "service:web", rng: random.Random | None = None) -> Task:
    """A task ECS has just placed in the subnet (PROVISIONING). IDs from rng
    when given (a simulation seed fixes them), else random."""
    draw = rng.getrandbits if rng else random.SystemRandom().getrandbits
    attachment_id, task_id = uuid.UUID(int=draw(128)), uuid.UUID(int=draw(128))
    return Task(ec2, az, subnet_id, str(attachment_id), task_id.hex, group)


def answer_reconciler_ecs_reads(handler_module, tasks) -> None:
    """moto knows none of the modelled tasks, so the reconciler's ECS reads
    (ListClusters, ListTasks, DescribeTasks, ListTagsForResource: the ignore
    tag of tasks) are answered from them, as ECS would answer: `tasks()`
    gives the tasks of the moment. handler_module is the loaded reconciler's."""
    create_client = handler_module.ecs_client

    def answers(operation, request):
        wanted = [t for t in tasks() if t.last_status != "STOPPED"]
        if operation == "ListClusters":
            return {"clusterArns": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"]}
        if operation == "ListTasks":
            status = request.get("desiredStatus", "RUNNING")
            return {"taskArns": [t.arn for t in wanted if t.desired_status == status]}
        if operation == "DescribeTasks":
            described = [t for t in wanted if t.arn in request.get("tasks", ())]
            return {
                "tasks": [
                    {
                        "taskArn": t.arn,
                        "group": t.group,
                        "lastStatus": t.last_status,
                        "desiredStatus": t.desired_status,
                        "attachments": [{"id": t.attachment_id, "type": "ElasticNetworkInterface"}],
                        "tags": [],
                    }
                    for t in described
                ],
                "failures": [],
            }
        return {"tags": []}  # ListTagsForResource: the demo's tasks and service carry none

    def ecs_client(config, counter):
        client = create_client(config, counter)
        if not getattr(client, "_answered_by_sandbox", False):

            def answer(model, params, **_):
                request = json.loads(params.get("body") or b"{}")
                return AWSResponse(params.get("url", ""), 200, {}, None), answers(model.name, request)

            client.meta.events.register("before-call.ecs.*", answer)
            client._answered_by_sandbox = True
        return client

    handler_module.ecs_client = ecs_client
