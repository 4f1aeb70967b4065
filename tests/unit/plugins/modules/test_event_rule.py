from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import event_rule

PATTERN = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def events(aws):
    return boto3.client("events", region_name="us-east-1")


@pytest.fixture
def lam(aws):
    return boto3.client("lambda", region_name="us-east-1")


@pytest.fixture
def function_arn(lam):
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    pass\n")
    return lam.create_function(
        FunctionName="prod-nat-zero",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]


@pytest.fixture
def args(function_arn):
    return dict(
        name="prod-nat-zero-ec2-state", event_pattern=PATTERN, target_arn=function_arn, tags={"team": "platform"}
    )


def statements(lam):
    try:
        return json.loads(lam.get_policy(FunctionName="prod-nat-zero")["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        return []


def test_create_wires_rule_target_and_scoped_invoke_permission(run_module, events, lam, args, function_arn):
    result = run_module(event_rule, args)

    assert result["changed"] is True
    assert result["rule_arn"] == "arn:aws:events:us-east-1:123456789012:rule/prod-nat-zero-ec2-state"
    assert result["permission_statement_id"] == "events-prod-nat-zero-ec2-state"
    rule = events.describe_rule(Name="prod-nat-zero-ec2-state")
    assert json.loads(rule["EventPattern"]) == PATTERN and rule["State"] == "ENABLED"
    assert [(t["Id"], t["Arn"]) for t in events.list_targets_by_rule(Rule="prod-nat-zero-ec2-state")["Targets"]] == [
        ("target", function_arn)
    ]
    [statement] = statements(lam)
    assert statement["Sid"] == "events-prod-nat-zero-ec2-state"
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == result["rule_arn"]


def test_second_run_changes_nothing(run_module, args):
    run_module(event_rule, args)

    assert run_module(event_rule, dict(args, event_pattern=json.dumps(PATTERN)))["changed"] is False


def test_schedule_rule_with_constant_input_shares_the_function(run_module, events, lam, args, function_arn):
    run_module(event_rule, args)
    sweep = dict(
        name="prod-nat-zero-sweep",
        schedule_expression="rate(15 minutes)",
        target_arn=function_arn,
        target_input={"action": "reconcile"},
    )

    assert run_module(event_rule, sweep)["changed"] is True
    assert run_module(event_rule, sweep)["changed"] is False
    [target] = events.list_targets_by_rule(Rule="prod-nat-zero-sweep")["Targets"]
    assert json.loads(target["Input"]) == {"action": "reconcile"}
    assert sorted(s["Sid"] for s in statements(lam)) == ["events-prod-nat-zero-ec2-state", "events-prod-nat-zero-sweep"]


def test_disable_and_changed_pattern_update_the_rule(run_module, events, args):
    run_module(event_rule, args)

    result = run_module(event_rule, dict(args, enabled=False, event_pattern={"source": ["aws.ecs"]}), diff=True)

    assert result["changed"] is True and result["state"] == "DISABLED"
    assert result["diff"]["before"]["state"] == "ENABLED"
    rule = events.describe_rule(Name="prod-nat-zero-ec2-state")
    assert rule["State"] == "DISABLED" and json.loads(rule["EventPattern"]) == {"source": ["aws.ecs"]}


def test_check_mode_creates_nothing(run_module, events, lam, args):
    result = run_module(event_rule, args, check_mode=True)

    assert result["changed"] is True and result["rule_arn"] is None
    assert events.list_rules()["Rules"] == []
    assert statements(lam) == []


def test_absent_removes_target_permission_and_rule(run_module, events, lam, args):
    run_module(event_rule, args)
    absent = dict(name="prod-nat-zero-ec2-state", state="absent")

    assert run_module(event_rule, absent, check_mode=True)["changed"] is True
    assert len(statements(lam)) == 1

    assert run_module(event_rule, absent)["changed"] is True
    assert events.list_rules()["Rules"] == []
    assert statements(lam) == []
    assert run_module(event_rule, absent)["changed"] is False


def test_pattern_and_schedule_are_mutually_exclusive(fails, args):
    failure = fails(event_rule, dict(args, schedule_expression="rate(1 minute)"))

    assert "mutually exclusive" in failure["msg"]


def test_invalid_pattern_fails(fails, args):
    assert "event_pattern is not a JSON object" in fails(event_rule, dict(args, event_pattern="{nope"))["msg"]
