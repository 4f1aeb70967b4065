"""docs/deployer-policy.json lists every AWS action the modules call."""

import json
from pathlib import Path

from tools import deployer_policy

REPO = Path(__file__).resolve().parents[3]


def test_committed_policy_is_current():
    assert (REPO / "docs" / "deployer-policy.json").read_text() == deployer_policy.policy(), (
        "run: python tools/deployer_policy.py"
    )


def test_policy_covers_the_calls_deploy_and_teardown_cannot_do_without():
    actions = set(json.loads((REPO / "docs" / "deployer-policy.json").read_text())["Statement"][0]["Action"])
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
