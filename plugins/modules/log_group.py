#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: log_group
short_description: A CloudWatch Logs log group with a retention period
version_added: 0.1.0
description:
  - Manages a CloudWatch Logs log group, its retention period and its tags.
  - Create the log group of a Lambda function (C(/aws/lambda/<function>)) before the function, so that it
    has a retention period from the start and is removed with the deployment.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The log group name.
    type: str
    required: true
    aliases: [log_group_name]
  retention_days:
    description:
      - How many days to keep log events. One of the values CloudWatch Logs accepts
        (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653).
      - V(0) keeps them forever. Not set leaves the retention period as it is (forever for a new log group).
    type: int
    aliases: [retention]
  kms_key_id:
    description:
      - The ARN of a KMS key to encrypt the log group with, set when the log group is created.
    type: str
  state:
    description:
      - V(present) creates or updates the log group, V(absent) deletes it with its log events.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - An option left out leaves that part of an existing log group as it is, as in amazon.aws.
seealso:
  - module: amazon.aws.cloudwatchlogs_log_group
    description: The amazon.aws module for log groups (O(retention) and O(resource_tags) are shared aliases).
"""

EXAMPLES = r"""
- name: Log group of the reconciler
  natzero.aws.log_group:
    name: /aws/lambda/prod-nat-zero
    retention_days: 14
    tags:
      team: platform
  register: log_group

- name: Remove it
  natzero.aws.log_group:
    name: /aws/lambda/prod-nat-zero
    state: absent
"""

RETURN = r"""
log_group_name:
  description: The log group name.
  returned: success
  type: str
  sample: /aws/lambda/prod-nat-zero
arn:
  description: The log group ARN (without the trailing C(:*)). Null in check mode when it would be created, or when absent.
  returned: success
  type: str
  sample: arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/prod-nat-zero
retention_days:
  description: The retention period in days after the run, null for forever.
  returned: when O(state=present)
  type: int
  sample: 14
creation_time:
  description: When the log group was created, in milliseconds since the epoch (as amazon.aws returns it).
  returned: when O(state=present) and the log group exists
  type: int
  sample: 1767225600000
retention_in_days:
  description: The retention period as CloudWatch Logs reports it (after the run; before it in check mode).
  returned: when O(state=present) and the log group has one
  type: int
  sample: 14
stored_bytes:
  description: The bytes the log group stores.
  returned: when O(state=present) and the log group exists
  type: int
  sample: 0
metric_filter_count:
  description: The number of metric filters.
  returned: when O(state=present) and the log group exists
  type: int
  sample: 0
kms_key_id:
  description: The KMS key that encrypts the log group.
  returned: when O(state=present) and the log group has one
  type: str
  sample: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
tags:
  description: The log group's tags after the run.
  returned: when O(state=present)
  type: dict
  sample: {team: platform}
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ValidationError,
    again_after,
    is_error,
    snake_resource,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    requested_tags,
    tags_after,
    tags_argument_spec,
)

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip


def find(logs, name):
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page["logGroups"]:
            if group["logGroupName"] == name:
                return group
    return None


def group_arn(group):
    return group.get("logGroupArn") or group["arn"].rstrip("*").rstrip(":")


def present(module, logs):
    p = module.params
    name = p["name"]
    tags = requested_tags(p)
    group = find(logs, name)
    changed = False
    before = None
    if group is None:
        changed = True
        if module.check_mode:
            retention = p["retention_days"] or None
            return dict(changed=True, log_group_name=name, arn=None, retention_days=retention, tags=tags or {}), None
        kwargs = dict(logGroupName=name)
        if tags:
            kwargs["tags"] = tags
        if p["kms_key_id"]:
            kwargs["kmsKeyId"] = p["kms_key_id"]
        logs.create_log_group(**kwargs)
        group = find(logs, name) or {"logGroupName": name, "arn": "", "logGroupArn": ""}
        current_tags = tags or {}
    else:
        current_tags = logs.list_tags_for_resource(resourceArn=group_arn(group)).get("tags") or {}
        before = {"retention_days": group.get("retentionInDays"), "tags": current_tags}
    arn = group_arn(group)
    retention = group.get("retentionInDays")
    wanted = p["retention_days"]
    if wanted is not None and (wanted or None) != retention:
        changed = True
        retention = wanted or None
        if not module.check_mode:
            if wanted:
                logs.put_retention_policy(logGroupName=name, retentionInDays=wanted)
            else:
                logs.delete_retention_policy(logGroupName=name)
    to_set, to_remove = compare_tags(current_tags, tags, p["purge_tags"])
    if to_set or to_remove:
        changed = True
        if not module.check_mode:
            if to_remove:
                logs.untag_resource(resourceArn=arn, tagKeys=to_remove)
            if to_set:
                logs.tag_resource(resourceArn=arn, tags=to_set)
    after_tags = tags_after(current_tags, tags, p["purge_tags"])
    result = dict(described(logs, name, group, module.check_mode), tags=after_tags)
    result.update(changed=changed, log_group_name=name, arn=arn, retention_days=retention)
    return result, before


def described(logs, name, group, check_mode):
    """The fields amazon.aws.cloudwatchlogs_log_group returns (creation_time, retention_in_days,
    stored_bytes, ...): what CloudWatch Logs says after the run, before it in check mode."""
    current = group if check_mode else find(logs, name) or group
    return snake_resource({k: v for k, v in current.items() if k != "arn"})


def absent(module, logs):
    name = module.params["name"]
    group = find(logs, name)
    if group is not None and not module.check_mode:
        try:
            logs.delete_log_group(logGroupName=name)
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFoundException"):
                raise
    before = {"arn": group_arn(group), "retention_days": group.get("retentionInDays")} if group else None
    return dict(changed=group is not None, log_group_name=name, arn=None), before


def ensure(module):
    p = module.params
    if p["retention_days"] not in (None, 0) and p["retention_days"] not in RETENTION_DAYS:
        raise ValidationError(
            "retention_days=%s is not a retention period CloudWatch Logs accepts: 0 (forever) or one of %s"
            % (p["retention_days"], ", ".join(str(d) for d in RETENTION_DAYS))
        )
    logs = module.client("logs")
    if p["state"] == "absent":
        result, before = absent(module, logs)
        after = None
    else:
        # The run that loses a race to another creation meets ResourceAlreadyExistsException.
        result, before = again_after("ResourceAlreadyExistsException", lambda: present(module, logs))
        after = {"retention_days": result["retention_days"], "tags": result["tags"]}
    if module.diff_mode:
        result["diff"] = {"before": before or {}, "after": after or {}}
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["log_group_name"]),
        retention_days=dict(type="int", aliases=["retention"]),
        kms_key_id=dict(type="str"),
        **tags_argument_spec(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="log group %s" % module.params["name"])


if __name__ == "__main__":
    main()
