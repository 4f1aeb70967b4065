#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: metric_alarm
short_description: A CloudWatch alarm on one metric
version_added: 0.2.0
description:
  - Creates, updates or deletes a CloudWatch alarm on one metric with a static threshold.
  - Checks the settings as PutMetricAlarm does before any call (the period is 10, 20, 30 or a multiple of 60;
    O(period) times O(evaluation_periods) is at most one day for periods under an hour and seven days otherwise;
    O(datapoints_to_alarm) is at most O(evaluation_periods); at most five actions of each kind, each an ARN), so a
    bad setting is a clear error naming the option instead of a ValidationError from AWS.
  - Writes the alarm only when a setting differs from the deployed one. PutMetricAlarm ignores the tags of an
    alarm that already exists, so tags of an existing alarm are changed with TagResource and UntagResource.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The alarm name, 1-255 characters, unique in the account and region.
    type: str
    required: true
  description:
    description:
      - What the alarm means and what to do about it (at most 1024 characters); sent in every notification.
    type: str
    default: ""
  namespace:
    description:
      - The metric's namespace, for example C(AWS/Lambda) or C(NatZero). Required with O(state=present).
    type: str
  metric_name:
    description:
      - The metric's name. Required with O(state=present).
    type: str
  dimensions:
    description:
      - The metric's dimensions, name to value (at most 30).
    type: dict
    default: {}
  statistic:
    description:
      - How the data points of one period are aggregated. Required with O(state=present).
    type: str
    choices: [SampleCount, Average, Sum, Minimum, Maximum]
  period:
    description:
      - Length of one period in seconds. Required with O(state=present).
    type: int
  evaluation_periods:
    description:
      - How many of the latest periods are compared to the threshold. Required with O(state=present).
    type: int
  datapoints_to_alarm:
    description:
      - How many of those periods must breach for the alarm to fire (M of N). Defaults to O(evaluation_periods).
    type: int
  threshold:
    description:
      - The value the statistic is compared to. Required with O(state=present).
    type: float
  comparison_operator:
    description:
      - How the statistic is compared to O(threshold). Required with O(state=present).
    type: str
    choices: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold]
  treat_missing_data:
    description:
      - What a period without data counts as. V(breaching) makes a metric that stops arriving an alarm.
    type: str
    choices: [breaching, notBreaching, ignore, missing]
    default: missing
  alarm_actions:
    description:
      - ARNs notified when the alarm fires (for example an SNS topic), at most five.
    type: list
    elements: str
    default: []
  ok_actions:
    description:
      - ARNs notified when the alarm returns to OK, at most five.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) creates or updates the alarm, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - A standard-resolution alarm on one metric costs about $0.10 a month.
"""

EXAMPLES = r"""
- name: Alarm when the reconciler fails
  natzero.aws.metric_alarm:
    name: prod-nat-zero-errors
    description: The reconciler of prod failed; see its log group /aws/lambda/prod-nat-zero.
    namespace: AWS/Lambda
    metric_name: Errors
    dimensions:
      FunctionName: prod-nat-zero
    statistic: Sum
    period: 300
    evaluation_periods: 1
    threshold: 1
    comparison_operator: GreaterThanOrEqualToThreshold
    treat_missing_data: notBreaching
    alarm_actions: [arn:aws:sns:us-east-1:123456789012:prod-nat-zero-alarms]

- name: Remove it
  natzero.aws.metric_alarm:
    name: prod-nat-zero-errors
    state: absent
"""

RETURN = r"""
alarm_name:
  description: The alarm name.
  returned: success
  type: str
  sample: prod-nat-zero-errors
alarm_arn:
  description: The alarm ARN, or null when it does not exist after the run (or in check mode before creation).
  returned: success
  type: str
  sample: arn:aws:cloudwatch:us-east-1:123456789012:alarm:prod-nat-zero-errors
alarm_state:
  description: The alarm's state (V(OK), V(ALARM) or V(INSUFFICIENT_DATA)), or null when it does not exist.
  returned: success
  type: str
  sample: INSUFFICIENT_DATA
