"""Whoever runs site.yml and teardown.yml needs exactly the rendered deployer
policy (tools/deployer_policy.py), and it grants nothing outside the deployment.

- parliament (an IAM linter no one here wrote) finds nothing at MEDIUM or
  above with its own auditors; its community auditors flag any IAM or Lambda
  write whatever its scope, and that list is pinned here and in the README;
- the escalation patterns those auditors name are closed for this policy:
  each is evaluated as IAM does and denied;
- a whole lifecycle (deploy, change, a run that must change nothing, a NAT
  launched, teardown) runs ansible-playbook with every AWS call authorized
  against the exact policy (tests/security/deployer.py): nothing is denied
  and every statement is needed.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from playbooks.sandbox.inventory import deployment_resources, leftovers
from tests.integration.reconciler import deployed_handler
from tests.security import deployer
from tests.security.policy import allowing_statement
from tests.support.moto import REGION
from tests.support.runs import BIN, REPO
from tools.deployer_policy import SSM_CORE, Deployment, document

NAME = "deployer"
VPC = "vpc-0123456789abcdef0"
PROD = Deployment(NAME, DEFAULT_ACCOUNT_ID, REGION, "aws", VPC)
IAM = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}"
LAMBDA = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function"
EC2 = f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}"
# What parliament's community auditors report for any policy that can write
# IAM roles and Lambda functions, however scoped (README, "Permissions").
COMMUNITY_FLAGS = {
    ("MEDIUM", "PERMISSIONS_MANAGEMENT_ACTIONS", None),
    ("HIGH", "PRIVILEGE_ESCALATION", "PassExistingRoleToNewLambdaThenInvoke"),
    ("HIGH", "PRIVILEGE_ESCALATION", "EditExistingLambdaFunctionWithRole"),
}


def parliament(policy: dict, *options: str) -> list:
    """The parliament command, as a user runs it, on the policy: its JSON findings."""
    result = subprocess.run(
        [str(BIN / "parliament"), "--string", json.dumps(policy), "--json", *options],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


# -- parliament ---------------------------------------------------------------------------------


@pytest.mark.parametrize("deployment", [Deployment(), PROD], ids=["docs", "rendered"])
def test_parliament_finds_nothing_at_medium_or_above(deployment):
    assert parliament(document(deployment), "--minimum_severity", "MEDIUM") == []


def test_parliament_sees_the_condition_keys_it_checks():
    """The check above can fail: a key EC2 does not support for the action is a finding."""
    policy = document(PROD)
    routes = next(s for s in policy["Statement"] if s["Sid"] == "RouteThePrivateSubnetsInTheVpc")
    routes["Condition"] = {"StringEquals": {"lambda:FunctionArn": "x"}}
    issues = {f["issue"] for f in parliament(policy, "--minimum_severity", "MEDIUM")}
    assert issues == {"UNKNOWN_CONDITION_FOR_ACTION"}


def test_the_community_auditors_flag_only_what_any_iam_and_lambda_writer_gets():
    found = {
        (f["severity"], f["issue"], (f.get("location") or {}).get("type"))
        for f in parliament(document(PROD), "--include-community-auditors")
    }
    assert found == COMMUNITY_FLAGS


# -- the escalation patterns, closed -------------------------------------------------------------


@functools.cache
def prod_policy() -> dict:
    return document(PROD)


def verdict(action: str, resource: str, **context) -> str | None:
    keys = {key.replace("__", ":"): [value] for key, value in context.items()}
    return allowing_statement(prod_policy(), action, resource, keys)


@pytest.mark.parametrize(
    "action,resource,context",
    [
        ("iam:CreateRole", f"{IAM}:role/admin", {}),
        ("iam:CreateRole", f"{IAM}:role/{NAME}-admin", {}),
        ("iam:PutRolePolicy", f"{IAM}:role/OrganizationAccountAccessRole", {}),
        ("iam:UpdateAssumeRolePolicy", f"{IAM}:role/admin", {}),
        ("iam:PassRole", f"{IAM}:role/admin", {"iam__PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", f"{IAM}:role/{NAME}-nat-zero-lambda", {"iam__PassedToService": "ec2.amazonaws.com"}),
        ("iam:PassRole", f"{IAM}:role/{NAME}-nat-zero-instance", {"iam__PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", f"{IAM}:role/{NAME}-nat-zero-lambda", {"iam__PassedToService": "glue.amazonaws.com"}),
        (
            "iam:AttachRolePolicy",
            f"{IAM}:role/{NAME}-nat-zero-instance",
            {"iam__PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        (
            "iam:AttachRolePolicy",
            f"{IAM}:role/{NAME}-nat-zero-lambda",
            {"iam__PolicyARN": f"arn:aws:iam::aws:policy/{SSM_CORE}"},
        ),
        ("lambda:CreateFunction", f"{LAMBDA}:backdoor", {}),
        ("lambda:UpdateFunctionCode", f"{LAMBDA}:payments", {}),
        ("lambda:UpdateFunctionConfiguration", f"{LAMBDA}:{NAME}-nat-zero-other", {}),
        ("lambda:InvokeFunction", f"{LAMBDA}:payments", {}),
        ("ec2:TerminateInstances", f"{EC2}:instance/i-0123456789abcdef0", {}),
        (
            "ec2:TerminateInstances",
            f"{EC2}:instance/i-0123456789abcdef0",
            {"ec2__ResourceTag/nat-zero:deployment": "someone-else", "ec2__ResourceTag/nat-zero:managed": "true"},
        ),
        ("ec2:CreateRoute", f"{EC2}:route-table/rtb-0123456789abcdef0", {"ec2__Vpc": f"{EC2}:vpc/vpc-other"}),
        ("ec2:AuthorizeSecurityGroupIngress", f"{EC2}:security-group/sg-0123456789abcdef0", {}),
        ("ec2:CreateLaunchTemplate", f"{EC2}:launch-template/*", {}),
        ("ec2:CreateTags", f"{EC2}:instance/i-0123456789abcdef0", {"aws__RequestTag/nat-zero:deployment": NAME}),
    ],
)
def test_reaching_outside_the_deployment_is_denied(action, resource, context):
    assert verdict(action, resource, **context) is None


@pytest.mark.parametrize(
    "action,resource,context",
    [
        ("iam:CreateRole", f"{IAM}:role/{NAME}-nat-zero-lambda", {}),
        ("iam:PassRole", f"{IAM}:role/{NAME}-nat-zero-lambda", {"iam__PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", f"{IAM}:role/{NAME}-nat-zero-instance", {"iam__PassedToService": "ec2.amazonaws.com"}),
        (
            "iam:AttachRolePolicy",
            f"{IAM}:role/{NAME}-nat-zero-instance",
            {"iam__PolicyARN": f"arn:aws:iam::aws:policy/{SSM_CORE}"},
        ),
        ("lambda:UpdateFunctionCode", f"{LAMBDA}:{NAME}-nat-zero", {}),
        (
            "ec2:TerminateInstances",
            f"{EC2}:instance/i-0123456789abcdef0",
            {"ec2__ResourceTag/nat-zero:deployment": NAME, "ec2__ResourceTag/nat-zero:managed": "true"},
        ),
        ("ec2:CreateRoute", f"{EC2}:route-table/rtb-0123456789abcdef0", {"ec2__Vpc": f"{EC2}:vpc/{VPC}"}),
    ],
)
def test_the_same_on_the_deployments_own_resources_is_allowed(action, resource, context):
    """The denials above are the scope, not a policy that allows nothing."""
    assert verdict(action, resource, **context) is not None


# -- the whole lifecycle under the exact policy ----------------------------------------------------

# Granted for calls this lifecycle does not make: the modules can make them
# (their options allow it), the role does not.
NOT_IN_THE_LIFECYCLE = {
    "CreateTheEc2SpotServiceLinkedRole": "only for nat_zero_market_type: spot",
    "FindTheEc2SpotServiceLinkedRole": "only for nat_zero_market_type: spot",
    "ConfirmTheRegionsReconcilers": "only when other deployments share the region at teardown",
    "ManageItsAlarmTopic": "only for nat_zero_alarms without nat_zero_alarm_topic_arn",
    "UnsubscribeFromTheAlarmTopic": "only for nat_zero_alarms without nat_zero_alarm_topic_arn",
    "PassTheFlowLogsRoleToVpcFlowLogs": "only for nat_zero_flow_logs: cloudwatch",
    "DeliverFlowLogsToS3": "only for nat_zero_flow_logs: s3",
    "CreateTaggedFlowLogs": "only for nat_zero_flow_logs",
    "LogTheDeploymentsEnis": "only for nat_zero_flow_logs",
}


@pytest.mark.integration
def test_a_whole_lifecycle_runs_under_exactly_the_deployer_policy(
    make_vpc, run_playbook, aws, moto_endpoint, monkeypatch, tmp_path
):
    variables = make_vpc(NAME, second_octet=60)
    policy = document(Deployment(NAME, DEFAULT_ACCOUNT_ID, REGION, "aws", variables["nat_zero_vpc_id"]))
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    log = tmp_path / "authorizations.jsonl"
    held = {
        "PYTHONPATH": os.pathsep.join([str(deployer.SITE), str(REPO)]),
        deployer.POLICY_ENV: str(tmp_path / "policy.json"),
        deployer.LOG_ENV: str(log),
        deployer.ACCOUNT_ENV: DEFAULT_ACCOUNT_ID,
    }

    def verdicts() -> list:
        return [json.loads(line) for line in log.read_text().splitlines()]

    run_playbook("site.yml", variables, env=held, label="deploy").assert_ok()
    assert verdicts(), "no call was authorized: the hook is not installed"
    # The user's own Elastic IPs, one per AZ: lent by the change, given back (never released) by teardown.
    ec2 = aws("ec2")
    users_eips = [ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in variables["nat_zero_availability_zones"]]
    changed = dict(
        variables,
        nat_zero_tags={"team": "network"},
        nat_zero_lambda_memory_size=256,
        nat_zero_eip_mode="static",
        nat_zero_eip_allocation_ids=users_eips,
    )
    run_playbook("site.yml", changed, env=held, label="change").assert_ok()
    # Tags read back (lambda:ListTags) and compared: nothing to change.
    again = run_playbook("site.yml", changed, env=held, label="again").assert_ok()
    assert again.recap["changed"] == 0, again.tail()

    # A NAT running, so teardown terminates it and releases its EIP.
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image,
        InstanceType="t4g.nano",
        MinCount=1,
        MaxCount=1,
        SubnetId=variables["nat_zero_private_subnets"][0],
    )
    deployed_handler(aws, f"{NAME}-nat-zero", moto_endpoint, monkeypatch)({"action": "reconcile"}, None)
    assert deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])["instances"]

    run_playbook("teardown.yml", changed, env=held, label="teardown").assert_ok()
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}
    kept = ec2.describe_addresses(AllocationIds=users_eips)["Addresses"]
    assert [a.get("Tags", []) for a in kept] == [[], []]

    denied = [v for v in verdicts() if v["sid"] is None]
    assert denied == []
    used = {v["sid"] for v in verdicts()}
    granted = {s["Sid"] for s in policy["Statement"]}
    sometimes = set(NOT_IN_THE_LIFECYCLE)
    assert used - sometimes == granted - sometimes, f"granted but never needed: {granted - used - sometimes}"
    companions = {v["action"] for v in verdicts() if v["action"].split(":")[1] != v["operation"]}
    assert {"iam:TagRole", "iam:TagInstanceProfile", "lambda:ListTags", "lambda:TagResource", "iam:PassRole"} <= (
        companions
    )


# -- the README's command ----------------------------------------------------------------------------


def test_the_readme_command_renders_the_policy_for_a_deployment(tmp_path):
    """Run literally, from a folder that looks like the checkout (so the file it writes lands in tmp_path)."""
    [command] = [
        line.strip()
        for line in (REPO / "README.md").read_text().splitlines()
        if line.strip().startswith(".venv/bin/python tools/deployer_policy.py")
    ]
    (tmp_path / ".venv").symlink_to(BIN.parent)
    (tmp_path / "tools").symlink_to(REPO / "tools")
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
    rendered = json.loads((tmp_path / "deployer-policy.json").read_text())
    assert rendered == document(Deployment("prod", "123456789012", "eu-west-1", "aws", "vpc-0123456789abcdef0"))
    assert parliament(rendered, "--minimum_severity", "MEDIUM") == []


# -- AWS checks the companion actions (issue 12 item 5) -------------------------------------------------


def without(policy: dict, action: str) -> dict:
    trimmed = copy.deepcopy(policy)
    for statement in trimmed["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    trimmed["Statement"] = [s for s in trimmed["Statement"] if s["Action"]]
    return trimmed


def authorized(service: str, policy: dict, log: Path):
    client = boto3.client(service, region_name=REGION)
    deployer.DeployerAuthorizer(client, policy, str(log), DEFAULT_ACCOUNT_ID)
    return client


@pytest.fixture
def in_process_aws(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_an_instance_profile_created_with_tags_needs_tag_instance_profile(in_process_aws, tmp_path):
    tags = [{"Key": "nat-zero:deployment", "Value": NAME}]
    profile = f"{NAME}-nat-zero-instance"
    iam = authorized("iam", without(prod_policy(), "iam:TagInstanceProfile"), tmp_path / "log")
    with pytest.raises(ClientError, match="iam:TagInstanceProfile"):
        iam.create_instance_profile(InstanceProfileName=profile, Tags=tags)
    authorized("iam", prod_policy(), tmp_path / "log").create_instance_profile(InstanceProfileName=profile, Tags=tags)


def test_get_function_returns_its_tags_only_with_list_tags(in_process_aws, tmp_path):
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{NAME}-nat-zero-lambda", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    function = f"{NAME}-nat-zero"
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    authorized("lambda", prod_policy(), tmp_path / "log").create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Tags={"nat-zero:deployment": NAME},
    )
    blind = authorized("lambda", without(prod_policy(), "lambda:ListTags"), tmp_path / "log")
    assert "Tags" not in blind.get_function(FunctionName=function)
    seeing = authorized("lambda", prod_policy(), tmp_path / "log")
    assert seeing.get_function(FunctionName=function)["Tags"] == {"nat-zero:deployment": NAME}
