#!/usr/bin/env python3
"""Generate the IAM policy of whoever runs playbooks/site.yml and teardown.yml
for one deployment (`nat_zero_name`), from what the modules call.

The actions: for each file under plugins/, the services it creates clients
for (every service, for shared helpers that create none) and every operation
of those services it names, directly, as a paginator or through a waiter;
plus the companion actions AWS checks besides a call's own (COMPANIONS).
Each action then goes to the one statement (SCOPES) that holds it to what a
deployment creates: its roles, instance profile, function, log group and
rules by name, its EC2 resources by the deployment tag (a request tag on
create, the resource's tag after), routes by VPC, and so on. An action the
code calls that no statement scopes stops the generator: a new call gets a
deliberate scope, never a "*".

    python tools/deployer_policy.py                  # rewrite docs/deployer-policy.json (name "example")
    python tools/deployer_policy.py --check          # exit 1 if it is out of date
    python tools/deployer_policy.py --name prod --account 123456789012 --region eu-west-1 \\
        --vpc-id vpc-0123456789abcdef0               # print the policy for one deployment
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import botocore.session

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "deployer-policy.json"
EXAMPLE_NAME = "example"
SERVICES = ("ec2", "iam", "lambda", "logs", "events", "ssm", "cloudwatch", "resourcegroupstaggingapi", "sns")
# Where the IAM action is not named like the API operation.
IAM_ACTION_NAMES = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "resourcegroupstaggingapi:GetResources": "tag:GetResources",
}
# Names the scan above matches in a file that makes clients of two services,
# for the one service that does not have that call.
NOT_CALLED = {
    "events:RemovePermission",  # event_rule.py removes the Lambda permission, not an event bus's
}
# Modules that no deployment runs: baking a NAT image (playbooks/bake_ami.yml)
# is a one-off build with image rights of its own (docs/operations.md), not
# something the deployer should hold.
NOT_DEPLOYING = {"plugins/modules/nat_ami.py"}
# Actions IAM authorizes besides the call's own, for the calls the modules
# make: tags given at creation are authorized as their service's tagging
# action, GetFunction returns tags only with ListTags, and creating or
# changing what runs as a role passes that role.
COMPANIONS = {
    "iam:CreateRole": ("iam:TagRole",),
    "iam:CreateInstanceProfile": ("iam:TagInstanceProfile",),
    "iam:AddRoleToInstanceProfile": ("iam:PassRole",),
    "lambda:CreateFunction": ("lambda:TagResource", "iam:PassRole"),
    "lambda:UpdateFunctionConfiguration": ("iam:PassRole",),
    "lambda:GetFunction": ("lambda:ListTags",),
    "logs:CreateLogGroup": ("logs:TagResource",),
    "events:PutRule": ("events:TagResource",),
    "cloudwatch:PutMetricAlarm": ("cloudwatch:TagResource",),
    "sns:CreateTopic": ("sns:TagResource",),
    # Flow logs to CloudWatch Logs pass their delivery role; to S3 they need a log delivery.
    "ec2:CreateFlowLogs": ("iam:PassRole", "logs:CreateLogDelivery"),
    "ec2:DeleteFlowLogs": ("logs:DeleteLogDelivery",),
    "ec2:CreateSecurityGroup": ("ec2:CreateTags",),
    "ec2:CreateNetworkInterface": ("ec2:CreateTags",),
    "ec2:CreateLaunchTemplate": ("ec2:CreateTags",),
}
DEPLOYMENT_TAG = "nat-zero:deployment"
NAT_TAG = ("nat-zero:managed", "true")
EIP_OWNER_TAG = ("nat-zero:eip-owner", "user")
SSM_CORE = "AmazonSSMManagedInstanceCore"
# The region's dispatcher, shared by its deployments (roles/nat_zero/vars/main.yml
# nat_zero__dispatcher_*): every deployer of the region may create, update or
# remove it. IAM is global, so its role's name carries the region.
DISPATCHER = "nat-zero-dispatch"
# The EC2 creates whose tags the deployer gives at creation (ec2:CreateAction).
EC2_CREATES = ("CreateSecurityGroup", "CreateNetworkInterface", "CreateLaunchTemplate", "CreateFlowLogs")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def called_actions() -> set:
    """The IAM actions of the operations the modules call."""
    session = botocore.session.get_session()
    models = {svc: session.get_service_model(svc) for svc in SERVICES}
    waiters = {}
    for svc in SERVICES:
        try:
            config = session.get_waiter_model(svc)
        except Exception:  # a service without waiters
            continue
        waiters[svc] = {_snake(name): config.get_waiter(name).operation for name in config.waiter_names}
    found = set()
    for path in sorted((REPO / "plugins").rglob("*.py")):
        if path.relative_to(REPO).as_posix() in NOT_DEPLOYING:
            continue
        text = path.read_text()
        used = set(re.findall(r"client\(\s*[\"'](\w+)[\"']", text)) & set(SERVICES) or set(SERVICES)
        words = set(re.findall(r"[a-z][a-z0-9_]+", text))
        for svc in used:
            for operation in models[svc].operation_names:
                if _snake(operation) in words:
                    found.add(f"{svc}:{operation}")
            for waiter, operation in waiters.get(svc, {}).items():
                if waiter in words:
                    found.add(f"{svc}:{operation}")
    return {IAM_ACTION_NAMES.get(action, action) for action in found} - NOT_CALLED


def actions() -> list:
    """What the deployer needs: the calls and their companion actions."""
    called = called_actions()
    return sorted(called | {c for action in called for c in COMPANIONS.get(action, ())})


@dataclass(frozen=True)
class Deployment:
    """What the policy is rendered for; "*" where the caller leaves it open."""

    name: str = EXAMPLE_NAME
    account: str = "*"
    region: str = "*"
    partition: str = "aws"
    vpc_id: str = "*"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def ec2(self, resource: str) -> str:
        return self.arn("ec2", resource)

    def iam(self, resource: str) -> str:
        return self.arn("iam", resource, region=False)

    @property
    def prefix(self) -> str:
        """Every name the role gives starts with it (roles/nat_zero/vars/main.yml)."""
        return f"{self.name}-nat-zero"

    @property
    def in_vpc(self) -> dict:
        if self.vpc_id == "*":
            return {}
        return {"ArnEquals": {"ec2:Vpc": self.ec2(f"vpc/{self.vpc_id}")}}


def scopes(d: Deployment) -> list:
    """(Sid, actions, resources, condition) of every statement the policy may hold."""
    function = d.arn("lambda", f"function:{d.prefix}")
    log_group = d.arn("logs", f"log-group:/aws/lambda/{d.prefix}")
    flow_log_group = d.arn("logs", f"log-group:{d.prefix}-flow-logs")
    ours = {"StringEquals": {f"ec2:ResourceTag/{DEPLOYMENT_TAG}": d.name}}
    dispatcher = d.arn("lambda", f"function:{DISPATCHER}")
    dispatcher_role = d.iam(f"role/{DISPATCHER}-{d.region}")
    dispatcher_log_group = d.arn("logs", f"log-group:/aws/lambda/{DISPATCHER}")
    return [
        ("ReadEc2", "ec2:Describe*", ["*"], {}),
        (
            "ReadThePublicAmiParameters",
            ["ssm:GetParameter"],
            # Public parameters belong to no account: their ARN has none.
            [f"arn:{d.partition}:ssm:{d.region}:*:parameter/aws/service/*"],
            {},
        ),
        ("ReadLambdaAccountSettings", ["lambda:GetAccountSettings"], ["*"], {}),
        ("ListLogGroups", ["logs:DescribeLogGroups"], ["*"], {}),
        # A topic is found by name without creating it: ListTopics has no resource.
        ("ListTopics", ["sns:ListTopics"], ["*"], {}),
        # Unsubscribe names a subscription, which IAM has no resource type for:
        # only a confirmed subscription the alarm topic no longer asks for is removed.
        ("UnsubscribeFromTheAlarmTopic", ["sns:Unsubscribe"], ["*"], {}),
        (
            "ManageTheDeploymentsRoles",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:DetachRolePolicy",
                "iam:ListRoleTags",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListInstanceProfilesForRole",
            ],
            [d.iam(f"role/{d.prefix}-*"), dispatcher_role],
            {},
        ),
        (
            "AttachOnlyTheSsmCorePolicy",
            ["iam:AttachRolePolicy"],
            [d.iam(f"role/{d.prefix}-instance")],
            {"ArnEquals": {"iam:PolicyARN": f"arn:{d.partition}:iam::aws:policy/{SSM_CORE}"}},
        ),
        (
            "ManageTheNatInstanceProfile",
            [
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
                "iam:ListInstanceProfileTags",
            ],
            [d.iam(f"instance-profile/{d.prefix}-*")],
            {},
        ),
        # natzero.aws.iam_role looks for an instance profile of the role's
        # name even when it makes none: the dispatcher's role has none.
        (
            "SeeTheDispatcherRoleHasNoInstanceProfile",
            ["iam:GetInstanceProfile"],
            [d.iam(f"instance-profile/{DISPATCHER}-{d.region}")],
            {},
        ),
        (
            "PassTheNatInstanceRoleToEc2",
            ["iam:PassRole"],
            [d.iam(f"role/{d.prefix}-instance")],
            # AddRoleToInstanceProfile passes the role too, and AWS does not
            # document a service for it: where the key is absent, allowed.
            {"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        (
            "PassTheReconcilerAndDispatcherRolesToLambda",
            ["iam:PassRole"],
            [d.iam(f"role/{d.prefix}-lambda"), dispatcher_role],
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
        (
            "PassTheFlowLogsRoleToVpcFlowLogs",
            ["iam:PassRole"],
            [d.iam(f"role/{d.prefix}-flow-logs")],
            {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}},
        ),
        # Log deliveries (flow logs to S3) have no resource type to scope them to.
        ("DeliverFlowLogsToS3", ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"], ["*"], {}),
        (
            "CreateTaggedFlowLogs",
            ["ec2:CreateFlowLogs"],
            [d.ec2("vpc-flow-log/*")],
            {"StringEquals": {f"aws:RequestTag/{DEPLOYMENT_TAG}": d.name}},
        ),
        # The flow log being created has no tags yet: the statement above allows it.
        (
            "LogTheDeploymentsEnis",
            ["ec2:CreateFlowLogs"],
            [d.ec2("network-interface/*"), d.ec2("vpc-flow-log/*")],
            ours,
        ),
        # natzero.aws.service_linked_role finds the role by its path; ListRoles
        # has no resource type to scope it to.
        ("FindTheEc2SpotServiceLinkedRole", ["iam:ListRoles"], ["*"], {}),
        (
            "CreateTheEc2SpotServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [d.iam("role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot")],
            {"StringEquals": {"iam:AWSServiceName": "spot.amazonaws.com"}},
        ),
        (
            "ManageTheReconcilerFunction",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:GetFunctionConcurrency",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:GetPolicy",
                "lambda:ListTags",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:InvokeFunction",
            ],
            [function, dispatcher],
            {},
        ),
        # Teardown removes the dispatcher with the region's last deployment:
        # it lists the reconcilers by tag, and confirms each (the tagging API
        # lags behind deletions).
        ("ListTheRegionsReconcilers", ["tag:GetResources"], ["*"], {}),
        (
            "ConfirmTheRegionsReconcilers",
            ["lambda:GetFunction", "lambda:ListTags"],
            [d.arn("lambda", "function:*-nat-zero")],
            {},
        ),
        (
            "ManageItsLogGroup",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            [
                log_group,
                f"{log_group}:*",
                dispatcher_log_group,
                f"{dispatcher_log_group}:*",
                flow_log_group,
                f"{flow_log_group}:*",
            ],
            {},
        ),
        (
            "ManageItsRules",
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:DescribeRule",
                "events:EnableRule",
                "events:DisableRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:ListTargetsByRule",
                "events:ListTagsForResource",
                "events:TagResource",
                "events:UntagResource",
            ],
            [d.arn("events", f"rule/{d.prefix}-*"), d.arn("events", f"rule/{DISPATCHER}-*")],
            {},
        ),
        (
            "ManageItsDashboard",
            ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
            # Dashboards belong to the account, not a region: their ARN has none.
            [d.arn("cloudwatch", f"dashboard/{d.prefix}-*", region=False)],
            {},
        ),
        (
            "ManageItsAlarms",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            [d.arn("cloudwatch", f"alarm:{d.prefix}-*")],
            {},
        ),
        (
            "ManageItsAlarmTopic",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            [d.arn("sns", f"{d.prefix}-*")],
            {},
        ),
        (
            "CreateTaggedLaunchTemplates",
            ["ec2:CreateLaunchTemplate"],
            [d.ec2("launch-template/*")],
            {"StringEquals": {f"aws:RequestTag/{DEPLOYMENT_TAG}": d.name}},
        ),
        # Tagged at creation too, but EC2 gives the request's tags only to the
        # resource being created, not to the VPC or subnet it names: held to
        # the VPC instead.
        (
            "CreateSecurityGroupsInTheVpc",
            ["ec2:CreateSecurityGroup"],
            [d.ec2("security-group/*"), d.ec2(f"vpc/{d.vpc_id}")],
            {},
        ),
        (
            "CreateNetworkInterfacesInTheVpc",
            ["ec2:CreateNetworkInterface"],
            [d.ec2("network-interface/*"), d.ec2("subnet/*"), d.ec2("security-group/*")],
            d.in_vpc,
        ),
        (
            "TagOnlyWhileCreating",
            ["ec2:CreateTags"],
            [
                d.ec2("security-group/*"),
                d.ec2("network-interface/*"),
                d.ec2("launch-template/*"),
                d.ec2("vpc-flow-log/*"),
            ],
            {
                "StringEquals": {
                    "ec2:CreateAction": list(EC2_CREATES),
                    f"aws:RequestTag/{DEPLOYMENT_TAG}": d.name,
                }
            },
        ),
        # nat_zero_eip_allocation_ids: the user's own Elastic IP, not yet
        # tagged, is lent to the deployment by tagging it (natzero.aws.nat_eip);
        # once tagged, the statement below covers giving it back.
        (
            "LendTheUsersElasticIps",
            ["ec2:CreateTags"],
            [d.ec2("elastic-ip/*")],
            {
                "StringEquals": {
                    f"aws:RequestTag/{DEPLOYMENT_TAG}": d.name,
                    f"aws:RequestTag/{EIP_OWNER_TAG[0]}": EIP_OWNER_TAG[1],
                }
            },
        ),
        (
            "ChangeTheDeploymentsEc2Resources",
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:DeleteSecurityGroup",
                "ec2:ModifyNetworkInterfaceAttribute",
                "ec2:DetachNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:ModifyLaunchTemplate",
                "ec2:DeleteLaunchTemplate",
                "ec2:CreateTags",
                "ec2:DeleteTags",
                "ec2:DisassociateAddress",
                "ec2:ReleaseAddress",
                "ec2:DeleteFlowLogs",
            ],
            [
                d.ec2("security-group/*"),
                d.ec2("network-interface/*"),
                d.ec2("launch-template/*"),
                d.ec2("elastic-ip/*"),
                d.ec2("instance/*"),
                d.ec2("vpc-flow-log/*"),
            ],
            ours,
        ),
        (
            "TerminateTheDeploymentsNats",
            ["ec2:TerminateInstances"],
            [d.ec2("instance/*")],
            {"StringEquals": {**ours["StringEquals"], f"ec2:ResourceTag/{NAT_TAG[0]}": NAT_TAG[1]}},
        ),
        (
            "RouteThePrivateSubnetsInTheVpc",
            ["ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"],
            [d.ec2("route-table/*")],
            d.in_vpc,
        ),
    ]


def _granted(pattern, action: str) -> bool:
    patterns = [pattern] if isinstance(pattern, str) else pattern
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), action) for p in patterns)


def document(deployment: Deployment | None = None) -> dict:
    """The policy for `deployment`: each action of actions() in every
    statement that scopes it, statements no action needs left out."""
    deployment = deployment or Deployment()
    needed = actions()
    statements, scoped = [], set()
    for sid, granted, resources, condition in scopes(deployment):
        mine = [a for a in needed if _granted(granted, a)]
        if not mine:
            continue
        scoped.update(mine)
        statement = {"Sid": sid, "Effect": "Allow", "Action": mine, "Resource": resources}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    unscoped = sorted(set(needed) - scoped)
    if unscoped:
        raise SystemExit(f"no statement of tools/deployer_policy.py scopes {', '.join(unscoped)}: add one")
    return {"Version": "2012-10-17", "Statement": statements}


def policy(deployment: Deployment | None = None) -> str:
    return json.dumps(document(deployment), indent=2) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/deployer-policy.json is out of date")
    parser.add_argument("--name", help="the deployment's nat_zero_name: print its policy instead of writing docs/")
    parser.add_argument("--account", default="*", help="the AWS account ID (default: any)")
    parser.add_argument("--region", default="*", help="the deployment's region (default: any)")
    parser.add_argument("--partition", default="aws", help="aws, aws-cn, aws-us-gov, ... (default: aws)")
    parser.add_argument("--vpc-id", default="*", help="nat_zero_vpc_id: routes change only in it (default: any)")
    args = parser.parse_args(argv)
    if args.name:
        print(policy(Deployment(args.name, args.account, args.region, args.partition, args.vpc_id)), end="")
        return 0
    wanted = policy()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != wanted:
            print(f"{OUTPUT} is out of date: run python tools/deployer_policy.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