tags:
  description: The alarm's tags after the run.
  returned: success
  type: dict
  sample: {"nat-zero:deployment": "prod"}
"""

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ValidationError
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    dict_to_tags,
    purge_requested,
    requested_tags,
    retag_resource,
    tags_after,
    tags_argument_spec,
    tags_to_dict,
)

REQUIRED_WHEN_PRESENT = (
    "namespace",
    "metric_name",
    "statistic",
    "period",
    "evaluation_periods",
    "threshold",
    "comparison_operator",
)
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
ONE_DAY = 86400
SEVEN_DAYS = 7 * ONE_DAY
MAX_ACTIONS = 5
MAX_DIMENSIONS = 30
MAX_DESCRIPTION = 1024
_ACTION_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d*:.+$")
# PutMetricAlarm's parameter for each option the module compares.
_FIELDS = (
    ("description", "AlarmDescription"),
    ("namespace", "Namespace"),
    ("metric_name", "MetricName"),
    ("statistic", "Statistic"),
    ("period", "Period"),
    ("evaluation_periods", "EvaluationPeriods"),
    ("datapoints_to_alarm", "DatapointsToAlarm"),
    ("threshold", "Threshold"),
    ("comparison_operator", "ComparisonOperator"),
    ("treat_missing_data", "TreatMissingData"),
    ("alarm_actions", "AlarmActions"),
    ("ok_actions", "OKActions"),
)


def evaluation_problems(p):
    period, periods = p["period"], p["evaluation_periods"]
    problems = []
    if period not in HIGH_RESOLUTION_PERIODS and (period < 60 or period % 60):
        problems.append("period is %d: it must be 10, 20, 30 or a multiple of 60" % period)
    if periods < 1:
        problems.append("evaluation_periods is %d: it must be at least 1" % periods)
    limit = ONE_DAY if period < 3600 else SEVEN_DAYS
    if period * periods > limit:
        problems.append(
            "period x evaluation_periods is %d seconds: at most %d for a period %s an hour"
            % (period * periods, limit, "under" if limit == ONE_DAY else "of at least")
        )
    datapoints = p["datapoints_to_alarm"]
    if datapoints is not None and not 1 <= datapoints <= periods:
        problems.append("datapoints_to_alarm is %d: it must be 1 to evaluation_periods (%d)" % (datapoints, periods))
    return problems


def action_problems(p):
    problems = []
    for option in ("alarm_actions", "ok_actions"):
        if len(p[option]) > MAX_ACTIONS:
            problems.append("%s has %d ARNs: at most %d" % (option, len(p[option]), MAX_ACTIONS))
        problems.extend("%s: %r is not an ARN" % (option, arn) for arn in p[option] if not _ACTION_ARN.match(arn))
    return problems


def settings_problems(p):
    """What PutMetricAlarm would refuse in the module's options, as messages; [] when it accepts them."""
    missing = [name for name in REQUIRED_WHEN_PRESENT if p[name] is None]
    if missing:
        return ["%s required with state=present" % ", ".join(missing)]
    problems = evaluation_problems(p) + action_problems(p)
    if len(p["dimensions"]) > MAX_DIMENSIONS:
        problems.append("dimensions has %d entries: at most %d" % (len(p["dimensions"]), MAX_DIMENSIONS))
    if len(p["description"]) > MAX_DESCRIPTION:
        problems.append("description is %d characters: at most %d" % (len(p["description"]), MAX_DESCRIPTION))
    return problems


