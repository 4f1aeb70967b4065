#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_zero_verify_info
short_description: Check a live scale-to-zero NAT deployment end to end and name every finding
version_added: 0.2.0
description:
  - Reads a deployment made by the C(natzero.aws.nat_zero) role and checks, per availability zone, that the
    private route table's default route goes to the AZ's private ENI (or to another AZ's, which is reported as
    a failover), that both ENIs exist with source/dest check off, that the security group admits nothing from
    outside the deployment's private CIDRs, that the launch template requires IMDSv2 (hop limit 1) and an
    encrypted root volume, and that a running NAT has an Elastic IP on its public ENI and runs the template's
    config version.
  - Checks, once for the deployment, that the reconciler function exists with reserved concurrency 1, runs the
    code packaged from O(source_path), and has the expected environment; that both rules are enabled and
    target it; that its invoke permissions are scoped to those rules; that its log group keeps logs for
    O(log_retention_days); and that no Elastic IP or NAT instance of the deployment is orphaned.
  - Only reads (Describe, Get and List calls). Each finding names the resource ID and the fix.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description: The deployment name (C(nat_zero_name)).
    type: str
    required: true
  vpc_id:
    description: The VPC of the deployment.
    type: str
    required: true
  availability_zones:
    description: The availability zones of the deployment.
    type: list
    elements: str
    required: true
  route_table_ids:
    description: The private route table of each AZ, in the order of O(availability_zones).
    type: list
    elements: str
    required: true
  private_cidrs:
    description: The private subnet CIDR of each AZ, in the order of O(availability_zones).
    type: list
    elements: str
    required: true
  encrypt_root_volume:
    description: Whether the launch templates must encrypt the root volume.
    type: bool
    default: true
  function_name:
    description: The reconciler function.
    type: str
    required: true
  source_path:
    description: The directory the function's code is packaged from; its package's hash must be the deployed one.
    type: path
    required: true
  source_include:
    description: Top-level names in O(source_path) that the package holds (all when omitted).
    type: list
    elements: str
  environment:
    description:
      - Environment variables the function must have with these values. Variables not named here are not
        compared, except C(NAT_ZERO_ZONES) and C(NAT_ZERO_CONFIG_VERSION), which must match the ENIs and launch
        templates found.
    type: dict
    default: {}
  rule_names:
    description: The rules that must be enabled, target the function and be the only sources of its invoke permission.
    type: list
    elements: str
    required: true
  switched_rule_names:
    description:
      - Rules the reconciler enables and disables itself (the health rule, enabled only while a NAT runs). They must
        exist and target the function, and may be sources of its invoke permission; their state is not a finding.
    type: list
    elements: str
    default: []
  zone_settings:
    description:
      - What the role adds to each AZ's entry of C(NAT_ZERO_ZONES) beyond its ENIs and launch template (its route
        tables, private subnets and CIDRs), by AZ; compared with the function's environment like the rest.
    type: dict
    default: {}
  dispatcher_function_name:
    description:
      - The region's dispatcher, which hands each EC2 instance event to its VPC's reconciler. With
        O(dispatcher_rule_name), it must exist and that rule must be enabled and target it.
    type: str
  dispatcher_rule_name:
    description: The rule that sends the region's EC2 instance state changes to O(dispatcher_function_name).
    type: str
  log_group_name:
    description: The function's log group; omit when logging is off.
    type: str
  log_retention_days:
    description: The retention the log group must have.
    type: int
  static_allocation_ids:
    description: Elastic IPs the user owns (static EIP mode); they are never orphans.
    type: list
    elements: str
    default: []
  dashboard_name:
    description: The deployment's dashboard, checked to exist when given.
    type: str
  alarm_names:
    description: The deployment's alarms, each checked to exist, with its actions enabled and notifying O(alarm_topic).
    type: list
    elements: str
    default: []
  alarm_topic:
    description:
      - The SNS topic every alarm of O(alarm_names) notifies (and only it), as an ARN or as the name of a topic in
        the alarm's own account and region.
    type: str
  flow_logs_name:
    description:
      - The C(Name) tag of the deployment's flow logs, when it has them; every ENI of the deployment must have one
        that delivers.
    type: str
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.nat_zero.nat_tag
notes:
  - Supports check mode. Always reports C(changed=false); a finding is a result, not a failure of the module.
  - C(playbooks/verify.yml) runs it with the role's variables and fails on any finding.
