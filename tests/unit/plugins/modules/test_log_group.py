from __future__ import annotations

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import log_group

NAME = "/aws/lambda/prod-nat-zero"


@pytest.fixture
def logs(aws):
    return boto3.client("logs", region_name="us-east-1")


def described(logs):
    return logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]


def test_create_with_retention_and_tags(run_module, logs):
    result = run_module(log_group, dict(name=NAME, retention_days=14, tags={"team": "platform"}))

    assert result["changed"] is True
    assert result["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:" + NAME
    assert result["retention_days"] == 14
    assert described(logs)[0]["retentionInDays"] == 14
    assert logs.list_tags_for_resource(resourceArn=result["arn"])["tags"] == {"team": "platform"}


def test_second_run_changes_nothing(run_module):
    args = dict(name=NAME, retention_days=14, tags={"team": "platform"})
    run_module(log_group, args)

    assert run_module(log_group, args)["changed"] is False


def test_retention_and_tag_changes_are_applied(run_module, logs):
    run_module(log_group, dict(name=NAME, retention_days=14, tags={"team": "platform"}))

    result = run_module(log_group, dict(name=NAME, retention_days=30, tags={"owner": "me"}), diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"]["retention_days"] == 14
    assert described(logs)[0]["retentionInDays"] == 30
    assert logs.list_tags_for_resource(resourceArn=result["arn"])["tags"] == {"owner": "me"}


def test_retention_zero_keeps_events_forever(run_module, logs):
    run_module(log_group, dict(name=NAME, retention_days=14))

    result = run_module(log_group, dict(name=NAME, retention_days=0))

    assert result["retention_days"] is None
    assert "retentionInDays" not in described(logs)[0]


def test_check_mode_creates_nothing(run_module, logs):
    result = run_module(log_group, dict(name=NAME, retention_days=14), check_mode=True)

    assert result["changed"] is True
    assert described(logs) == []


def test_absent_deletes_it(run_module, logs):
    run_module(log_group, dict(name=NAME))

    assert run_module(log_group, dict(name=NAME, state="absent"), check_mode=True)["changed"] is True
    assert run_module(log_group, dict(name=NAME, state="absent"))["changed"] is True
    assert described(logs) == []
    assert run_module(log_group, dict(name=NAME, state="absent"))["changed"] is False


def test_unsupported_retention_fails(fails):
    assert (
        "not a retention period CloudWatch Logs accepts" in fails(log_group, dict(name=NAME, retention_days=10))["msg"]
    )


def test_a_create_that_loses_a_race_converges_on_the_group_the_other_run_made(run_module, logs, hook_module_clients):
    """Two deployments of a region create the shared dispatcher's log group at
    once: the other one creates it between this run's read and its
    CreateLogGroup, which CloudWatch Logs answers ResourceAlreadyExistsException."""

    def install(client):
        def other_run_creates_it_first(**_):
            if not described(logs):
                logs.create_log_group(logGroupName=NAME)

        client.meta.events.register("before-call.cloudwatch-logs.CreateLogGroup", other_run_creates_it_first)

    hook_module_clients("logs", install)

    result = run_module(log_group, dict(name=NAME, retention_days=14))

    assert result["retention_days"] == 14
    assert described(logs)[0]["retentionInDays"] == 14
