from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from ansible_collections.natzero.aws.plugins.modules import event_rule

PATTERN = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}


@pytest.fixture
def events(aws):
    return boto3.client("events", region_name="us-east-1")


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


def test_a_rule_created_disabled_keeps_the_state_something_else_gave_it(run_module, events, args):
    """The health rule: the role creates it disabled, the reconciler toggles it, a re-run leaves it."""
    health = {k: v for k, v in args.items() if k != "event_pattern"}
    health.update(name="prod-nat-zero-health", schedule_expression="rate(1 minute)")
    created = run_module(event_rule, dict(health, enabled_when_created=False))
    assert created["changed"] is True
    assert events.describe_rule(Name="prod-nat-zero-health")["State"] == "DISABLED"

    events.enable_rule(Name="prod-nat-zero-health")
    rerun = run_module(event_rule, dict(health, enabled_when_created=False))

    assert rerun["changed"] is False
    assert events.describe_rule(Name="prod-nat-zero-health")["State"] == "ENABLED"


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


def answer_with_failed_entry(hook_module_clients, operation, code, message):
    """EventBridge answers PutTargets/RemoveTargets with HTTP 200 and the failed
    entries in the body (nothing raises); moto never fails an entry."""

    def install(client):
        asked = {}

        def remember(params, **_):
            asked.update(params)

        def failed(**_):
            ids = [t["Id"] for t in asked.get("Targets", ())] or asked.get("Ids", [])
            entries = [{"TargetId": i, "ErrorCode": code, "ErrorMessage": message} for i in ids]
            return AWSResponse("https://events.invalid/", 200, {}, None), {
                "FailedEntryCount": len(entries),
                "FailedEntries": entries,
            }

        client.meta.events.register("before-parameter-build.eventbridge.%s" % operation, remember)
        client.meta.events.register("before-call.eventbridge.%s" % operation, failed)

    hook_module_clients("events", install)


def test_put_targets_failed_entry_fails_with_its_error_code(fails, events, args, hook_module_clients):
    answer_with_failed_entry(hook_module_clients, "PutTargets", "ConcurrentModificationException", "rule busy")

    failure = fails(event_rule, args)

    assert failure["msg"] == (
        "PutTargets on rule prod-nat-zero-ec2-state failed for 1 target(s): "
        "target target: ConcurrentModificationException: rule busy"
    )
    assert failure["failed_entries"][0]["ErrorCode"] == "ConcurrentModificationException"
    assert events.list_targets_by_rule(Rule="prod-nat-zero-ec2-state")["Targets"] == []


def test_remove_targets_failed_entry_fails_and_keeps_the_rule(run_module, fails, events, args, hook_module_clients):
    run_module(event_rule, args)
    answer_with_failed_entry(hook_module_clients, "RemoveTargets", "InternalFailure", "try again")

    failure = fails(event_rule, dict(name="prod-nat-zero-ec2-state", state="absent"))

    assert "RemoveTargets on rule prod-nat-zero-ec2-state failed for 1 target(s)" in failure["msg"]
    assert "target target: InternalFailure: try again" in failure["msg"]
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["prod-nat-zero-ec2-state"]


def test_absent_that_loses_a_race_to_another_removal_ends_with_the_rule_gone(
    run_module, events, args, hook_module_clients
):
    """Two teardowns remove the region's shared dispatcher rule at once: the
    other one deletes it between this run's read and its RemoveTargets, which
    EventBridge then answers with ResourceNotFoundException."""
    run_module(event_rule, args)

    def install(client):
        def other_run_removes_the_rule_first(**_):
            if events.list_rules()["Rules"]:
                events.remove_targets(Rule="prod-nat-zero-ec2-state", Ids=["target"])
                events.delete_rule(Name="prod-nat-zero-ec2-state")

        client.meta.events.register("before-call.eventbridge.RemoveTargets", other_run_removes_the_rule_first)

    hook_module_clients("events", install)

    result = run_module(event_rule, dict(name="prod-nat-zero-ec2-state", state="absent"))

    assert result["rule_arn"] is None
    assert events.list_rules()["Rules"] == []
