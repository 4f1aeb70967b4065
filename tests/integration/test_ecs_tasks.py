"""nat_zero_workload_sources [ec2, ecs]: the ECS task rule, the one read it
needs, a Fargate task (modelled: moto cannot run an awsvpc task) starting and
stopping its AZ's NAT through the deployed reconciler; dropping ecs and the
teardown remove the rule."""

from __future__ import annotations

import json

import pytest

from playbooks.sandbox.inventory import deployment_resources, leftovers, resource_names
from tests.integration.reconciler import deployed_handler
from tests.support.ecs_tasks import new_task

pytestmark = pytest.mark.integration

NAME = "tasks"
NAMED = resource_names(NAME)
TASK_PATTERN = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    "detail": {"lastStatus": ["PROVISIONING", "RUNNING", "STOPPED"]},
}


@pytest.fixture(scope="module")
def variables(make_vpc):
    full = make_vpc(NAME, second_octet=57)
    one_az = {k: v[:1] if isinstance(v, list) else v for k, v in full.items()}
    return {**one_az, "nat_zero_workload_sources": ["ec2", "ecs"]}


def reads_granted(aws) -> set[str]:
    iam = aws("iam")
    [name] = iam.list_role_policies(RoleName=NAMED["lambda_role"])["PolicyNames"]
    document = iam.get_role_policy(RoleName=NAMED["lambda_role"], PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    return {a for s in document["Statement"] for a in s["Action"] if a.startswith("ec2:Describe")}


def live_nats(ec2, az: str) -> list[str]:
    filters = [
        {"Name": "tag:nat-zero:deployment", "Values": [NAME]},
        {"Name": "availability-zone", "Values": [az]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    return [i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def test_with_ecs_a_fargate_task_starts_and_stops_its_azs_nat(aws, run_playbook, variables, moto_endpoint, monkeypatch):
    run_playbook("site.yml", variables).assert_ok()

    events = aws("events")
    rule = events.describe_rule(Name=NAMED["task_rule"])
    assert json.loads(rule["EventPattern"]) == TASK_PATTERN and rule["State"] == "ENABLED"
    function_arn = aws("lambda").get_function_configuration(FunctionName=NAMED["function"])["FunctionArn"]
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=NAMED["task_rule"])["Targets"]] == [function_arn]
    permissions = json.loads(aws("lambda").get_policy(FunctionName=NAMED["function"])["Policy"])["Statement"]
    assert rule["Arn"] in {s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in permissions}
    assert "ec2:DescribeNetworkInterfaces" in reads_granted(aws)

    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    az, subnet = variables["nat_zero_availability_zones"][0], variables["nat_zero_private_subnets"][0]
    ec2 = aws("ec2")
    task = new_task(ec2, az, subnet)
    summary = handler(task.event(), None)
    assert [z["verdict"] for z in summary["zones"]] == ["create_nat"], summary
    assert len(live_nats(ec2, az)) == 1
    task.provision()
    assert [z["verdict"] for z in handler(task.run(), None)["zones"]] == ["steady"]
    summary = handler(task.deprovision(), None)
    assert [z["verdict"] for z in summary["zones"]] == ["stop_nat"], summary
    assert live_nats(ec2, az) == []


def test_dropping_ecs_removes_the_rule_and_the_read(aws, run_playbook, variables):
    run_playbook("site.yml", {**variables, "nat_zero_workload_sources": ["ec2"]}).assert_ok()
    assert NAMED["task_rule"] not in [r["Name"] for r in aws("events").list_rules(NamePrefix=NAME)["Rules"]]
    environment = aws("lambda").get_function_configuration(FunctionName=NAMED["function"])["Environment"]
    assert environment["Variables"]["NAT_ZERO_WORKLOAD_SOURCES"] == "ec2"


def test_teardown_removes_the_task_rule(aws, run_playbook, variables):
    run_playbook("site.yml", variables).assert_ok()
    assert NAMED["task_rule"] in [r["Name"] for r in aws("events").list_rules(NamePrefix=NAME)["Rules"]]
    run_playbook("teardown.yml", variables).assert_ok()
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}


def test_a_bad_workload_source_is_named_before_anything_changes(aws, run_playbook, variables):
    run = run_playbook("site.yml", {**variables, "nat_zero_name": "badsource", "nat_zero_workload_sources": []})
    assert run.returncode != 0
    assert "nat_zero_workload_sources [] is not a list of workload sources" in run.output
    assert run.output.count("[ERROR]") == 1
    assert leftovers(deployment_resources(aws, "badsource", variables["nat_zero_vpc_id"])) == {}
