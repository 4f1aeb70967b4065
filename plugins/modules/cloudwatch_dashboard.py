#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudwatch_dashboard
short_description: A CloudWatch dashboard from a JSON body
version_added: 0.2.0
description:
  - Creates, updates or deletes a CloudWatch dashboard.
  - Checks the body's structure as PutDashboard does (a C(widgets) array of at most 500 widgets, each with a
    known C(type), C(x) 0-23, C(y) from 0, C(width) 1-24, C(height) 1-1000 and C(properties)) before any call,
    so a bad body is a clear error naming the widget instead of an InvalidParameterInput from AWS.
  - Writes the dashboard only when its body differs from the deployed one (compared as JSON).
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The dashboard name, 1-255 letters, digits, C(-) or C(_).
    type: str
    required: true
  body:
    description:
      - The dashboard body (a dict, or its JSON text). Required with O(state=present).
    type: raw
  state:
    description:
      - V(present) creates or updates the dashboard, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode and diff mode.
  - Dashboards are global to the account; each costs about $3 a month beyond the first three.
"""

EXAMPLES = r"""
- name: Dashboard of a deployment
  natzero.aws.cloudwatch_dashboard:
    name: prod-nat-zero
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            region: us-east-1
            metrics: [[NatZero, NatRunning, Deployment, prod, AZ, us-east-1a]]

- name: Remove it
  natzero.aws.cloudwatch_dashboard:
    name: prod-nat-zero
    state: absent
"""

RETURN = r"""
dashboard_name:
  description: The dashboard name.
  returned: success
  type: str
  sample: prod-nat-zero
dashboard_arn:
  description: The dashboard ARN, or null when it does not exist after the run (or in check mode before creation).
  returned: success
  type: str
  sample: arn:aws:cloudwatch::123456789012:dashboard/prod-nat-zero
validation_messages:
  description: What PutDashboard reported about the body that did not stop it.
  returned: when the dashboard was written
  type: list
  elements: dict
  sample: [{"DataPath": "/widgets/0/properties/metrics", "Message": "Should NOT have more than 2 items"}]
"""

import json
import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ValidationError, is_error

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
MAX_WIDGETS = 500
# (field, minimum, maximum or None) of every widget's placement.
_PLACEMENT = (("x", 0, 23), ("y", 0, None), ("width", 1, 24), ("height", 1, 1000))


def body_dict(body):
    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise ValidationError("body is not JSON: %s" % exc) from exc
    if not isinstance(parsed, dict):
        raise ValidationError("body must be a JSON object with a widgets array")
    return parsed


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def widget_problems(index, widget):
    if not isinstance(widget, dict):
        return ["widgets[%d] is not an object" % index]
    problems = []
    if widget.get("type") not in WIDGET_TYPES:
        problems.append("widgets[%d].type is %r, not one of %s" % (index, widget.get("type"), ", ".join(WIDGET_TYPES)))
    for field, low, high in _PLACEMENT:
        value = widget.get(field)
        if value is None and field in ("x", "y"):
            continue  # placed by CloudWatch when left out
        if value is None:
            value = 6  # CloudWatch's default width and height
        if not _is_int(value) or value < low or (high is not None and value > high):
            problems.append("widgets[%d].%s is %r, not an integer %d-%s" % (index, field, value, low, high or "up"))
    if not isinstance(widget.get("properties"), dict):
        problems.append("widgets[%d].properties is missing or not an object" % index)
    elif widget.get("type") == "metric" and not widget["properties"].get("region"):
        problems.append("widgets[%d].properties.region is required for a metric widget" % index)
    return problems


def body_problems(body):
    """What PutDashboard would refuse in a body (a dict), as messages; [] when it accepts it."""
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        return ["body has no widgets array"]
    if len(widgets) > MAX_WIDGETS:
        return ["body has %d widgets; a dashboard holds at most %d" % (len(widgets), MAX_WIDGETS)]
    return [problem for index, widget in enumerate(widgets) for problem in widget_problems(index, widget)]


def current(cloudwatch, name):
    try:
        found = cloudwatch.get_dashboard(DashboardName=name)
    except ClientError as exc:
        if is_error(exc, "ResourceNotFound", "ResourceNotFoundException"):
            return None
        raise
    return dict(arn=found["DashboardArn"], body=json.loads(found["DashboardBody"]))


def ensure(module):
    p = module.params
    if not _NAME.match(p["name"]):
        raise ValidationError("name %r is not a dashboard name: 1-255 letters, digits, '-' or '_'" % p["name"])
    wanted = None
    if p["state"] == "present":
        if p["body"] is None:
            raise ValidationError("body is required with state=present")
        wanted = body_dict(p["body"])
        problems = body_problems(wanted)
        if problems:
            raise ValidationError("body is not a dashboard PutDashboard accepts: " + "; ".join(problems))
    cloudwatch = module.client("cloudwatch")
    found = current(cloudwatch, p["name"])
    before = found["body"] if found else None
    result = dict(changed=before != wanted, dashboard_name=p["name"], dashboard_arn=found["arn"] if found else None)
    if result["changed"] and not module.check_mode:
        if wanted is None:
            cloudwatch.delete_dashboards(DashboardNames=[p["name"]])
            result["dashboard_arn"] = None
        else:
            answer = cloudwatch.put_dashboard(DashboardName=p["name"], DashboardBody=json.dumps(wanted, sort_keys=True))
            result["validation_messages"] = answer.get("DashboardValidationMessages") or []
            result["dashboard_arn"] = current(cloudwatch, p["name"])["arn"]
    if module.diff_mode:
        result["diff"] = dict(before=before or {}, after=wanted or {})
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        body=dict(type="raw"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure)


if __name__ == "__main__":
    main()
