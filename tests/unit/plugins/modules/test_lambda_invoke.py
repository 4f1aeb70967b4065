from __future__ import annotations

import json

import boto3
import moto.core.config as moto_config
import pytest

from ansible_collections.natzero.aws.plugins.modules import lambda_function, lambda_invoke

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def function(run_module, tmp_path, aws, monkeypatch):
    """A deployed function; moto answers invocations without running code."""
    monkeypatch.setitem(moto_config.default_user_config["lambda"], "use_docker", False)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "handler.py").write_text("def handler(event, context):\n    return event\n")
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    run_module(
        lambda_function,
        dict(name="reconciler", source_path=str(tmp_path), handler="app.handler.handler", role_arn=role),
    )
    return "reconciler"


def test_event_invocation_is_queued_and_reported_as_a_change(run_module, function):
    result = run_module(lambda_invoke, dict(name=function, payload={"action": "reconcile"}))

    assert result["changed"] is True
    assert result["status_code"] == 202


def test_dry_run_changes_nothing(run_module, function):
    result = run_module(lambda_invoke, dict(name=function, invocation_type="DryRun"))

    assert result["changed"] is False
    assert result["status_code"] == 204


def test_check_mode_reports_the_change_an_invocation_is_without_invoking(run_module, function):
    result = run_module(lambda_invoke, dict(name=function), check_mode=True)

    assert result["changed"] is True
    assert "status_code" not in result
    dry = run_module(lambda_invoke, dict(name=function, invocation_type="DryRun"), check_mode=True)
    assert dry["changed"] is False


def test_missing_function_fails_naming_the_call(run_module, aws):
    with pytest.raises(Exception) as failure:
        run_module(lambda_invoke, dict(name="never-deployed"))
    assert "Invoke failed: ResourceNotFoundException" in str(failure.value)