"""

EXAMPLES = r"""
- name: Check the deployment
  natzero.aws.nat_zero_verify_info:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zones: [us-east-1a, us-east-1b]
    route_table_ids: [rtb-0aaaaaaaaaaaaaaaa, rtb-0bbbbbbbbbbbbbbbb]
    private_cidrs: [10.0.101.0/24, 10.0.102.0/24]
    function_name: prod-nat-zero
    source_path: "{{ playbook_dir }}/../lambda_src"
    source_include: [nat_zero]
    environment: {NAT_ZERO_NAME: prod}
    rule_names: [prod-nat-zero-sweep]
    dispatcher_function_name: nat-zero-dispatch
    dispatcher_rule_name: nat-zero-dispatch-ec2-state
    log_group_name: /aws/lambda/prod-nat-zero
    log_retention_days: 14
  register: verify

- name: Fail on any finding
  ansible.builtin.assert:
    that: verify.findings | length == 0
    fail_msg: "{{ verify.findings | map(attribute='message') | list }}"
"""

RETURN = r"""
findings:
  description: Everything that is not as deployed, each with where, what and the fix.
  returned: always
  type: list
  elements: dict
  contains:
    scope:
      description: The AZ, or C(deployment).
      type: str
      sample: us-east-1a
    resource_id:
      description: The resource the finding is about.
      type: str
      sample: rtb-0aaaaaaaaaaaaaaaa
    finding:
      description: What is wrong.
      type: str
      sample: the default route 0.0.0.0/0 is missing
    fix:
      description: What to do about it.
      type: str
      sample: run playbooks/site.yml with the same variables
    message:
      description: The finding in one line, for a failure message.
      type: str
      sample: "us-east-1a: rtb-0aaaaaaaaaaaaaaaa: the default route 0.0.0.0/0 is missing; fix: run playbooks/site.yml with the same variables"
  sample:
    - scope: us-east-1a
      resource_id: rtb-0aaaaaaaaaaaaaaaa
      finding: the default route 0.0.0.0/0 is missing
      fix: run playbooks/site.yml with the same variables
      message: "us-east-1a: rtb-0aaaaaaaaaaaaaaaa: the default route 0.0.0.0/0 is missing; fix: run playbooks/site.yml with the same variables"
rows:
  description: One row per AZ and one for the deployment (C(scope) C(deployment)), for a table.
  returned: always
  type: list
  elements: dict
  contains:
    scope:
      description: The AZ, or C(deployment).
      type: str
      sample: us-east-1a
    summary:
      description: What was checked and seen, in a few words.
      type: str
      sample: route -> eni-0fedcba9876543210, NAT stopped, no EIP
    status:
      description: C(ok), C(failover) or the number of findings.
      type: str
      sample: ok
  sample:
    - {scope: us-east-1a, summary: "route -> eni-0fedcba9876543210, NAT stopped, no EIP", status: ok}
table:
  description: RV(rows) as lines of a fixed-width table.
  returned: always
  type: list
  elements: str
  sample: ["scope      | checked                                       | status", "us-east-1a | route -> eni-0fedcba9876543210, NAT stopped, no EIP | ok"]
