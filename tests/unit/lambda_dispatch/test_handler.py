"""The dispatcher reads an instance once and hands its event to the
reconciler of its VPC, and to no other."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from nat_zero_dispatch import aws as dispatch_aws
from nat_zero_dispatch import handler as dispatch_handler
from nat_zero_dispatch.config import INSTANCE_KEY
from tests.support.ec2_fidelity import scrub_terminated
from tests.support.fleet import ACCOUNT, reconciler_name
from tests.support.world import AZS, REGION, build_world, state_change_event

AZ = AZS[0]


def event_of(instance_id: str, state: str = "running") -> dict:
    return state_change_event(instance_id, state, account=ACCOUNT)


def test_event_goes_only_to_the_reconciler_of_the_instance_vpc(fleet, dispatch, lambda_service):
    workload = fleet.worlds["fleet-1"].launch_workload(AZ)

    summary = dispatch(event_of(workload))

    assert summary["outcome"] == "dispatched"
    assert summary["invoked"] == [fleet.arns["fleet-1"]]
    assert summary["aws_calls"]["ec2:DescribeInstances"] == 1
    [invocation] = lambda_service.invocations
    assert invocation["type"] == "Event"
    assert invocation["event"][INSTANCE_KEY]["InstanceId"] == workload


def test_reconciler_acts_on_the_carried_instance_without_reading_it_again(fleet, dispatch, lambda_service):
    workload = fleet.worlds["fleet-0"].launch_workload(AZ)

    dispatch(event_of(workload))

    reconciled = lambda_service.invocations[0]["summary"]
    assert reconciled["trigger"]["resolved"] == "workload"
    # The NAT read of the AZ only: the instance by ID came with the event.
    assert reconciled["aws_calls"]["by_operation"]["DescribeInstances"] == 1
    assert [z["verdict"] for z in reconciled["zones"]] == ["create_nat"]
    assert fleet.worlds["fleet-0"].nats(AZ), "the owning deployment launched its NAT"
    assert not fleet.worlds["fleet-1"].nats(AZ), "the other deployment did nothing"


def test_instance_of_a_vpc_without_deployment_invokes_nothing(fleet, dispatch, lambda_service):
    stranger = build_world("stranger", ec2=fleet.ec2, azs=(AZ,), cidr_second_octet=99).launch_workload(AZ)

    summary = dispatch(event_of(stranger))

    assert summary["outcome"] == "no_deployment"
    assert summary["aws_calls"]["ec2:DescribeInstances"] == 1
    assert lambda_service.invocations == []


def test_instance_ec2_does_not_know_invokes_nothing(fleet, dispatch, lambda_service):
    summary = dispatch(event_of("i-0123456789abcdef0", "pending"))

    assert summary["outcome"] == "instance_not_found"
    assert lambda_service.invocations == []


def test_terminated_instance_without_its_vpc_invokes_nothing(fleet, dispatch, lambda_service):
    workload = fleet.worlds["fleet-0"].launch_workload(AZ)
    fleet.ec2.terminate_instances(InstanceIds=[workload])
    scrub_terminated(dispatch_aws.client("ec2", REGION, dispatch_handler._counter))

    summary = dispatch(event_of(workload, "terminated"))

    assert summary["outcome"] == "vpc_unknown"
    assert lambda_service.invocations == []


def test_shutting_down_instance_still_in_its_vpc_is_dispatched(fleet, dispatch, lambda_service):
    workload = fleet.worlds["fleet-0"].launch_workload(AZ)
    scrub_terminated(dispatch_aws.client("ec2", REGION, dispatch_handler._counter))

    summary = dispatch(event_of(workload, "shutting-down"))

    assert summary["invoked"] == [fleet.arns["fleet-0"]]


def test_function_with_deployment_tags_but_not_the_reconciler_name_is_never_invoked(fleet, dispatch, lambda_service):
    world = fleet.worlds["fleet-0"]
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="fleet-reconciler")["Role"]["Arn"]
    fleet.lambda_client.create_function(
        FunctionName="fleet-0-ecs-spot-handler",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Tags={"nat-zero:deployment": "fleet-0", "nat-zero:vpc": world.vpc_id},
    )

    summary = dispatch(event_of(world.launch_workload(AZ)))

    assert summary["invoked"] == [fleet.arns["fleet-0"]]


def test_registry_is_read_once_per_container_not_per_event(fleet, dispatch):
    workloads = [fleet.worlds["fleet-0"].launch_workload(AZ) for _ in range(3)]

    reads = [dispatch(event_of(w))["aws_calls"].get("resourcegroupstaggingapi:GetResources", 0) for w in workloads]

    assert reads == [1, 0, 0]


def test_new_deployment_is_found_by_its_first_event_after_the_refresh_interval(fleet, dispatch, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_REGISTRY_REFRESH_SECONDS", "0")
    dispatch(event_of(fleet.worlds["fleet-0"].launch_workload(AZ)))
    newcomer = build_world("fleet-9", ec2=fleet.ec2, azs=(AZ,), cidr_second_octet=9)
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="fleet-reconciler")["Role"]["Arn"]
    fleet.worlds["fleet-9"] = newcomer
    fleet.arns["fleet-9"] = fleet.create_reconciler("fleet-9", newcomer.vpc_id, role)

    summary = dispatch(event_of(newcomer.launch_workload(AZ)))

    assert summary["invoked"] == [fleet.arns["fleet-9"]]


def test_unknown_vpc_does_not_reread_the_registry_within_the_refresh_interval(fleet, dispatch):
    stranger = build_world("stranger", ec2=fleet.ec2, azs=(AZ,), cidr_second_octet=99).launch_workload(AZ)

    reads = [
        dispatch(event_of(stranger))["aws_calls"].get("resourcegroupstaggingapi:GetResources", 0) for _ in range(3)
    ]

    assert reads == [1, 0, 0]


def test_reconciler_deleted_since_the_registry_was_read_is_forgotten(fleet, dispatch, lambda_service):
    world = fleet.worlds["fleet-1"]
    dispatch(event_of(world.launch_workload(AZ)))
    fleet.lambda_client.delete_function(FunctionName=reconciler_name("fleet-1"))

    gone = dispatch(event_of(world.launch_workload(AZ)))
    after = dispatch(event_of(world.launch_workload(AZ)))

    assert gone["outcome"] == "not_dispatched"
    assert gone["gone"] == [fleet.arns["fleet-1"]]
    assert after["outcome"] == "no_deployment"
    assert len(lambda_service.invocations) == 1


def test_invoke_failing_past_the_retries_fails_the_invocation_for_lambda_to_retry(fleet, dispatch, lambda_service):
    def throttled(**_):
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")

    client = dispatch_aws.client("lambda", REGION, dispatch_handler._counter)
    client.meta.events.register_first("before-call.lambda.Invoke", throttled)

    with pytest.raises(RuntimeError, match="could not hand the event to"):
        dispatch(event_of(fleet.worlds["fleet-0"].launch_workload(AZ)))
    assert lambda_service.invocations == []


def test_instance_too_big_to_carry_goes_without_it():
    event = event_of("i-0123456789abcdef0")
    huge = {"InstanceId": "i-0123456789abcdef0", "Tags": [{"Key": f"k{i}", "Value": "v" * 250} for i in range(1000)]}

    payload = json.loads(dispatch_handler.dispatched_payload(event, huge))

    assert payload == event


def test_carried_instance_times_are_iso_8601(fleet):
    workload = fleet.worlds["fleet-0"].launch_workload(AZ)
    instance = fleet.ec2.describe_instances(InstanceIds=[workload])["Reservations"][0]["Instances"][0]

    payload = json.loads(dispatch_handler.dispatched_payload(event_of(workload), instance))

    assert payload[INSTANCE_KEY]["LaunchTime"] == instance["LaunchTime"].isoformat()
