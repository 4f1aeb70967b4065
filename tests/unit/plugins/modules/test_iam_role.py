from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from ansible_collections.natzero.aws.plugins.modules import iam_role

# Customer managed stand-ins: moto loads AWS managed policies only when told to
# (MOTO_IAM_LOAD_MANAGED_POLICIES=true), which is slow.
BASIC_EXECUTION = "arn:aws:iam::123456789012:policy/basic-execution"
SSM_CORE = "arn:aws:iam::123456789012:policy/ssm-core"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ec2:StopInstances", "ec2:StartInstances"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": ["*"]},
    ],
}


@pytest.fixture
def iam(aws):
    client = boto3.client("iam", region_name="us-east-1")
    for arn in (BASIC_EXECUTION, SSM_CORE):
        client.create_policy(PolicyName=arn.rsplit("/", 1)[1], PolicyDocument=json.dumps(POLICY))
    return client


@pytest.fixture
def args(iam):
    return dict(
        name="prod-nat-zero",
        assume_role_service=["lambda.amazonaws.com"],
        managed_policy_arns=[BASIC_EXECUTION],
        inline_policies={"nat-zero": POLICY},
        tags={"team": "platform"},
    )


def test_create_role_with_policies(run_module, iam, args):
    result = run_module(iam_role, args)

    assert result["changed"] is True
    assert result["arn"] == "arn:aws:iam::123456789012:role/prod-nat-zero"
    role = iam.get_role(RoleName="prod-nat-zero")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    attached = iam.list_attached_role_policies(RoleName="prod-nat-zero")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [BASIC_EXECUTION]
    assert iam.get_role_policy(RoleName="prod-nat-zero", PolicyName="nat-zero")["PolicyDocument"] == POLICY
    assert result["instance_profile_arn"] is None


def test_second_run_with_a_reordered_but_equal_policy_changes_nothing(run_module, args):
    run_module(iam_role, args)
    reordered = {
        "Version": "2012-10-17",
        "Statement": [
            {"Resource": "*", "Action": ["ec2:DescribeInstances"], "Effect": "Allow"},
            {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": ["*"]},
        ],
    }

    result = run_module(iam_role, dict(args, inline_policies={"nat-zero": json.dumps(reordered)}))

    assert result["changed"] is False


def test_changed_policy_is_updated_and_extra_ones_purged(run_module, iam, args):
    run_module(iam_role, args)
    iam.put_role_policy(RoleName="prod-nat-zero", PolicyName="stray", PolicyDocument=json.dumps(POLICY))
    narrower = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
    }

    result = run_module(iam_role, dict(args, inline_policies={"nat-zero": narrower}, managed_policy_arns=[]), diff=True)

    assert result["changed"] is True
    assert iam.list_role_policies(RoleName="prod-nat-zero")["PolicyNames"] == ["nat-zero"]
    assert iam.list_attached_role_policies(RoleName="prod-nat-zero")["AttachedPolicies"] == []
    assert "stray" in result["diff"]["before"]["inline_policies"]


def test_check_mode_creates_nothing(run_module, iam, args):
    result = run_module(iam_role, args, check_mode=True)

    assert result["changed"] is True and result["arn"] is None
    assert iam.list_roles()["Roles"] == []


def test_instance_profile_holds_the_role(run_module, iam, args):
    args = dict(
        name="prod-nat",
        assume_role_service=["ec2.amazonaws.com"],
        managed_policy_arns=[SSM_CORE],
        instance_profile=True,
    )

    result = run_module(iam_role, args)

    assert result["instance_profile_name"] == "prod-nat"
    assert result["instance_profile_arn"] == "arn:aws:iam::123456789012:instance-profile/prod-nat"
    profile = iam.get_instance_profile(InstanceProfileName="prod-nat")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["prod-nat"]
    assert run_module(iam_role, args)["changed"] is False


def test_trust_policy_and_tags_drift_is_corrected(run_module, iam, args):
    run_module(iam_role, args)

    result = run_module(iam_role, dict(args, assume_role_service=["ec2.amazonaws.com"], tags={"team": "network"}))

    assert result["changed"] is True
    role = iam.get_role(RoleName="prod-nat-zero")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert iam.list_role_tags(RoleName="prod-nat-zero")["Tags"] == [{"Key": "team", "Value": "network"}]


