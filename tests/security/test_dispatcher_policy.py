"""The region's dispatcher reads instances, lists reconcilers, and invokes
only functions named and tagged as nat-zero reconcilers; it changes nothing
in EC2. Evaluated on the policy as the role renders it."""

from __future__ import annotations

import pytest

from tests.security.policy import ROLE, allowing_statement, render_role_template

REGION, ACCOUNT = "eu-west-1", "123456789012"
FUNCTIONS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


@pytest.fixture(scope="module")
def policy() -> dict:
    return render_role_template(
        ROLE,
        "dispatcher_policy.json.j2",
        {"nat_zero__region": REGION, "nat_zero__partition": "aws", "nat_zero__account_id": ACCOUNT},
    )


def invoke(policy: dict, function: str, tags: dict) -> str | None:
    context = {f"aws:ResourceTag/{key}": [value] for key, value in tags.items()}
    return allowing_statement(policy, "lambda:InvokeFunction", FUNCTIONS + function, context)


def test_invokes_a_reconciler_tagged_with_its_vpc(policy):
    tags = {"nat-zero:deployment": "prod", "nat-zero:vpc": "vpc-0123456789abcdef0"}

    assert invoke(policy, "prod-nat-zero", tags) == "InvokeOnlyNatZeroReconcilers"


@pytest.mark.parametrize(
    ("function", "tags"),
    [
        ("payroll", {"nat-zero:vpc": "vpc-0123456789abcdef0"}),
        ("prod-nat-zero", {}),
        ("prod-nat-zero", {"nat-zero:vpc": "anything"}),
        ("nat-zero-dispatch", {}),
    ],
    ids=["other function with the tag", "reconciler name without the tag", "tag not a VPC", "itself"],
)
def test_invokes_nothing_else(policy, function, tags):
    assert invoke(policy, function, tags) is None


def test_reads_instances_and_the_registry_and_changes_nothing_in_ec2(policy):
    actions = {a for s in policy["Statement"] for a in s["Action"]}

    assert {a for a in actions if a.startswith("ec2:")} == {"ec2:DescribeInstances"}
    assert allowing_statement(policy, "tag:GetResources", "*", {}) == "FindTheReconcilers"
    assert allowing_statement(policy, "ec2:DescribeInstanceAttribute", "*", {}) is None
