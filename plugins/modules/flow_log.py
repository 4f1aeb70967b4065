#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: flow_log
short_description: VPC flow logs of a set of network interfaces, subnets or VPCs
version_added: 0.2.0
description:
  - Keeps one flow log per resource of O(resource_ids), all tagged C(Name=<name>), delivering to CloudWatch Logs
    or S3. The flow logs tagged with O(name) are the module's; one on a resource not in O(resource_ids), or with
    other settings, is deleted (a flow log cannot be changed, only replaced).
  - CreateFlowLogs answers a resource it could not log (a flow log with the same settings already there, a
    resource that does not exist) in its C(Unsuccessful) list, not as an error; the module fails naming each.
  - Checks the destination before any call (a log group and a delivery role for CloudWatch Logs, an S3 bucket ARN
    and no role for S3).
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The C(Name) tag of the flow logs this task manages.
    type: str
    required: true
  resource_ids:
    description:
      - The network interfaces (C(eni-)), subnets (C(subnet-)) or VPCs (C(vpc-)) to log.
    type: list
    elements: str
    default: []
  traffic_type:
    description:
      - Which traffic is logged.
    type: str
    choices: [ALL, ACCEPT, REJECT]
    default: ALL
  destination_type:
    description:
      - Where the records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description:
      - The CloudWatch Logs log group. Required with O(destination_type=cloud-watch-logs) and O(state=present).
    type: str
  deliver_logs_role_arn:
    description:
      - The role the flow logs service (C(vpc-flow-logs.amazonaws.com)) assumes to write to the log group.
        Required with O(destination_type=cloud-watch-logs) and O(state=present); not with S3.
    type: str
  destination_arn:
    description:
      - The S3 bucket ARN, optionally with a folder (C(arn:aws:s3:::bucket/prefix)). Required with
        O(destination_type=s3) and O(state=present). The bucket policy must let C(delivery.logs.amazonaws.com)
        write; AWS adds that statement when the caller may change the bucket policy.
    type: str
  max_aggregation_interval:
    description:
      - The longest time in seconds a flow is aggregated into one record.
    type: int
    choices: [60, 600]
    default: 600
  state:
    description:
      - V(present) keeps the flow logs of O(resource_ids), V(absent) deletes every flow log tagged O(name).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - Flow logs cost what they deliver (about $0.50 per GB to CloudWatch Logs, $0.25 per GB to S3), nothing idle.
"""

EXAMPLES = r"""
- name: Flow logs of the NAT ENIs to CloudWatch Logs
  natzero.aws.flow_log:
    name: prod-nat-zero-flow-logs
    resource_ids: [eni-0123456789abcdef0, eni-0fedcba9876543210]
    log_group_name: prod-nat-zero-flow-logs
    deliver_logs_role_arn: arn:aws:iam::123456789012:role/prod-nat-zero-flow-logs

- name: The same to S3
  natzero.aws.flow_log:
    name: prod-nat-zero-flow-logs
    resource_ids: [eni-0123456789abcdef0]
    destination_type: s3
    destination_arn: arn:aws:s3:::prod-flow-logs/nat

- name: Remove them
  natzero.aws.flow_log:
    name: prod-nat-zero-flow-logs
    state: absent
"""

RETURN = r"""
flow_logs:
  description: The flow logs tagged O(name) after the run, one per resource.
  returned: success
  type: list
  elements: dict
  contains:
    flow_log_id:
      description: The flow log ID (null in check mode before creation).
      type: str
      sample: fl-0123456789abcdef0
    resource_id:
      description: The logged resource.
      type: str
      sample: eni-0123456789abcdef0
    deliver_logs_status:
      description: V(SUCCESS), or V(FAILED) when the service cannot deliver (for example a role it cannot use).
      type: str
      sample: SUCCESS
  sample: [{"flow_log_id": "fl-0123456789abcdef0", "resource_id": "eni-0123456789abcdef0", "deliver_logs_status": "SUCCESS"}]
