"""The role natzero.aws.ecs_spot_handler through playbooks/ecs_spot_handler.yml
on the moto server: deploy, idempotent re-run, check mode, bad inputs, teardown."""

from __future__ import annotations

import json
import re

import pytest

from plugins.module_utils.package import build_zip, code_sha256
from tests.support.runs import REPO, ansible_environment, run

pytestmark = pytest.mark.integration

PREFIX = "itest"
FUNCTION = f"{PREFIX}-ecs-fargate-spot-handler"
RULE = f"{PREFIX}-ecs-spot-interruption"
ROLE = f"{FUNCTION}-execution"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
INPUTS = {"ecs_spot_handler_name_prefix": PREFIX, "ecs_spot_handler_tags": {"team": "batch"}}


def outputs_of(run) -> dict:
    match = re.search(r'"ecs_spot_handler_outputs": (\{.*?\n    \})', run.output, re.DOTALL)
    assert match, f"no outputs in:\n{run.tail()}"
    return json.loads(match.group(1))


def handler_resources(aws, prefix: str) -> dict:
    """Which of the handler's resources exist, by kind."""
    function, rule = f"{prefix}-ecs-fargate-spot-handler", f"{prefix}-ecs-spot-interruption"
    log_groups = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function}")["logGroups"]
    return {
        "function": function in [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]],
        "rule": rule in [r["Name"] for r in aws("events").list_rules(NamePrefix=rule)["Rules"]],
        "role": f"{function}-execution" in [r["RoleName"] for r in aws("iam").list_roles()["Roles"]],
        "log_group": bool(log_groups),
    }


@pytest.fixture(scope="module")
def deployed(run_playbook):
    first = run_playbook("ecs_spot_handler.yml", INPUTS, label="ecs-deploy").assert_ok()
    second = run_playbook("ecs_spot_handler.yml", INPUTS, label="ecs-again").assert_ok()
    return first, second


def test_deploy_returns_every_output_the_contract_names(deployed, aws):
    outputs = outputs_of(deployed[0])
    assert outputs == {
        "rule_arn": f"arn:aws:events:us-east-1:123456789012:rule/{RULE}",
        "rule_name": RULE,
        "target_id": "ecs-spot-handler",
        "function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
        "function_name": FUNCTION,
        "role_arn": f"arn:aws:iam::123456789012:role/{ROLE}",
        "role_name": ROLE,
        # DescribeLogGroups' "arn" ends in ":*"; the log group's own ARN does not.
        "log_group_arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{LOG_GROUP}",
        "log_group_name": LOG_GROUP,
    }