def wanted_settings(p):
    """The compared settings, as PutMetricAlarm takes them and DescribeAlarms returns them."""
    settings = {api: p[option] for option, api in _FIELDS}
    settings["DatapointsToAlarm"] = p["datapoints_to_alarm"] or p["evaluation_periods"]
    settings["Threshold"] = float(p["threshold"])
    settings["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in sorted(p["dimensions"].items())]
    return settings


def deployed_settings(alarm):
    settings = {api: alarm.get(api) for api in dict(_FIELDS).values()}
    settings["AlarmDescription"] = alarm.get("AlarmDescription", "")
    settings["AlarmActions"] = alarm.get("AlarmActions", [])
    settings["OKActions"] = alarm.get("OKActions", [])
    settings["TreatMissingData"] = alarm.get("TreatMissingData", "missing")
    settings["DatapointsToAlarm"] = alarm.get("DatapointsToAlarm", alarm.get("EvaluationPeriods"))
    settings["Dimensions"] = sorted(alarm.get("Dimensions", []), key=lambda d: d["Name"])
    return settings


def current(cloudwatch, name):
    alarms = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not alarms:
        return None
    alarm = alarms[0]
    tags = tags_to_dict(cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"])
    return dict(arn=alarm["AlarmArn"], state=alarm.get("StateValue"), settings=deployed_settings(alarm), tags=tags)


def put(cloudwatch, name, settings, tags):
    request = dict(settings, AlarmName=name, ActionsEnabled=True)
    if tags:
        request["Tags"] = dict_to_tags(tags)
    cloudwatch.put_metric_alarm(**request)


def remove(module, cloudwatch, found, result):
    result["changed"] = found is not None
    if found and not module.check_mode:
        cloudwatch.delete_alarms(AlarmNames=[module.params["name"]])
    if found:
        result.update(alarm_arn=None, alarm_state=None, tags={})
    return result


def ensure(module):
    p = module.params
    if not 1 <= len(p["name"]) <= 255:
        raise ValidationError("name must be 1-255 characters, not %d" % len(p["name"]))
    if p["state"] == "present":
        problems = settings_problems(p)
        if problems:
            raise ValidationError("alarm %s is not one PutMetricAlarm accepts: %s" % (p["name"], "; ".join(problems)))
    cloudwatch = module.client("cloudwatch")
    found = current(cloudwatch, p["name"])
    before = found["settings"] if found else {}
    result = dict(
        changed=False,
        alarm_name=p["name"],
        alarm_arn=found and found["arn"],
        alarm_state=found and found["state"],
        tags=found["tags"] if found else {},
    )
    if p["state"] == "absent":
        result = remove(module, cloudwatch, found, result)
        after = {}
    else:
        after = wanted_settings(p)
        result = write(module, cloudwatch, found, after, result)
    if module.diff_mode:
        result["diff"] = dict(before=before, after=after)
    return result


def write(module, cloudwatch, found, settings, result):
    p = module.params
    wanted_tags = requested_tags(p)
    if found is None:
        result.update(changed=True, tags=wanted_tags or {})
        if not module.check_mode:
            put(cloudwatch, p["name"], settings, wanted_tags)
            created = current(cloudwatch, p["name"])
            result.update(alarm_arn=created["arn"], alarm_state=created["state"])
        return result
    to_set, to_remove = compare_tags(found["tags"], wanted_tags, purge_requested(p))
    changed_settings = found["settings"] != settings
    result.update(changed=changed_settings or bool(to_set or to_remove))
    result["tags"] = tags_after(found["tags"], wanted_tags, purge_requested(p))
    if module.check_mode:
        return result
    if changed_settings:
        put(cloudwatch, p["name"], settings, None)
    retag_resource(cloudwatch, "ResourceARN", found["arn"], to_set, to_remove)
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        namespace=dict(type="str"),
        metric_name=dict(type="str"),
        dimensions=dict(type="dict", default={}),
        statistic=dict(type="str", choices=["SampleCount", "Average", "Sum", "Minimum", "Maximum"]),
        period=dict(type="int"),
        evaluation_periods=dict(type="int"),
        datapoints_to_alarm=dict(type="int"),
        threshold=dict(type="float"),
        comparison_operator=dict(
            type="str",
            choices=[
                "GreaterThanOrEqualToThreshold",
                "GreaterThanThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ],
        ),
        treat_missing_data=dict(
            type="str", choices=["breaching", "notBreaching", "ignore", "missing"], default="missing"
        ),
        alarm_actions=dict(type="list", elements="str", default=[]),
        ok_actions=dict(type="list", elements="str", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    argument_spec.update(tags_argument_spec())
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="CloudWatch alarm %s" % module.params["name"])


if __name__ == "__main__":
    main()
