"""Each module that overlaps amazon.aws also returns the resource the way amazon.aws does:
a snake_case dict of what AWS says after the run, tags as a dict (beside our own keys)."""

from __future__ import annotations

import json

import boto3

from ansible_collections.natzero.aws.plugins.modules import event_rule, iam_role, lambda_function, log_group

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_log_group_returns_cloudwatchlogs_log_group_fields(run_module):
    result = run_module(log_group, dict(name="/app", retention_days=14, tags={"team": "platform"}))

    assert result["retention_in_days"] == 14 and result["stored_bytes"] == 0
    assert isinstance(result["creation_time"], int)
    assert result["tags"] == {"team": "platform"}
    assert result["arn"].endswith(":log-group:/app")


def test_iam_role_returns_the_iam_role_dict(run_module):
    result = run_module(iam_role, dict(name="app", assume_role_policy_document=TRUST, tags={"Team": "platform"}))

    role = result["iam_role"]
    assert role["role_name"] == "app" and role["arn"] == result["arn"] and role["max_session_duration"] == 3600
    assert role["tags"] == {"Team": "platform"}
    assert role["assume_role_policy_document"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert role["attached_policies"] == []
    check = run_module(iam_role, dict(name="new", assume_role_service=["ec2.amazonaws.com"]), check_mode=True)
    assert check["iam_role"] is None


def test_lambda_function_returns_configuration_and_code(run_module, tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]

    result = run_module(
        lambda_function,
        dict(name="app", source_path=str(tmp_path), handler="app.handler", role_arn=role, environment={"MY_VAR": 1}),
    )

    configuration = result["configuration"]
    assert configuration["function_name"] == "app" and configuration["handler"] == "app.handler"
    assert configuration["environment"] == {"variables": {"MY_VAR": "1"}}
    assert configuration["code_sha256"] == result["code_sha256"]
    assert configuration["tags"] == {}
    assert "repository_type" in result["code"]


def test_event_rule_returns_rule_and_targets(run_module):
    result = run_module(
        event_rule,
        dict(
            name="sweep",
            schedule_expression="rate(5 minutes)",
            target_arn="arn:aws:sqs:us-east-1:123456789012:queue",
            resource_tags={"team": "platform"},
        ),
    )

    assert result["rule"]["name"] == "sweep" and result["rule"]["state"] == "ENABLED"
    assert result["rule"]["tags"] == {"team": "platform"}
    assert result["targets"] == [{"id": "target", "arn": "arn:aws:sqs:us-east-1:123456789012:queue"}]