def test_the_function_is_configured_from_the_role_inputs(deployed, aws):
    configuration = aws("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert configuration["Handler"] == "ecs_spot_handler.handler.handler"
    # Its own package only, not the NAT reconciler's next to it in lambda_src/.
    assert configuration["CodeSha256"] == code_sha256(build_zip(str(REPO / "lambda_src"), ["ecs_spot_handler"]))
    assert (configuration["Timeout"], configuration["MemorySize"]) == (60, 128)
    assert configuration["Environment"]["Variables"] == {
        "ECS_SPOT_HANDLER_REGION": "us-east-1",
        "ECS_SPOT_HANDLER_ACCOUNT_ID": "123456789012",
        "ECS_SPOT_HANDLER_LOG_LEVEL": "INFO",
    }
    assert "ReservedConcurrentExecutions" not in aws("lambda").get_function_concurrency(FunctionName=FUNCTION)
    tags = aws("lambda").list_tags(Resource=configuration["FunctionArn"])["Tags"]
    assert tags == {"team": "batch"}


def test_the_rule_matches_spot_interruptions_only_and_targets_the_function(deployed, aws):
    events = aws("events")
    rule = events.describe_rule(Name=RULE)
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"stopCode": ["SpotInterruption"]},
    }
    (target,) = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert target["Id"] == "ecs-spot-handler" and target["Arn"].endswith(f":function:{FUNCTION}")
    policy = json.loads(aws("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


def test_the_role_grants_only_ecs_redeployment_and_its_own_logs(deployed, aws):
    iam = aws("iam")
    assert iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"] == []
    (name,) = iam.list_role_policies(RoleName=ROLE)["PolicyNames"]
    document = iam.get_role_policy(RoleName=ROLE, PolicyName=name)["PolicyDocument"]
    granted = {a: s["Resource"] for s in document["Statement"] for a in s["Action"]}
    assert granted == {
        "ecs:DescribeServices": ["arn:aws:ecs:us-east-1:123456789012:service/*"],
        "ecs:UpdateService": ["arn:aws:ecs:us-east-1:123456789012:service/*"],
        "ecs:DescribeTasks": ["arn:aws:ecs:us-east-1:123456789012:task/*"],
        "logs:CreateLogStream": [f"arn:aws:logs:us-east-1:123456789012:log-group:{LOG_GROUP}:log-stream:*"],
        "logs:PutLogEvents": [f"arn:aws:logs:us-east-1:123456789012:log-group:{LOG_GROUP}:log-stream:*"],
    }
    assert aws("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]["retentionInDays"] == 14


def test_a_second_run_changes_nothing(deployed):
    assert deployed[1].recap["changed"] == 0


def test_rule_state_disabled_keeps_everything_but_the_rule_idle(deployed, run_playbook, aws):
    run_playbook("ecs_spot_handler.yml", {**INPUTS, "ecs_spot_handler_rule_state": "DISABLED"}).assert_ok()
    assert aws("events").describe_rule(Name=RULE)["State"] == "DISABLED"
    run_playbook("ecs_spot_handler.yml", INPUTS).assert_ok()
    assert aws("events").describe_rule(Name=RULE)["State"] == "ENABLED"


def test_check_mode_creates_nothing(run_playbook, aws):
    run = run_playbook("ecs_spot_handler.yml", {"ecs_spot_handler_name_prefix": "dry"}, check=True).assert_ok()
    assert run.recap["changed"] > 0
    assert handler_resources(aws, "dry") == {"function": False, "rule": False, "role": False, "log_group": False}


BAD_INPUTS = [
    ("rule_state_unknown", {"ecs_spot_handler_rule_state": "PAUSED"}, ["ecs_spot_handler_rule_state", "PAUSED"]),
    ("timeout_negative", {"ecs_spot_handler_timeout": -5}, ["ecs_spot_handler_timeout -5", "1 to 900"]),
    ("memory_too_small", {"ecs_spot_handler_memory_size": 64}, ["ecs_spot_handler_memory_size 64", "128 to 10240"]),
    ("memory_too_large", {"ecs_spot_handler_memory_size": 20480}, ["ecs_spot_handler_memory_size 20480"]),
    ("log_level_unknown", {"ecs_spot_handler_log_level": "LOUD"}, ["ecs_spot_handler_log_level", "LOUD"]),
    (
        "reserved_concurrency_below_minus_one",
        {"ecs_spot_handler_reserved_concurrent_executions": -2},
        ["ecs_spot_handler_reserved_concurrent_executions -2"],
    ),
    ("retention_not_offered", {"ecs_spot_handler_log_retention_days": 10}, ["ecs_spot_handler_log_retention_days 10"]),
    ("prefix_with_space", {"ecs_spot_handler_name_prefix": "a b"}, ["ecs_spot_handler_name_prefix 'a b'"]),
    ("region_malformed", {"ecs_spot_handler_region": "mars"}, ["ecs_spot_handler_region 'mars'"]),
    ("aws_tag_key", {"ecs_spot_handler_tags": {"aws:owner": "x"}}, ["ecs_spot_handler_tags", "aws:owner"]),
]


@pytest.mark.parametrize(("case", "change", "expected"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_a_bad_input_fails_before_any_change_naming_the_variable(run_playbook, aws, case, change, expected):
    prefix = f"bad-{case.replace('_', '-')}"
    variables = {"ecs_spot_handler_name_prefix": prefix, **change}
    if case == "prefix_with_space":
        prefix = "a b"
    run = run_playbook("ecs_spot_handler.yml", variables, label=case)
    assert run.returncode != 0, f"{case} was accepted:\n{run.tail()}"
    missing = [part for part in expected if part not in run.output]
    assert not missing, f"{case}: message lacks {missing}:\n{run.tail(30)}"
    assert run.recap.get("changed", 0) == 0
    assert not any(handler_resources(aws, prefix).values())


def test_absent_removes_everything_and_is_safe_twice(deployed, run_playbook, aws):
    gone = {**INPUTS, "ecs_spot_handler_state": "absent"}
    first = run_playbook("ecs_spot_handler.yml", gone, label="ecs-absent").assert_ok()
    second = run_playbook("ecs_spot_handler.yml", gone, label="ecs-absent-again").assert_ok()
    assert first.recap["changed"] == 4 and second.recap["changed"] == 0
    assert handler_resources(aws, PREFIX) == {"function": False, "rule": False, "role": False, "log_group": False}


def test_the_commands_of_the_docs_deploy_and_remove_as_written(aws_env, collection_link, aws):
    """docs/ecs_spot_handler.md's first shell block, each line run literally."""
    text = (REPO / "docs" / "ecs_spot_handler.md").read_text()
    commands = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1).strip().splitlines()
    assert [c.split()[0] for c in commands] == ["ansible-playbook", "ansible-playbook"]
    env = ansible_environment(aws_env)

    deploy, remove = (run(["sh", "-c", command], REPO, env).assert_ok() for command in commands)

    assert '"function_name": "prod-ecs-fargate-spot-handler"' in deploy.output
    assert not any(handler_resources(aws, "prod").values())