deleted:
  description: The IDs of the flow logs deleted (or, in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [fl-0fedcba9876543210]
"""

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ModuleFailure, ValidationError
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    ensure_ec2_tags,
    normalize_tags,
    purge_requested,
    tag_specifications,
    tags_argument_spec,
    tags_to_dict,
)

RESOURCE_TYPES = {"eni": "NetworkInterface", "subnet": "Subnet", "vpc": "VPC"}
_RESOURCE_ID = re.compile(r"^(eni|subnet|vpc)-([0-9a-f]{8}|[0-9a-f]{17})$")
_BUCKET_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


def destination_problems(p):
    if p["destination_type"] == "cloud-watch-logs":
        problems = [] if p["log_group_name"] else ["log_group_name is required with destination_type=cloud-watch-logs"]
        if not _ROLE_ARN.match(p["deliver_logs_role_arn"] or ""):
            problems.append("deliver_logs_role_arn %r is not an IAM role ARN" % p["deliver_logs_role_arn"])
        return problems
    problems = (
        []
        if _BUCKET_ARN.match(p["destination_arn"] or "")
        else [
            "destination_arn %r is not an S3 bucket ARN (arn:aws:s3:::bucket or arn:aws:s3:::bucket/folder)"
            % p["destination_arn"]
        ]
    )
    if p["deliver_logs_role_arn"]:
        problems.append("deliver_logs_role_arn is for CloudWatch Logs only; S3 delivery takes none")
    return problems


def validate(p):
    if p["state"] == "absent":
        return
    problems = [
        "resource_ids: %r is not an ENI, subnet or VPC ID" % r for r in p["resource_ids"] if not _RESOURCE_ID.match(r)
    ]
    problems += destination_problems(p)
    if problems:
        raise ValidationError("flow logs %s: %s" % (p["name"], "; ".join(problems)))


def wanted_settings(p):
    """What DescribeFlowLogs says of a flow log made from the options."""
    settings = dict(
        TrafficType=p["traffic_type"],
        LogDestinationType=p["destination_type"],
        MaxAggregationInterval=p["max_aggregation_interval"],
    )
    if p["destination_type"] == "s3":
        settings["LogDestination"] = p["destination_arn"]
    else:
        settings.update(LogGroupName=p["log_group_name"], DeliverLogsPermissionArn=p["deliver_logs_role_arn"])
    return settings


def matches(flow_log, settings):
    return all(flow_log.get(key) == value for key, value in settings.items())


def described(ec2, name):
    pages = ec2.get_paginator("describe_flow_logs").paginate(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return [flow_log for page in pages for flow_log in page["FlowLogs"]]


def summary(flow_log):
    return dict(
        flow_log_id=flow_log.get("FlowLogId"),
        resource_id=flow_log["ResourceId"],
        deliver_logs_status=flow_log.get("DeliverLogsStatus"),
    )


def plan(found, p):
    """(flow logs to keep, flow logs to delete, resources to log anew)."""
    settings = wanted_settings(p) if p["state"] == "present" else None
    wanted = p["resource_ids"] if settings else []
    keep, delete = [], []
    for flow_log in found:
        kept_already = any(k["ResourceId"] == flow_log["ResourceId"] for k in keep)
        if flow_log["ResourceId"] in wanted and matches(flow_log, settings) and not kept_already:
            keep.append(flow_log)
        else:
            delete.append(flow_log)
    logged = {k["ResourceId"] for k in keep}
    return keep, delete, [r for r in dict.fromkeys(wanted) if r not in logged]


def create(ec2, p, resource_ids):
    """CreateFlowLogs per resource type; its Unsuccessful items are the failure."""
    tags = dict(normalize_tags(p["tags"]), Name=p["name"])
    failed = []
    for prefix, resource_type in RESOURCE_TYPES.items():
        ids = [r for r in resource_ids if r.startswith(prefix + "-")]
        if not ids:
            continue
        request = dict(
            ResourceIds=ids,
            ResourceType=resource_type,
            TrafficType=p["traffic_type"],
            LogDestinationType=p["destination_type"],
            MaxAggregationInterval=p["max_aggregation_interval"],
            TagSpecifications=tag_specifications("vpc-flow-log", tags),
        )
        if p["destination_type"] == "s3":
            request["LogDestination"] = p["destination_arn"]
        else:
            request.update(LogGroupName=p["log_group_name"], DeliverLogsPermissionArn=p["deliver_logs_role_arn"])
        answer = ec2.create_flow_logs(**request)
        failed += [
            "%s: %s: %s" % (u["ResourceId"], u["Error"]["Code"], u["Error"]["Message"])
            for u in answer.get("Unsuccessful") or ()
        ]
    if failed:
        raise ModuleFailure("CreateFlowLogs could not log %s" % "; ".join(failed))


def ensure(module):
    p = module.params
    validate(p)
    ec2 = module.client("ec2")
    found = described(ec2, p["name"])
    keep, delete, to_create = plan(found, p)
    retagged = [
        ensure_ec2_tags(
            module,
            ec2,
            flow_log["FlowLogId"],
            tags_to_dict(flow_log.get("Tags")),
            dict(normalize_tags(p["tags"]), Name=p["name"]) if p["tags"] is not None else None,
            purge_requested(p),
        )
        for flow_log in keep
    ]
    result = dict(
        changed=bool(delete or to_create or any(retagged)),
        deleted=[flow_log["FlowLogId"] for flow_log in delete],
    )
    if not module.check_mode:
        if delete:
            ec2.delete_flow_logs(FlowLogIds=result["deleted"])
        if to_create:
            create(ec2, p, to_create)
    after = described(ec2, p["name"]) if result["changed"] and not module.check_mode else keep
    result["flow_logs"] = [summary(f) for f in after]
    if module.check_mode:
        result["flow_logs"] += [dict(flow_log_id=None, resource_id=r, deliver_logs_status=None) for r in to_create]
    if module.diff_mode:
        result["diff"] = dict(
            before=dict(resource_ids=sorted(f["ResourceId"] for f in found)),
            after=dict(resource_ids=sorted(f["resource_id"] for f in result["flow_logs"])),
        )
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        resource_ids=dict(type="list", elements="str", default=[]),
        traffic_type=dict(type="str", choices=["ALL", "ACCEPT", "REJECT"], default="ALL"),
        destination_type=dict(type="str", choices=["cloud-watch-logs", "s3"], default="cloud-watch-logs"),
        log_group_name=dict(type="str"),
        deliver_logs_role_arn=dict(type="str"),
        destination_arn=dict(type="str"),
        max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    argument_spec.update(tags_argument_spec())
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="Flow logs %s" % module.params["name"])


if __name__ == "__main__":
    main()