def test_absent_removes_profile_policies_and_role(run_module, iam, args):
    run_module(iam_role, dict(args, instance_profile=True))

    assert run_module(iam_role, dict(name="prod-nat-zero", state="absent"), check_mode=True)["changed"] is True
    assert len(iam.list_roles()["Roles"]) == 1

    assert run_module(iam_role, dict(name="prod-nat-zero", state="absent"))["changed"] is True
    assert iam.list_roles()["Roles"] == []
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert run_module(iam_role, dict(name="prod-nat-zero", state="absent"))["changed"] is False


def test_invalid_inline_policy_fails(fails, args):
    failure = fails(iam_role, dict(args, inline_policies={"broken": "{not json"}))

    assert "inline_policies['broken'] is not a policy document" in failure["msg"]


def test_trust_is_required(fails, iam):
    assert "assume_role_service" in fails(iam_role, dict(name="r"))["msg"]


def test_path_cannot_change(run_module, fails, args):
    run_module(iam_role, args)

    assert "cannot change the path" in fails(iam_role, dict(args, path="/nat-zero/"))["msg"]


def test_absent_that_loses_a_race_to_another_removal_ends_with_the_role_gone(
    run_module, iam, args, hook_module_clients
):
    """Two teardowns remove the region's shared dispatcher role at once: the
    other one deletes it (this run has detached its managed policy already)
    right before this run's DeleteRolePolicy, which IAM then answers with
    NoSuchEntity."""
    run_module(iam_role, args)

    def install(client):
        def other_run_removes_the_role_first(**_):
            if iam.list_roles()["Roles"]:
                iam.delete_role_policy(RoleName="prod-nat-zero", PolicyName="nat-zero")
                iam.delete_role(RoleName="prod-nat-zero")

        client.meta.events.register("before-call.iam.DeleteRolePolicy", other_run_removes_the_role_first)

    hook_module_clients("iam", install)

    result = run_module(iam_role, dict(name="prod-nat-zero", state="absent"))

    assert result["arn"] is None
    assert iam.list_roles()["Roles"] == []


def test_a_create_that_loses_a_race_converges_on_the_role_the_other_run_made(
    run_module, iam, args, hook_module_clients
):
    """Two deployments of a region create the shared dispatcher's role at
    once: the other one creates it between this run's read and its
    CreateRole, which IAM answers EntityAlreadyExists."""

    def install(client):
        def other_run_creates_it_first(**_):
            if not iam.list_roles()["Roles"]:
                iam.create_role(RoleName="prod-nat-zero", AssumeRolePolicyDocument=json.dumps(TRUST))

        client.meta.events.register("before-call.iam.CreateRole", other_run_creates_it_first)

    hook_module_clients("iam", install)

    result = run_module(iam_role, args)

    assert result["arn"] == "arn:aws:iam::123456789012:role/prod-nat-zero"
    assert iam.get_role_policy(RoleName="prod-nat-zero", PolicyName="nat-zero")["PolicyDocument"] == POLICY


def test_a_lost_create_race_converges_while_iam_still_hides_the_other_runs_role(
    run_module, iam, args, hook_module_clients
):
    """IAM is eventually consistent: the role the other run created is missing
    from the next two GetRole answers after this run's CreateRole lost the race,
    so the re-read tries CreateRole again and loses again. The run keeps
    reading, with back-off, until IAM shows the role."""
    answers = []

    def install(client):
        def other_run_creates_it_first(**_):
            answers.append("CreateRole")
            if not iam.list_roles()["Roles"]:
                iam.create_role(RoleName="prod-nat-zero", AssumeRolePolicyDocument=json.dumps(TRUST))

        def not_yet_visible(**_):
            if "CreateRole" in answers and answers.count("GetRole hid it") < 2:
                answers.append("GetRole hid it")
                error = {"Code": "NoSuchEntity", "Message": "The role with name prod-nat-zero cannot be found."}
                raise ClientError({"Error": error}, "GetRole")

        client.meta.events.register("before-call.iam.CreateRole", other_run_creates_it_first)
        client.meta.events.register("before-call.iam.GetRole", not_yet_visible)

    hook_module_clients("iam", install)

    result = run_module(iam_role, args)

    assert answers.count("CreateRole") == 3
    assert answers.count("GetRole hid it") == 2
    assert result["arn"] == "arn:aws:iam::123456789012:role/prod-nat-zero"
    assert iam.get_role_policy(RoleName="prod-nat-zero", PolicyName="nat-zero")["PolicyDocument"] == POLICY
