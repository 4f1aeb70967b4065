#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_zero_reconcilers_info
short_description: The nat-zero deployments of a region, found by their reconciler functions
version_added: 0.1.0
description:
  - Lists the reconciler functions of the region as the region's dispatcher finds them (C(lambda_src/nat_zero_dispatch)),
    that is the Lambda functions named C(<deployment>-nat-zero) and tagged C(nat-zero:deployment) with that deployment and
    C(nat-zero:vpc) with its VPC, read with one Resource Groups Tagging API C(GetResources) call per 100 functions.
  - The tagging API is eventually consistent (a function deleted a moment ago can still be listed), so every function
    found is confirmed with Lambda C(GetFunction), which is not. Teardown relies on it to tell whether the deployment
    it removes was the region's last, and so whether the dispatcher goes too.
  - Reads only; never changes anything.
author:
  - natzero.aws maintainers (@natzero)
options:
  exclude:
    description:
      - Deployment names to leave out of RV(deployments), for example the one being removed.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode. Always reports C(changed=false).
  - Needs C(tag:GetResources) and C(lambda:GetFunction) (with C(lambda:ListTags)) on the reconciler functions.
"""

EXAMPLES = r"""
- name: Which deployments share the region's dispatcher?
  natzero.aws.nat_zero_reconcilers_info:
    region: eu-west-1
  register: reconcilers

- name: Show them
  ansible.builtin.debug:
    msg: "{{ reconcilers.deployments | map(attribute='name') | join(', ') }}"
"""

RETURN = r"""
deployments:
  description: The deployments of the region whose reconciler function exists, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The deployment's name (C(nat_zero_name)).
      type: str
      sample: prod
    vpc_id:
      description: Its VPC.
      type: str
      sample: vpc-0123456789abcdef0
    function_arn:
      description: Its reconciler function.
      type: str
      sample: arn:aws:lambda:eu-west-1:123456789012:function:prod-nat-zero
  sample:
    - name: prod
      vpc_id: vpc-0123456789abcdef0
      function_arn: arn:aws:lambda:eu-west-1:123456789012:function:prod-nat-zero
"""

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, is_error

DEPLOYMENT_TAG = "nat-zero:deployment"
VPC_TAG = "nat-zero:vpc"
RECONCILER_NAME_SUFFIX = "-nat-zero"
FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})")
VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")


def reconciler_of(resource):
    """The deployment a GetResources item reconciles (its name, VPC and function), or None."""
    arn = resource.get("ResourceARN") or ""
    match = FUNCTION_ARN.fullmatch(arn)
    tags = {t.get("Key"): t.get("Value") for t in resource.get("Tags") or ()}
    name, vpc_id = tags.get(DEPLOYMENT_TAG), tags.get(VPC_TAG) or ""
    if (
        match is None
        or not name
        or not VPC_ID.fullmatch(vpc_id)
        or match.group("name") != name + RECONCILER_NAME_SUFFIX
    ):
        return None
    return dict(name=name, vpc_id=vpc_id, function_arn=arn)


def exists(lam, function_arn):
    try:
        lam.get_function(FunctionName=function_arn)
    except ClientError as exc:
        if is_error(exc, "ResourceNotFoundException"):
            return False
        raise
    return True


def ensure(module):
    tagging = module.client("resourcegroupstaggingapi")
    lam = module.client("lambda")
    pages = tagging.get_paginator("get_resources").paginate(
        ResourceTypeFilters=["lambda:function"], TagFilters=[{"Key": VPC_TAG}, {"Key": DEPLOYMENT_TAG}]
    )
    listed = [reconciler_of(r) for page in pages for r in page.get("ResourceTagMappingList") or ()]
    excluded = set(module.params["exclude"])
    found = [r for r in listed if r and r["name"] not in excluded and exists(lam, r["function_arn"])]
    return dict(changed=False, deployments=sorted(found, key=lambda r: r["name"]))


def main():
    module = AWSModule(
        argument_spec=dict(exclude=dict(type="list", elements="str", default=[])), supports_check_mode=True
    )
    module.run(ensure)


if __name__ == "__main__":
    main()
