"""moto knows none of the sandbox's modelled Fargate tasks: the sandbox answers
the reconciler's ECS reads from them, so the demo's scale-down search finds a
running task's ENI in use, and a stopped task's no longer."""

from __future__ import annotations

import types

import boto3
import pytest
from moto import mock_aws

from nat_zero.ecs import TaskTags
from playbooks.sandbox.ecs_tasks import answer_reconciler_ecs_reads, new_task


@pytest.fixture
def reconciler():
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        module = types.SimpleNamespace(ecs_client=lambda config, counter: boto3.client("ecs", region_name="us-east-1"))
        yield module, new_task(ec2, "us-east-1a", subnet["SubnetId"])


def test_a_running_task_is_in_use_and_a_stopped_one_is_not(reconciler):
    module, task = reconciler
    answer_reconciler_ecs_reads(module, lambda: [task])
    tags = TaskTags(module.ecs_client(None, None), ("nat-zero:ignore", "true"))
    task.provision()
    task.run()

    assert tags.any_in_use([task.attachment_id]) is True
    assert tags.error is None
    assert tags.task_ignored(task.arn, None, None) is False

    task.stop()
    assert tags.any_in_use([task.attachment_id]) is False
