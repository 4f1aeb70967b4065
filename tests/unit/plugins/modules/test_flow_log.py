from __future__ import annotations

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import flow_log
from tests.support.flow_log_fidelity import install_unsuccessful_duplicates

NAME = "prod-nat-zero-flow-logs"
ROLE = "arn:aws:iam::123456789012:role/prod-nat-zero-flow-logs"
BUCKET = "arn:aws:s3:::prod-flow-logs/nat"


@pytest.fixture
def enis(hook_module_clients):
    """Two ENIs; CreateFlowLogs answers duplicates as AWS does."""
    hook_module_clients("ec2", install_unsuccessful_duplicates)
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    return [ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"] for _ in "ab"]


def cloudwatch(resource_ids, **extra):
    return dict(name=NAME, resource_ids=resource_ids, log_group_name=NAME, deliver_logs_role_arn=ROLE, **extra)


def logged():
    found = boto3.client("ec2").describe_flow_logs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["FlowLogs"]
    return sorted((f["ResourceId"], f.get("LogGroupName") or f.get("LogDestination")) for f in found)


def test_creates_one_per_eni_then_changes_nothing(run_module, enis):
    first = run_module(flow_log, cloudwatch(enis, tags={"nat-zero:deployment": "prod"}))
    again = run_module(flow_log, cloudwatch(enis, tags={"nat-zero:deployment": "prod"}))

    assert (first["changed"], again["changed"]) == (True, False)
    assert logged() == sorted((eni, NAME) for eni in enis)
    assert sorted(f["resource_id"] for f in again["flow_logs"]) == sorted(enis)
    assert all(f["flow_log_id"].startswith("fl-") for f in first["flow_logs"])


def test_check_mode_reports_the_change_and_creates_nothing(run_module, enis):
    result = run_module(flow_log, cloudwatch(enis), check_mode=True, diff=True)
    assert result["changed"] is True and logged() == []
    assert result["diff"] == {"before": {"resource_ids": []}, "after": {"resource_ids": sorted(enis)}}


def test_another_destination_replaces_them_as_a_flow_log_cannot_change(run_module, enis):
    boto3.client("s3").create_bucket(Bucket="prod-flow-logs")
    bucket = "arn:aws:s3:::prod-flow-logs"
    run_module(flow_log, cloudwatch(enis))
    result = run_module(flow_log, dict(name=NAME, resource_ids=enis, destination_type="s3", destination_arn=bucket))
    assert result["changed"] is True and len(result["deleted"]) == 2
    assert logged() == sorted((eni, bucket) for eni in enis)


def test_an_eni_no_longer_listed_loses_its_flow_log(run_module, enis):
    run_module(flow_log, cloudwatch(enis))
    result = run_module(flow_log, cloudwatch(enis[:1]))
    assert result["changed"] is True and logged() == [(enis[0], NAME)]


def test_absent_deletes_every_flow_log_of_the_name_once(run_module, enis):
    run_module(flow_log, cloudwatch(enis))
    gone = run_module(flow_log, dict(name=NAME, state="absent"))
    again = run_module(flow_log, dict(name=NAME, state="absent"))
    assert (gone["changed"], again["changed"]) == (True, False)
    assert logged() == [] and gone["flow_logs"] == []


def test_a_flow_log_aws_refuses_in_its_unsuccessful_list_fails_naming_the_eni(fails, enis):
    # Someone else's flow log, same destination and settings, untagged: AWS answers
    # HTTP 200 with FlowLogAlreadyExists for that ENI in Unsuccessful.
    boto3.client("ec2").create_flow_logs(
        ResourceIds=[enis[0]],
        ResourceType="NetworkInterface",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=NAME,
        DeliverLogsPermissionArn=ROLE,
    )
    result = fails(flow_log, cloudwatch(enis))
    assert "CreateFlowLogs could not log %s: FlowLogAlreadyExists" % enis[0] in result["msg"]
    assert logged() == [(enis[1], NAME)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(destination_type="s3"), "destination_arn None is not an S3 bucket ARN"),
        (dict(destination_type="s3", destination_arn="prod-flow-logs"), "'prod-flow-logs' is not an S3 bucket ARN"),
        (dict(destination_type="s3", destination_arn=BUCKET, deliver_logs_role_arn=ROLE), "S3 delivery takes none"),
        (dict(log_group_name=NAME), "deliver_logs_role_arn None is not an IAM role ARN"),
        (dict(deliver_logs_role_arn=ROLE), "log_group_name is required"),
        (dict(resource_ids=["i-0123456789abcdef0"]), "'i-0123456789abcdef0' is not an ENI, subnet or VPC ID"),
    ],
)
def test_bad_input_fails_before_any_call(fails, enis, args, message):
    result = fails(flow_log, dict(dict(name=NAME, resource_ids=enis), **args))
    assert message in result["msg"] and NAME in result["msg"]
    assert logged() == []
