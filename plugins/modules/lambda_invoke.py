#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_invoke
short_description: Invoke a Lambda function once
version_added: 0.1.0
description:
  - Invokes a Lambda function with a JSON payload, asynchronously by default.
  - The role uses it to ask a freshly deployed reconciler for a full sweep, so the deployment converges
    without waiting for EventBridge to propagate a new rule or for the first scheduled sweep.
  - An invocation changes no configuration, but it runs code, so the module reports RV(ignore:changed=true)
    whenever it invokes. Use C(changed_when) where the invocation must not count as a change.
  - In check mode nothing is invoked; the task reports the change an invocation would be (none for V(DryRun)).
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The function's name or ARN.
    type: str
    required: true
    aliases: [function_name]
  payload:
    description:
      - The event, as a dictionary (sent as JSON).
    type: dict
    default: {}
  invocation_type:
    description:
      - V(Event) queues the invocation and returns at once; V(RequestResponse) waits for the result;
        V(DryRun) only checks that the caller may invoke the function.
    type: str
    choices: [Event, RequestResponse, DryRun]
    default: Event
  fail_on_function_error:
    description:
      - With O(invocation_type=RequestResponse), fail when the function itself raised an error.
    type: bool
    default: true
extends_documentation_fragment:
  - natzero.aws.aws
"""

EXAMPLES = r"""
- name: Ask the reconciler for a full sweep
  natzero.aws.lambda_invoke:
    name: prod-nat-zero
    payload:
      action: reconcile
  changed_when: false

- name: Run a function and use its answer
  natzero.aws.lambda_invoke:
    name: my-function
    payload: {key: value}
    invocation_type: RequestResponse
  register: answer
"""

RETURN = r"""
status_code:
  description: The HTTP status Lambda answered with (202 for V(Event), 200 for V(RequestResponse), 204 for V(DryRun)).
  returned: when invoked
  type: int
  sample: 202
function_error:
  description: The error type when the function raised one (V(RequestResponse) only).
  returned: when the function failed
  type: str
  sample: Unhandled
response:
  description: The function's answer, decoded from JSON when it is JSON (V(RequestResponse) only).
  returned: with O(invocation_type=RequestResponse)
  type: raw
  sample: {"zones": []}
executed_version:
  description: The version of the function that ran.
  returned: when Lambda reports it
  type: str
  sample: $LATEST
"""

import json

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ModuleFailure


def invoke(module):
    p = module.params
    # An invocation is a change (DryRun only checks permissions); check mode says so without invoking.
    if module.check_mode:
        return dict(changed=p["invocation_type"] != "DryRun")
    response = module.client("lambda").invoke(
        FunctionName=p["name"], InvocationType=p["invocation_type"], Payload=json.dumps(p["payload"]).encode()
    )
    result = dict(changed=p["invocation_type"] != "DryRun", status_code=response.get("StatusCode"))
    if response.get("ExecutedVersion"):
        result["executed_version"] = response["ExecutedVersion"]
    if p["invocation_type"] == "RequestResponse":
        body = response["Payload"].read().decode("utf-8") if response.get("Payload") else ""
        try:
            result["response"] = json.loads(body) if body else None
        except ValueError:
            result["response"] = body
    if response.get("FunctionError"):
        result["function_error"] = response["FunctionError"]
        if p["fail_on_function_error"]:
            raise ModuleFailure("function %s failed: %s" % (p["name"], response["FunctionError"]), **result)
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["function_name"]),
        payload=dict(type="dict", default={}),
        invocation_type=dict(type="str", choices=["Event", "RequestResponse", "DryRun"], default="Event"),
        fail_on_function_error=dict(type="bool", default=True),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(invoke, resource="Lambda function %s" % module.params["name"])


if __name__ == "__main__":
    main()