"""

import ipaddress
import json

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ValidationError, is_error
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import default_route, describe_instances, route_target
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    AZ_TAG,
    CONFIG_VERSION_TAG,
    DEPLOYMENT_TAG,
    INTERFACE_TAG,
    LIVE_INSTANCE_STATES,
    VPC_TAG,
    nat_tag_argument_spec,
    resource_name,
)
from ansible_collections.natzero.aws.plugins.module_utils.package import build_zip, code_sha256
from ansible_collections.natzero.aws.plugins.module_utils.tags import tag_filters, tags_to_dict

DEPLOYMENT = "deployment"
REDEPLOY = "run playbooks/site.yml with the same variables"
EVENTS_PRINCIPAL = "events.amazonaws.com"


class Findings:
    """The findings of one run, in the order they were found."""

    def __init__(self):
        self.items = []

    def add(self, scope, resource_id, finding, fix=REDEPLOY):
        message = "%s: %s: %s; fix: %s" % (scope, resource_id, finding, fix)
        self.items.append(dict(scope=scope, resource_id=resource_id, finding=finding, fix=fix, message=message))

    def count(self, scope):
        return sum(1 for f in self.items if f["scope"] == scope)


def outside_cidrs(permission, allowed):
    """The sources of an ingress permission that are not inside an allowed network."""
    sources = [r["CidrIp"] for r in permission.get("IpRanges") or ()]
    sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges") or ()]
    outside = [
        s
        for s in sources
        if not any(
            ipaddress.ip_network(s).subnet_of(n) for n in allowed if ipaddress.ip_network(s).version == n.version
        )
    ]
    outside += [p["PrefixListId"] for p in permission.get("PrefixListIds") or ()]
    outside += [g["GroupId"] for g in permission.get("UserIdGroupPairs") or ()]
    return outside


class Verifier:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.ec2 = module.client("ec2")
        self.found = Findings()
        self.rows = []
        identity = {DEPLOYMENT_TAG: self.p["name"], VPC_TAG: self.p["vpc_id"]}
        self.deployment_filters = [{"Name": "vpc-id", "Values": [self.p["vpc_id"]]}] + tag_filters(identity)
        self.allowed = [ipaddress.ip_network(c) for c in self.p["private_cidrs"]]

    # -- reads ---------------------------------------------------------------

    def read_ec2(self):
        self.enis = self.ec2.describe_network_interfaces(Filters=self.deployment_filters)["NetworkInterfaces"]
        nat_filters = [
            {"Name": "vpc-id", "Values": [self.p["vpc_id"]]},
            {"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)},
        ] + tag_filters({self.p["nat_tag_key"]: self.p["nat_tag_value"], DEPLOYMENT_TAG: self.p["name"]})
        self.nats = describe_instances(self.ec2, nat_filters)
        self.addresses = self.ec2.describe_addresses(
            Filters=tag_filters({DEPLOYMENT_TAG: self.p["name"], VPC_TAG: self.p["vpc_id"]})
        )["Addresses"]
        # A filter, not RouteTableIds: a deleted table is then a finding, not InvalidRouteTableID.NotFound.
        table_filter = [{"Name": "route-table-id", "Values": sorted(set(self.p["route_table_ids"]))}]
        tables = self.ec2.describe_route_tables(Filters=table_filter)["RouteTables"]
        self.tables = {t["RouteTableId"]: t for t in tables}
        group_ids = sorted({g["GroupId"] for e in self.enis for g in e.get("Groups") or ()})
        groups = self.ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] if group_ids else []
        self.groups = {g["GroupId"]: g for g in groups}

    def eni(self, az, interface):
        for eni in self.enis:
            tags = tags_to_dict(eni.get("TagSet"))
            if tags.get(AZ_TAG) == az and tags.get(INTERFACE_TAG) == interface:
                return eni
        return None

    def template_version(self, az):
        name = resource_name(self.p["name"], az)
        try:
            versions = self.ec2.describe_launch_template_versions(LaunchTemplateName=name, Versions=["$Latest"])
        except ClientError as exc:
            if is_error(exc, "InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"):
                return None
            raise
        return versions["LaunchTemplateVersions"][0]

    # -- each AZ -------------------------------------------------------------

    def check_zone(self, index, az):
        found = self.found
        public, private = self.eni(az, "public"), self.eni(az, "private")
        for interface, eni in (("public", public), ("private", private)):
            if eni is None:
                found.add(az, resource_name(self.p["name"], az), "the %s ENI is missing" % interface)
            elif eni.get("SourceDestCheck") is not False:
                found.add(
                    az,
                    eni["NetworkInterfaceId"],
                    "source/dest check is on: the NAT drops forwarded traffic",
                    "aws ec2 modify-network-interface-attribute --network-interface-id %s --no-source-dest-check"
                    % eni["NetworkInterfaceId"],
                )
        route_note = self.check_route(az, self.p["route_table_ids"][index], private)
        for eni in (e for e in (public, private) if e):
            for group in eni.get("Groups") or ():
                self.check_group(az, group["GroupId"])
        template = self.templates[az] = self.template_version(az)
        self.check_template(az, template)
        nat_note, eip_note = self.check_nat(az, public, template)
        return "route -> %s, NAT %s, %s" % (route_note, nat_note, eip_note)

    def check_route(self, az, table_id, private):
        table = self.tables.get(table_id)
        if table is None:
            self.found.add(az, table_id, "the private route table does not exist")
            return "no table"
        route = default_route(table)
        target = route_target(route) if route else None
        if target is None:
            self.found.add(az, table_id, "the default route 0.0.0.0/0 is missing")
            return "none"
        if private and target == private["NetworkInterfaceId"]:
            return target
        if target in self.private_enis_of_other_zones(az):
            self.failover_zones.add(az)
            return "%s (failover)" % target
        self.found.add(
            az,
            table_id,
            "the default route goes to %s, not to the NAT's private ENI %s"
            % (target, private["NetworkInterfaceId"] if private else "(missing)"),
        )
        return target

    def private_enis_of_other_zones(self, az):
        return {
            e["NetworkInterfaceId"]
            for e in self.enis
            if tags_to_dict(e.get("TagSet")).get(INTERFACE_TAG) == "private"
            and tags_to_dict(e.get("TagSet")).get(AZ_TAG) != az
        }

    def check_group(self, az, group_id):
        if group_id in self.checked_groups:
            return
        self.checked_groups.add(group_id)
        group = self.groups.get(group_id)
        if group is None:
            self.found.add(az, group_id, "the security group does not exist")
            return
        for permission in group.get("IpPermissions") or ():
            outside = outside_cidrs(permission, self.allowed)
            if outside:
                self.found.add(
                    az,
                    group_id,
                    "the security group admits %s, outside the private CIDRs %s"
                    % (", ".join(outside), ", ".join(self.p["private_cidrs"])),
                    "remove that ingress rule (aws ec2 revoke-security-group-ingress --group-id %s ...), then %s"
                    % (group_id, REDEPLOY),
                )

    def check_template(self, az, template):
        name = resource_name(self.p["name"], az)
        if template is None:
            self.found.add(az, name, "the launch template is missing")
            return
        data = template.get("LaunchTemplateData") or {}
        metadata = data.get("MetadataOptions") or {}
        if metadata.get("HttpTokens") != "required" or metadata.get("HttpPutResponseHopLimit", 1) > 1:
            self.found.add(
                az, template["LaunchTemplateId"], "the launch template does not require IMDSv2 (hop limit 1)"
            )
        root = (data.get("BlockDeviceMappings") or [{}])[0].get("Ebs") or {}
        if self.p["encrypt_root_volume"] and not root.get("Encrypted"):
            self.found.add(az, template["LaunchTemplateId"], "the launch template's root volume is not encrypted")

    def check_nat(self, az, public, template):
        nats = [n for n in self.nats if n.get("Placement", {}).get("AvailabilityZone") == az]
        eips = [a for a in self.addresses if tags_to_dict(a.get("Tags")).get(AZ_TAG) == az]
        if len(nats) > 1:
            extra = ", ".join(n["InstanceId"] for n in nats[1:])
            self.found.add(
                az,
                extra,
                "more than one NAT instance in the AZ",
                "aws ec2 terminate-instances --instance-ids %s" % extra,
            )
        running = [n for n in nats if n["State"]["Name"] == "running"]
        on_public = [a for a in eips if public and a.get("NetworkInterfaceId") == public["NetworkInterfaceId"]]
        for nat in running:
            if not on_public:
                self.found.add(
                    az,
                    nat["InstanceId"],
                    "the running NAT has no Elastic IP on its public ENI",
                    'invoke %s with {"action": "reconcile"}' % self.p["function_name"],
                )
            version = tags_to_dict(nat.get("Tags")).get(CONFIG_VERSION_TAG)
            wanted = tagged_version(template) if template else None
            if wanted and version != wanted:
                self.found.add(
                    az,
                    nat["InstanceId"],
                    "the NAT runs config version %s, the template has %s" % (version, wanted),
                    'invoke %s with {"action": "reconcile"} (it replaces outdated NATs)' % self.p["function_name"],
                )
        for address in eips:
            if not address.get("AssociationId") and address["AllocationId"] not in self.p["static_allocation_ids"]:
                self.found.add(
                    az,
                    address["AllocationId"],
                    "the Elastic IP is orphaned (associated with nothing)",
                    "aws ec2 release-address --allocation-id %s" % address["AllocationId"],
                )
        nat_note = "%s %s" % (nats[0]["InstanceId"], nats[0]["State"]["Name"]) if nats else "none"
        eip_note = "EIP %s" % on_public[0].get("PublicIp") if on_public else "no EIP"
        return nat_note, eip_note

    # -- the deployment --------------------------------------------------------

    def check_strays(self):
        """NATs and EIPs of this deployment in AZs it does not serve."""
        zones = set(self.p["availability_zones"])
        for nat in self.nats:
            if nat.get("Placement", {}).get("AvailabilityZone") not in zones:
                self.found.add(
                    DEPLOYMENT,
                    nat["InstanceId"],
                    "a NAT instance of this deployment in an AZ it does not serve",
                    "aws ec2 terminate-instances --instance-ids %s" % nat["InstanceId"],
                )
        for address in self.addresses:
            if tags_to_dict(address.get("Tags")).get(AZ_TAG) not in zones:
                self.found.add(
                    DEPLOYMENT,
                    address["AllocationId"],
                    "an Elastic IP of this deployment in an AZ it does not serve",
                    "aws ec2 release-address --allocation-id %s" % address["AllocationId"],
                )

    def check_function(self):
        client = self.module.client("lambda")
        name = self.p["function_name"]
        try:
            function = client.get_function(FunctionName=name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                self.found.add(DEPLOYMENT, name, "the reconciler function does not exist")
                return None
            raise
        configuration = function["Configuration"]
        reserved = (function.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        if reserved != 1:
            self.found.add(
                DEPLOYMENT,
                name,
                "reserved concurrency is %s, not 1 (one writer of the NATs)" % reserved,
                "aws lambda put-function-concurrency --function-name %s --reserved-concurrent-executions 1" % name,
            )
        shipped = code_sha256(build_zip(self.p["source_path"], self.p["source_include"]))
        if configuration.get("CodeSha256") != shipped:
            self.found.add(
                DEPLOYMENT,
                name,
                "the deployed code (CodeSha256 %s) is not the shipped source (%s)"
                % (configuration.get("CodeSha256"), shipped),
            )
        # The reconciler ignores events of other accounts: its own is the function's.
        account = configuration["FunctionArn"].split(":")[4]
        self.check_environment(name, (configuration.get("Environment") or {}).get("Variables") or {}, account)
        return configuration["FunctionArn"]

    def expected_environment(self, account):
        zones = {}
        for az in self.p["availability_zones"]:
            public, private = self.eni(az, "public"), self.eni(az, "private")
            template = self.templates.get(az)
            zones[az] = dict(
                launch_template_id=template["LaunchTemplateId"] if template else None,
                public_eni_id=public["NetworkInterfaceId"] if public else None,
                private_eni_id=private["NetworkInterfaceId"] if private else None,
                **(self.p["zone_settings"].get(az) or {}),
            )
        expected = dict(self.p["environment"], NAT_ZERO_ACCOUNT_ID=account)
        expected["NAT_ZERO_ZONES"] = json.dumps(zones, sort_keys=True, separators=(",", ":"))
        versions = {tagged_version(t) for t in self.templates.values() if t}
        if len(versions) == 1:
            expected["NAT_ZERO_CONFIG_VERSION"] = versions.pop()
        return expected

    def check_environment(self, name, actual, account):
        for key, wanted in sorted(self.expected_environment(account).items()):
            if key == "NAT_ZERO_ZONES" and key in actual and json.loads(actual[key]) == json.loads(wanted):
                continue
            if actual.get(key) != wanted:
                self.found.add(DEPLOYMENT, name, "environment %s is %r, expected %r" % (key, actual.get(key), wanted))

    def check_rules(self, function_arn):
        events = self.module.client("events")
        rule_arns = [self.check_rule(events, name, function_arn, "the reconciler") for name in self.p["rule_names"]]
        rule_arns += [
            self.check_rule(events, name, function_arn, "the reconciler", state_checked=False)
            for name in self.p["switched_rule_names"]
        ]
        if function_arn:
            self.check_permission([arn for arn in rule_arns if arn])

    def check_rule(self, events, rule_name, target_arn, target, state_checked=True):
        """The rule's ARN when it exists; findings when it is off or does not target `target_arn`."""
        try:
            rule = events.describe_rule(Name=rule_name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                self.found.add(DEPLOYMENT, rule_name, "the rule does not exist")
                return None
            raise
        if state_checked and rule.get("State") != "ENABLED":
            self.found.add(
                DEPLOYMENT,
                rule_name,
                "the rule is %s" % rule.get("State"),
                "aws events enable-rule --name %s" % rule_name,
            )
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        if target_arn and target_arn not in {t["Arn"] for t in targets}:
            self.found.add(DEPLOYMENT, rule_name, "the rule does not target %s %s" % (target, target_arn))
        return rule["Arn"]

    def check_dispatcher(self):
        """The region's dispatcher exists and its rule sends it the EC2 instance events."""
        name, rule_name = self.p["dispatcher_function_name"], self.p["dispatcher_rule_name"]
        if not name or not rule_name:
            return
        try:
            dispatcher_arn = self.module.client("lambda").get_function(FunctionName=name)["Configuration"][
                "FunctionArn"
            ]
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFoundException"):
                raise
            self.found.add(
                DEPLOYMENT,
                name,
                "the region's dispatcher does not exist: no EC2 instance event reaches the reconciler",
            )
            dispatcher_arn = None
        self.check_rule(self.module.client("events"), rule_name, dispatcher_arn, "the dispatcher")

    def check_permission(self, rule_arns):
        name = self.p["function_name"]
        try:
            policy = json.loads(self.module.client("lambda").get_policy(FunctionName=name)["Policy"])
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFoundException"):
                raise
            policy = {"Statement": []}
        sources = set()
        for statement in policy.get("Statement") or ():
            principal = statement.get("Principal")
            service = principal.get("Service") if isinstance(principal, dict) else principal
            if service != EVENTS_PRINCIPAL:
                continue
            condition = statement.get("Condition") or {}
            source = (condition.get("ArnLike") or condition.get("ArnEquals") or {}).get("AWS:SourceArn")
            if source not in rule_arns:
                self.found.add(
                    DEPLOYMENT,
                    name,
                    "statement %s lets %s invoke it from %s, not only from its rules"
                    % (statement.get("Sid"), EVENTS_PRINCIPAL, source or "any rule"),
                    "aws lambda remove-permission --function-name %s --statement-id %s" % (name, statement.get("Sid")),
                )
            sources.add(source)
        for arn in rule_arns:
            if arn not in sources:
                self.found.add(DEPLOYMENT, name, "no permission lets the rule %s invoke it" % arn)

    def check_log_group(self):
        name = self.p["log_group_name"]
        if not name:
            return
        groups = self.module.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            self.found.add(DEPLOYMENT, name, "the log group does not exist")
        elif group.get("retentionInDays") != self.p["log_retention_days"]:
            self.found.add(
                DEPLOYMENT,
                name,
                "the log group keeps logs for %s days, not %s"
                % (group.get("retentionInDays", "unlimited"), self.p["log_retention_days"]),
                "aws logs put-retention-policy --log-group-name %s --retention-in-days %s"
                % (name, self.p["log_retention_days"]),
            )

    def check_dashboard(self):
        name = self.p["dashboard_name"]
        if not name:
            return
        try:
            self.module.client("cloudwatch").get_dashboard(DashboardName=name)
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFound", "ResourceNotFoundException"):
                raise
            self.found.add(DEPLOYMENT, name, "the dashboard does not exist")

    def check_alarms(self):
        names = self.p["alarm_names"]
        if not names:
            return
        found = self.module.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        alarms = {a["AlarmName"]: a for a in found}
        for name in names:
            alarm = alarms.get(name)
            if alarm is None:
                self.found.add(DEPLOYMENT, name, "the alarm does not exist")
                continue
            if not alarm.get("ActionsEnabled", True):
                self.found.add(
                    DEPLOYMENT,
                    name,
                    "the alarm's actions are disabled: it notifies no one",
                    "aws cloudwatch enable-alarm-actions --alarm-names %s" % name,
                )
            topic = topic_arn(self.p["alarm_topic"], alarm["AlarmArn"])
            if (alarm.get("AlarmActions") or []) != [topic]:
                self.found.add(
                    DEPLOYMENT, name, "the alarm notifies %s, not %s" % (alarm.get("AlarmActions") or "no one", topic)
                )

    def check_flow_logs(self):
        name = self.p["flow_logs_name"]
        if not name:
            return
        pages = self.ec2.get_paginator("describe_flow_logs").paginate(Filters=[{"Name": "tag:Name", "Values": [name]}])
        by_resource = {f["ResourceId"]: f for page in pages for f in page["FlowLogs"]}
        for interface in self.enis:
            eni_id = interface["NetworkInterfaceId"]
            flow_log = by_resource.get(eni_id)
            if flow_log is None:
                self.found.add(DEPLOYMENT, eni_id, "the ENI has no flow log %s" % name)
            elif flow_log.get("DeliverLogsStatus") == "FAILED":
                self.found.add(
                    DEPLOYMENT,
                    eni_id,
                    "its flow log %s cannot deliver (%s)"
                    % (flow_log["FlowLogId"], flow_log.get("DeliverLogsErrorMessage")),
                )

    # -- the story -------------------------------------------------------------

    def verify(self):
        self.read_ec2()
        self.checked_groups = set()
        self.failover_zones = set()
        self.templates = {}
        for index, az in enumerate(self.p["availability_zones"]):
            summary = self.check_zone(index, az)
            self.rows.append(self.row(az, summary))
        self.check_strays()
        function_arn = self.check_function()
        self.check_rules(function_arn)
        self.check_dispatcher()
        self.check_log_group()
        self.check_dashboard()
        self.check_alarms()
        self.check_flow_logs()
        summary = "function %s, %d rules, log group %s" % (
            self.p["function_name"],
            len(self.p["rule_names"]),
            self.p["log_group_name"] or "off",
        )
        self.rows.append(self.row(DEPLOYMENT, summary))
        return dict(changed=False, findings=self.found.items, rows=self.rows, table=table(self.rows))

    def row(self, scope, summary):
        return dict(scope=scope, summary=summary, status=self.status(scope))

    def status(self, scope):
        count = self.found.count(scope)
        if count:
            return "%d finding%s" % (count, "" if count == 1 else "s")
        return "failover" if scope in self.failover_zones else "ok"


def topic_arn(topic, alarm_arn):
    """topic as an ARN: a bare name is a topic of the alarm's own partition, region and account."""
    if topic.startswith("arn:"):
        return topic
    partition, region, account = alarm_arn.split(":")[1:2] + alarm_arn.split(":")[3:5]
    return "arn:%s:sns:%s:%s:%s" % (partition, region, account, topic)


def tagged_version(template_version):
    for spec in (template_version.get("LaunchTemplateData") or {}).get("TagSpecifications") or ():
        if spec.get("ResourceType") == "instance":
            return tags_to_dict(spec.get("Tags")).get(CONFIG_VERSION_TAG)
    return None


def table(rows):
    headers = dict(scope="scope", summary="checked", status="status")
    lines = [headers] + rows
    width = {k: max(len(r[k]) for r in lines) for k in headers}
    text = [
        "%-*s | %-*s | %s" % (width["scope"], r["scope"], width["summary"], r["summary"], r["status"]) for r in lines
    ]
    text.insert(1, "-" * len(max(text, key=len)))
    return text


def ensure(module):
    p = module.params
    count = len(p["availability_zones"])
    for option in ("route_table_ids", "private_cidrs"):
        if len(p[option]) != count:
            raise ValidationError(
                "%s has %d entries but availability_zones has %d; give one per AZ, in order"
                % (option, len(p[option]), count)
            )
    return Verifier(module).verify()


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        availability_zones=dict(type="list", elements="str", required=True),
        route_table_ids=dict(type="list", elements="str", required=True),
        private_cidrs=dict(type="list", elements="str", required=True),
        encrypt_root_volume=dict(type="bool", default=True),
        function_name=dict(type="str", required=True),
        source_path=dict(type="path", required=True),
        source_include=dict(type="list", elements="str"),
        environment=dict(type="dict", default={}),
        rule_names=dict(type="list", elements="str", required=True),
        switched_rule_names=dict(type="list", elements="str", default=[]),
        zone_settings=dict(type="dict", default={}),
        dispatcher_function_name=dict(type="str"),
        dispatcher_rule_name=dict(type="str"),
        log_group_name=dict(type="str"),
        log_retention_days=dict(type="int"),
        static_allocation_ids=dict(type="list", elements="str", default=[]),
        **nat_tag_argument_spec(),
        dashboard_name=dict(type="str"),
        alarm_names=dict(type="list", elements="str", default=[]),
        alarm_topic=dict(type="str"),
        flow_logs_name=dict(type="str"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure)


if __name__ == "__main__":
    main()
