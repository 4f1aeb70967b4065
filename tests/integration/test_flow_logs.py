"""nat_zero_flow_logs: flow logs on every NAT ENI appear only when asked, to
CloudWatch Logs (a log group with the retention, a delivery role only the flow
logs service of this account may assume) or S3; a re-run changes nothing;
switching destination or off, and teardown, remove what is no longer used."""

from __future__ import annotations

import json

import pytest

from playbooks.sandbox.inventory import deployment_resources, leftovers

pytestmark = pytest.mark.integration

NAME = "flowing"
FLOW_LOGS = f"{NAME}-nat-zero-flow-logs"
BUCKET = "flowing-flow-logs"


def flow_logs(aws) -> list:
    found = aws("ec2").describe_flow_logs(Filters=[{"Name": "tag:Name", "Values": [FLOW_LOGS]}])["FlowLogs"]
    return sorted(found, key=lambda f: f["ResourceId"])


def nat_enis(aws, variables) -> list:
    filters = [
        {"Name": "vpc-id", "Values": [variables["nat_zero_vpc_id"]]},
        {"Name": "tag:nat-zero:deployment", "Values": [NAME]},
    ]
    return sorted(
        e["NetworkInterfaceId"] for e in aws("ec2").describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    )


def log_groups(aws) -> list:
    return aws("logs").describe_log_groups(logGroupNamePrefix=FLOW_LOGS)["logGroups"]


def roles(aws) -> list:
    return [r["RoleName"] for r in aws("iam").list_roles()["Roles"] if r["RoleName"] == FLOW_LOGS]


@pytest.fixture(scope="module")
def variables(make_vpc):
    return make_vpc(NAME, second_octet=87)


def test_without_nat_zero_flow_logs_there_are_none(variables, run_playbook, aws):
    run_playbook("site.yml", variables).assert_ok()
    assert flow_logs(aws) == [] and log_groups(aws) == [] and roles(aws) == []


def test_cloudwatch_logs_every_nat_eni_to_a_log_group_with_the_retention(variables, run_playbook, aws):
    run_playbook("site.yml", {**variables, "nat_zero_flow_logs": "cloudwatch"}).assert_ok()

    found = flow_logs(aws)
    assert [f["ResourceId"] for f in found] == nat_enis(aws, variables) and len(found) == 4
    assert {f["LogGroupName"] for f in found} == {FLOW_LOGS}
    assert {f["DeliverLogsPermissionArn"].split("/")[-1] for f in found} == {FLOW_LOGS}
    [group] = log_groups(aws)
    assert group["retentionInDays"] == 14
    trust = aws("iam").get_role(RoleName=FLOW_LOGS)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_a_rerun_changes_nothing(variables, run_playbook):
    run = run_playbook("site.yml", {**variables, "nat_zero_flow_logs": "cloudwatch"}).assert_ok()
    assert run.recap["changed"] == 0, run.tail()


def test_verify_names_an_eni_whose_flow_log_was_deleted(variables, run_playbook, aws):
    asked = {**variables, "nat_zero_flow_logs": "cloudwatch"}
    run_playbook("verify.yml", asked).assert_ok()
    first = flow_logs(aws)[0]
    aws("ec2").delete_flow_logs(FlowLogIds=[first["FlowLogId"]])
    run = run_playbook("verify.yml", asked)
    assert run.returncode != 0
    assert f"{first['ResourceId']}: the ENI has no flow log {FLOW_LOGS}" in run.output


def test_s3_replaces_them_and_the_log_group_and_role_go(variables, run_playbook, aws):
    aws("s3").create_bucket(Bucket=BUCKET)
    arn = f"arn:aws:s3:::{BUCKET}"
    run_playbook(
        "site.yml", {**variables, "nat_zero_flow_logs": "s3", "nat_zero_flow_logs_destination_arn": arn}
    ).assert_ok()

    found = flow_logs(aws)
    assert len(found) == 4 and {(f["LogDestinationType"], f["LogDestination"]) for f in found} == {("s3", arn)}
    assert log_groups(aws) == [] and roles(aws) == []


def test_none_removes_them(variables, run_playbook, aws):
    run_playbook("site.yml", variables).assert_ok()
    assert flow_logs(aws) == []


def test_teardown_removes_flow_logs_log_group_and_role(variables, run_playbook, aws):
    run_playbook("site.yml", {**variables, "nat_zero_flow_logs": "cloudwatch"}).assert_ok()
    assert len(flow_logs(aws)) == 4
    run_playbook("teardown.yml", variables).assert_ok()
    assert flow_logs(aws) == [] and log_groups(aws) == [] and roles(aws) == []
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}
