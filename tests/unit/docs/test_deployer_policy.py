"""docs/deployer-policy.json: every AWS action the modules call, and the
companion actions AWS checks besides a call's own, each in a statement scoped
to one deployment."""

import json
from pathlib import Path

import pytest

from tools import deployer_policy

REPO = Path(__file__).resolve().parents[3]


def committed() -> dict:
    return json.loads((REPO / "docs" / "deployer-policy.json").read_text())


def granted_actions(policy: dict) -> set:
    return {a for s in policy["Statement"] for a in s["Action"]}


def test_committed_policy_is_current():
    assert (REPO / "docs" / "deployer-policy.json").read_text() == deployer_policy.policy(), (
        "run: python tools/deployer_policy.py"
    )


def test_policy_covers_the_calls_deploy_and_teardown_cannot_do_without():
    actions = granted_actions(committed())
    for needed in (
        "ec2:CreateNetworkInterface",
        "ec2:CreateLaunchTemplate",
        "ec2:ReplaceRoute",
        "ec2:TerminateInstances",
        "ec2:ReleaseAddress",
        "iam:CreateRole",
        "iam:PassRole",
        "lambda:CreateFunction",
        "lambda:PutFunctionConcurrency",
        "events:PutRule",
        "logs:PutRetentionPolicy",
        "ssm:GetParameter",
    ):
        assert needed in actions


def test_every_action_the_modules_call_and_its_companions_are_granted():
    called = deployer_policy.called_actions()
    actions = granted_actions(committed())
    assert called <= actions
    for action, companions in deployer_policy.COMPANIONS.items():
        if action in called:
            assert set(companions) <= actions, action
    # Issue 12 item 5: tags at creation and tags read back.
    assert {"iam:TagInstanceProfile", "iam:TagRole", "lambda:ListTags", "lambda:TagResource", "logs:TagResource"} <= (
        actions
    )


# Log deliveries (flow logs to S3) and SNS subscriptions have no resource type: IAM authorizes them on "*" only.
UNSCOPABLE_WRITES = ("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "sns:Unsubscribe")


def test_only_reads_that_iam_cannot_scope_are_granted_on_every_resource():
    reads = (
        "ec2:Describe",
        "logs:DescribeLogGroups",
        "lambda:GetAccountSettings",
        "iam:ListRoles",
        "sns:ListTopics",
        "tag:GetResources",
    )
    for statement in committed()["Statement"]:
        if "*" in statement["Resource"]:
            assert all(a.startswith(reads + UNSCOPABLE_WRITES) for a in statement["Action"]), statement["Sid"]


def test_an_action_no_statement_scopes_stops_the_generator(monkeypatch):
    monkeypatch.setattr(deployer_policy, "called_actions", lambda: {"ec2:CreateVpc"})
    with pytest.raises(SystemExit, match="ec2:CreateVpc"):
        deployer_policy.document()
