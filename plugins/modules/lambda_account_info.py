#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_account_info
short_description: The Lambda concurrency of the account and, optionally, one function's reservation
version_added: 0.1.0
description:
  - Reads the account's concurrent executions limit and its unreserved concurrent executions (GetAccountSettings),
    and with O(function_name) that function's reserved concurrency (GetFunctionConcurrency).
  - Lambda refuses a reservation (PutFunctionConcurrency) that leaves fewer than 100 unreserved executions.
    RV(reservable_concurrency) is how many a function could reserve now, counting what it already holds, so a
    deployment can check before it changes anything. New accounts often have a limit of 10, and then no
    function can reserve any; the quota to raise is C(Concurrent executions) of AWS Lambda in Service Quotas.
  - Reads only; never changes anything.
author:
  - natzero.aws maintainers (@natzero)
options:
  function_name:
    description:
      - A function whose current reservation counts towards RV(reservable_concurrency). A function that does not
        exist (yet) holds none.
    type: str
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode. Always reports C(changed=false).
  - Needs C(lambda:GetAccountSettings), and C(lambda:GetFunctionConcurrency) with O(function_name).
"""

EXAMPLES = r"""
- name: How much concurrency can the reconciler reserve?
  natzero.aws.lambda_account_info:
    function_name: prod-nat-zero
  register: lambda_account

- name: Fail before any change when the account cannot give it one execution
  ansible.builtin.assert:
    that: lambda_account.reservable_concurrency >= 1
"""

RETURN = r"""
concurrent_executions:
  description: The account's concurrent executions limit in the region.
  returned: success
  type: int
  sample: 1000
unreserved_concurrent_executions:
  description: The executions no function has reserved.
  returned: success
  type: int
  sample: 999
minimum_unreserved_concurrent_executions:
  description: The unreserved executions Lambda keeps whatever the reservations.
  returned: success
  type: int
  sample: 100
function_reserved_concurrency:
  description: The reserved concurrency of O(function_name), null when it reserves none or does not exist.
  returned: when O(function_name) is set
  type: int
  sample: 1
reservable_concurrency:
  description:
    - How many executions a function (O(function_name), counting its own reservation) could reserve now, never
      below 0.
  returned: success
  type: int
  sample: 900
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, is_error

# PutFunctionConcurrency fails when fewer would remain unreserved:
# "... decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
MINIMUM_UNRESERVED = 100


def function_reservation(lam, name):
    try:
        return lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    except ClientError as exc:
        if is_error(exc, "ResourceNotFoundException"):
            return None
        raise


def ensure(module):
    lam = module.client("lambda")
    limit = lam.get_account_settings()["AccountLimit"]
    unreserved = limit["UnreservedConcurrentExecutions"]
    result = dict(
        changed=False,
        concurrent_executions=limit["ConcurrentExecutions"],
        unreserved_concurrent_executions=unreserved,
        minimum_unreserved_concurrent_executions=MINIMUM_UNRESERVED,
    )
    held = 0
    if module.params["function_name"]:
        result["function_reserved_concurrency"] = function_reservation(lam, module.params["function_name"])
        held = result["function_reserved_concurrency"] or 0
    result["reservable_concurrency"] = max(0, unreserved + held - MINIMUM_UNRESERVED)
    return result


def main():
    module = AWSModule(argument_spec=dict(function_name=dict(type="str")), supports_check_mode=True)
    module.run(ensure)


if __name__ == "__main__":
    main()
