#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: event_rule
short_description: An EventBridge rule with one target and, for a Lambda target, its invoke permission
version_added: 0.1.0
description:
  - Manages an EventBridge rule (an event pattern or a schedule), its single target and, when the target
    is a Lambda function, the C(lambda:InvokeFunction) permission that lets this rule, and only this rule,
    invoke it (C(SourceArn) is the rule ARN).
  - The permission's statement ID derives from the rule name, so several rules can invoke one function
    without touching each other's statements.
  - With O(state=absent), removes the targets, the permission, then the rule. A rule can be kept but
    disabled with O(state=disabled) (or O(enabled=false)).
  - C(PutTargets) and C(RemoveTargets) answer success even when an entry failed (the failure is only in
    C(FailedEntryCount)); the module then fails, naming each target's error code and message.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The rule name.
    type: str
    required: true
    aliases: [rule_name]
  event_pattern:
    description:
      - The event pattern, as a dictionary or JSON. Mutually exclusive with O(schedule_expression).
    type: raw
  schedule_expression:
    description:
      - A schedule, for example V(rate(5 minutes)) or V(cron(0 * * * ? *)). Mutually exclusive with
        O(event_pattern).
    type: str
  description:
    description:
      - The rule's description. Not set leaves it as it is (none for a new rule).
    type: str
  enabled:
    description:
      - Whether the rule is enabled. Not set means enabled for a new rule (disabled with O(state=disabled))
        and leaves an existing rule's state as it is.
    type: bool
  enabled_when_created:
    description:
      - Whether a rule this task creates is enabled, when O(enabled) is not set. An existing rule's state is left as
        it is, so something else (for example the reconciler, for its health rule) may enable and disable it
        between runs without a run undoing it.
    type: bool
    default: true
    version_added: 0.2.0
  event_bus_name:
    description:
      - The event bus of the rule.
    type: str
    default: default
  target_arn:
    description:
      - The ARN of the target, for example a Lambda function.
      - Required with O(state=present). With O(state=absent), the permission is removed from this function
        (or, if not set, from every Lambda function the rule targets).
    type: str
  target_id:
    description:
      - The ID of the target within the rule.
    type: str
    default: target
  target_input:
    description:
      - A constant input passed to the target instead of the event, as a dictionary or JSON.
    type: raw
  purge_targets:
    description:
      - Remove targets of the rule other than O(target_id).
    type: bool
    default: true
  manage_permission:
    description:
      - When the target is a Lambda function, manage its invoke permission for this rule.
    type: bool
    default: true
  permission_statement_id:
    description:
      - The statement ID of the invoke permission. Default C(events-<name>) (characters other than letters,
        digits, C(-) and C(_) become C(-)).
    type: str
  state:
    description:
      - V(present) creates or updates the rule, V(absent) removes it.
      - V(disabled) is V(present) with O(enabled=false), as in amazon.aws.cloudwatchevent_rule.
    type: str
    choices: [present, disabled, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - An option left out leaves that part of an existing rule as it is. EventBridge's PutRule would clear it, so
    the module sends the current value.
seealso:
  - module: amazon.aws.cloudwatchevent_rule
    description: The amazon.aws module for EventBridge rules with a list of targets (no Lambda permission).
"""

EXAMPLES = r"""
- name: EC2 instance state changes wake the reconciler
  natzero.aws.event_rule:
    name: prod-nat-zero-ec2-state
    description: EC2 instance state changes for the nat-zero reconciler
    event_pattern:
      source: [aws.ec2]
      detail-type: [EC2 Instance State-change Notification]
    target_arn: "{{ reconciler.function_arn }}"
  register: state_rule

- name: A full sweep every 15 minutes
  natzero.aws.event_rule:
    name: prod-nat-zero-sweep
    schedule_expression: rate(15 minutes)
    target_arn: "{{ reconciler.function_arn }}"
    target_input:
      action: reconcile

- name: Disable the event wiring (the rule, its target and permission stay)
  natzero.aws.event_rule:
    name: prod-nat-zero-ec2-state
    event_pattern:
      source: [aws.ec2]
      detail-type: [EC2 Instance State-change Notification]
    target_arn: "{{ reconciler.function_arn }}"
    state: disabled

- name: Remove the rule, its target and its permission
  natzero.aws.event_rule:
    name: prod-nat-zero-ec2-state
    state: absent
"""

RETURN = r"""
rule:
  description:
    - The rule as EventBridge describes it after the run, as amazon.aws.cloudwatchevent_rule returns it
      (snake_case keys, tags as a dictionary). In check mode, the rule before the run; null when it would be created.
  returned: when O(state=present) or O(state=disabled)
  type: dict
  sample:
    name: prod-nat-zero-ec2-state
    arn: arn:aws:events:us-east-1:123456789012:rule/prod-nat-zero-ec2-state
    event_pattern: '{"detail-type":["EC2 Instance State-change Notification"],"source":["aws.ec2"]}'
    state: ENABLED
    event_bus_name: default
    tags: {team: platform}
targets:
  description: The rule's targets as EventBridge lists them (snake_case keys).
  returned: when O(state=present) or O(state=disabled)
  type: list
  elements: dict
  sample: [{id: nat-zero-reconciler, arn: "arn:aws:lambda:us-east-1:123456789012:function:prod-nat-zero"}]
rule_arn:
  description: The rule ARN. Null in check mode when it would be created, or when absent.
  returned: success
  type: str
  sample: arn:aws:events:us-east-1:123456789012:rule/prod-nat-zero-ec2-state
rule_name:
  description: The rule name.
  returned: success
  type: str
  sample: prod-nat-zero-ec2-state
target_arn:
  description: The target's ARN.
  returned: when O(state=present)
  type: str
  sample: arn:aws:lambda:us-east-1:123456789012:function:prod-nat-zero
target_id:
  description: The target's ID within the rule.
  returned: when O(state=present)
  type: str
  sample: target
permission_statement_id:
  description: The statement ID of the invoke permission, or null when the target is not a Lambda function.
  returned: success
  type: str
  sample: events-prod-nat-zero-ec2-state
state:
  description: V(ENABLED) or V(DISABLED).
  returned: when O(state=present)
  type: str
  sample: ENABLED
"""

import json
import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ModuleFailure,
    ValidationError,
    again_after,
    is_error,
    snake_resource,
)
from ansible_collections.natzero.aws.plugins.module_utils.policy import canonical_policy, parse_policy
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    dict_to_tags,
    requested_tags,
    tags_argument_spec,
    tags_to_dict,
)

EVENTS_PRINCIPAL = "events.amazonaws.com"
_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$")


def statement_id(params):
    if params["permission_statement_id"]:
        return params["permission_statement_id"]
    return ("events-" + re.sub(r"[^A-Za-z0-9_-]", "-", params["name"]))[:100]


def lambda_function_of(arn):
    """(function ARN without qualifier, qualifier or None) of a Lambda ARN, else None."""
    match = _LAMBDA_ARN.match(arn or "")
    if not match:
        return None
    qualifier = match.group(2)
    base = arn[: -(len(qualifier) + 1)] if qualifier else arn
    return base, qualifier


def json_text(value, option):
    try:
        return json.dumps(parse_policy(value), sort_keys=True, separators=(",", ":"))
    except (ValueError, TypeError) as exc:
        raise ValidationError("%s is not a JSON object: %s" % (option, exc)) from exc


def same_json(a, b):
    if not a or not b:
        return (a or None) == (b or None)
    return canonical_policy(json.loads(a)) == canonical_policy(json.loads(b))


class Rule:
    def __init__(self, module):
        self.module = module
        self.events = module.client("events")
        p = module.params
        self.name = p["name"]
        self.bus = p["event_bus_name"]
        self.sid = statement_id(p)
        self.changed = False

    def change(self, call, **kwargs):
        self.changed = True
        if not self.module.check_mode:
            return call(**kwargs)
        return None

    def change_targets(self, call, **kwargs):
        """PutTargets or RemoveTargets. Both answer HTTP 200 when some (or all)
        entries failed: the failures are only in FailedEntryCount/FailedEntries."""
        response = self.change(call, **kwargs) or {}
        failed = response.get("FailedEntries") or []
        if response.get("FailedEntryCount", 0) or failed:
            operation = "PutTargets" if call == self.events.put_targets else "RemoveTargets"
            entries = "; ".join(
                "target %s: %s: %s" % (e.get("TargetId"), e.get("ErrorCode"), e.get("ErrorMessage")) for e in failed
            )
            raise ModuleFailure(
                "%s on rule %s failed for %d target(s): %s"
                % (operation, self.name, response.get("FailedEntryCount") or len(failed), entries),
                failed_entries=failed,
            )
        return response

    def describe(self):
        try:
            return self.events.describe_rule(Name=self.name, EventBusName=self.bus)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise

    def targets(self):
        targets = []
        for page in self.events.get_paginator("list_targets_by_rule").paginate(Rule=self.name, EventBusName=self.bus):
            targets.extend(page["Targets"])
        return targets

    # -- present -------------------------------------------------------------

    def present(self):
        p = self.module.params
        wanted = {
            "EventPattern": json_text(p["event_pattern"], "event_pattern") if p["event_pattern"] is not None else None,
            "ScheduleExpression": p["schedule_expression"],
            "Description": p["description"],
            "State": rule_state(p),
        }
        rule = self.describe()
        before = None
        if rule is None:
            wanted["State"] = wanted["State"] or ("ENABLED" if p["enabled_when_created"] else "DISABLED")
            arn = self.put_rule(wanted, tags=requested_tags(p))
        else:
            arn = rule["Arn"]
            current = {
                "EventPattern": rule.get("EventPattern"),
                "ScheduleExpression": rule.get("ScheduleExpression"),
                "Description": rule.get("Description") or "",
                "State": rule.get("State"),
            }
            before = dict(current)
            # PutRule replaces the whole rule: what the task leaves out keeps its current value.
            for key in ("Description", "State"):
                if wanted[key] is None:
                    wanted[key] = current[key]
            differs = not same_json(current["EventPattern"], wanted["EventPattern"]) or any(
                current[k] != wanted[k] for k in ("ScheduleExpression", "Description", "State")
            )
            if differs:
                self.put_rule(dict(wanted, RoleArn=rule.get("RoleArn")))
            self.ensure_tags(arn)
        self.ensure_target(rule is not None)
        function = lambda_function_of(p["target_arn"]) if p["manage_permission"] else None
        if function:
            self.ensure_permission(function, arn)
        result = dict(
            changed=self.changed,
            rule_arn=arn,
            rule_name=self.name,
            target_arn=p["target_arn"],
            target_id=p["target_id"],
            permission_statement_id=self.sid if function else None,
            state=wanted["State"],
            **self.described(rule),
        )
        if self.module.diff_mode:
            result["diff"] = {
                "before": camel_dict_to_snake_dict(before or {}),
                "after": camel_dict_to_snake_dict(wanted),
            }
        return result

    def described(self, rule):
        """rule and targets as amazon.aws.cloudwatchevent_rule returns them: what EventBridge says after
        the run (before it, in check mode; null for a rule check mode would create)."""
        if not self.module.check_mode:
            rule = self.describe()
        if rule is None:
            return dict(rule=None, targets=[])
        tags = tags_to_dict(self.events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"))
        return dict(
            rule=snake_resource(rule, tags=tags),
            targets=[snake_resource(t) for t in self.targets()],
        )

    def put_rule(self, wanted, tags=None):
        kwargs = {k: v for k, v in wanted.items() if v is not None}
        kwargs.update(Name=self.name, EventBusName=self.bus)
        if tags:
            kwargs["Tags"] = dict_to_tags(tags)
        response = self.change(self.events.put_rule, **kwargs)
        return response["RuleArn"] if response else None

    def ensure_tags(self, arn):
        p = self.module.params
        current = tags_to_dict(self.events.list_tags_for_resource(ResourceARN=arn).get("Tags"))
        to_set, to_remove = compare_tags(current, requested_tags(p), p["purge_tags"])
        if to_remove:
            self.change(self.events.untag_resource, ResourceARN=arn, TagKeys=to_remove)
        if to_set:
            self.change(self.events.tag_resource, ResourceARN=arn, Tags=dict_to_tags(to_set))

    def ensure_target(self, rule_exists):
        p = self.module.params
        target = {"Id": p["target_id"], "Arn": p["target_arn"]}
        if p["target_input"] is not None:
            target["Input"] = json_text(p["target_input"], "target_input")
        current = self.targets() if rule_exists else []
        mine = next((t for t in current if t["Id"] == p["target_id"]), None)
        if mine is None or mine.get("Arn") != target["Arn"] or not same_json(mine.get("Input"), target.get("Input")):
            self.change_targets(self.events.put_targets, Rule=self.name, EventBusName=self.bus, Targets=[target])
        others = [t["Id"] for t in current if t["Id"] != p["target_id"]]
        if others and p["purge_targets"]:
            self.change_targets(self.events.remove_targets, Rule=self.name, EventBusName=self.bus, Ids=others)

    def ensure_permission(self, function, rule_arn):
        function_arn, qualifier = function
        statement = self.find_statement(function_arn, qualifier)
        if statement is not None and rule_arn is not None and self.statement_matches(statement, rule_arn):
            return
        if statement is not None:
            self.change(self.remove_permission, function_arn=function_arn, qualifier=qualifier)
        qualified = {"Qualifier": qualifier} if qualifier else {}
        self.change(
            self.lambda_client().add_permission,
            FunctionName=function_arn,
            StatementId=self.sid,
            Action="lambda:InvokeFunction",
            Principal=EVENTS_PRINCIPAL,
            SourceArn=rule_arn,
            **qualified,
        )

    @staticmethod
    def statement_matches(statement, rule_arn):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            principal = principal.get("Service")
        condition = statement.get("Condition") or {}
        source_arn = (condition.get("ArnLike") or condition.get("ArnEquals") or {}).get("AWS:SourceArn")
        return (
            statement.get("Effect") == "Allow"
            and statement.get("Action") == "lambda:InvokeFunction"
            and principal == EVENTS_PRINCIPAL
            and source_arn == rule_arn
        )

    def lambda_client(self):
        return self.module.client("lambda")

    def find_statement(self, function_arn, qualifier):
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        try:
            policy = self.lambda_client().get_policy(FunctionName=function_arn, **kwargs)["Policy"]
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise
        statements = json.loads(policy).get("Statement") or []
        return next((s for s in statements if s.get("Sid") == self.sid), None)

    def remove_permission(self, function_arn, qualifier):
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        try:
            self.lambda_client().remove_permission(FunctionName=function_arn, StatementId=self.sid, **kwargs)
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFoundException"):
                raise

    # -- absent --------------------------------------------------------------

    def absent(self):
        # The run that loses a race to another removal meets ResourceNotFoundException mid-way.
        return again_after("ResourceNotFoundException", self.remove)

    def remove(self):
        p = self.module.params
        rule = self.describe()
        targets = self.targets() if rule else []
        arns = [p["target_arn"]] if p["target_arn"] else [t["Arn"] for t in targets]
        if p["manage_permission"]:
            for arn in arns:
                function = lambda_function_of(arn)
                if function and self.find_statement(*function) is not None:
                    self.change(self.remove_permission, function_arn=function[0], qualifier=function[1])
        if targets:
            self.change_targets(
                self.events.remove_targets, Rule=self.name, EventBusName=self.bus, Ids=[t["Id"] for t in targets]
            )
        if rule:
            self.change(self.events.delete_rule, Name=self.name, EventBusName=self.bus)
        result = dict(changed=self.changed, rule_arn=None, rule_name=self.name, permission_statement_id=self.sid)
        if self.module.diff_mode:
            result["diff"] = {"before": {"rule_arn": rule["Arn"]} if rule else {}, "after": {}}
        return result


def rule_state(params):
    """ENABLED/DISABLED as the task asks, or None when it leaves the rule's state as it is."""
    if params["state"] == "disabled":
        if params["enabled"]:
            raise ValidationError("state=disabled contradicts enabled=true: set one of them")
        return "DISABLED"
    if params["enabled"] is None:
        return None
    return "ENABLED" if params["enabled"] else "DISABLED"


def ensure(module):
    rule = Rule(module)
    if module.params["state"] == "absent":
        return rule.absent()
    return rule.present()


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["rule_name"]),
        event_pattern=dict(type="raw"),
        schedule_expression=dict(type="str"),
        description=dict(type="str"),
        enabled=dict(type="bool"),
        enabled_when_created=dict(type="bool", default=True),
        event_bus_name=dict(type="str", default="default"),
        target_arn=dict(type="str"),
        target_id=dict(type="str", default="target"),
        target_input=dict(type="raw"),
        purge_targets=dict(type="bool", default=True),
        manage_permission=dict(type="bool", default=True),
        permission_statement_id=dict(type="str"),
        state=dict(type="str", choices=["present", "disabled", "absent"], default="present"),
        **tags_argument_spec(),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("event_pattern", "schedule_expression")],
        required_if=[
            ("state", "present", ("target_arn",)),
            ("state", "present", ("event_pattern", "schedule_expression"), True),
            ("state", "disabled", ("target_arn",)),
            ("state", "disabled", ("event_pattern", "schedule_expression"), True),
        ],
    )
    module.run(ensure, resource="EventBridge rule %s" % module.params["name"])


if __name__ == "__main__":
    main()
