#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_cleanup
short_description: Terminate a deployment's NAT instances and release its Elastic IPs
version_added: 0.1.0
description:
  - The teardown step between disabling the event wiring and deleting the network. The reconciler creates
    NAT instances and Elastic IPs at run time; this module removes them.
  - Terminates every instance in O(vpc_id) that carries the NAT tag and C(nat-zero:deployment=<name>), in any
    state but terminated, and waits until all of them are terminated (so their ENIs are free).
  - Then releases every Elastic IP tagged C(nat-zero:deployment=<name>) and C(nat-zero:vpc=<vpc_id>),
    disassociating it first. Instances and addresses of other deployments are never touched.
  - An Elastic IP tagged C(nat-zero:eip-owner=user) (your own, lent with M(natzero.aws.nat_eip)) is never
    released; it is disassociated and the deployment's tags are removed from it.
  - Nothing to do reports no change, so a half-finished teardown can simply run again.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The deployment name.
    type: str
    required: true
  vpc_id:
    description:
      - The VPC of the deployment.
    type: str
    required: true
  wait_timeout:
    description:
      - How many seconds to wait for the instances to terminate. When they are not all terminated by then,
        the module fails naming each instance still alive and its state.
    type: int
    default: 600
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.nat_zero.nat_tag
notes:
  - Supports check mode (reports what it would terminate and release).
"""

EXAMPLES = r"""
- name: Remove the NAT instances and Elastic IPs of the deployment
  natzero.aws.nat_cleanup:
    name: prod
    vpc_id: vpc-0123456789abcdef0
  register: cleanup
"""

RETURN = r"""
terminated_instance_ids:
  description: The NAT instances the module terminated (or would terminate, in check mode).
  returned: success
  type: list
  elements: str
  sample: [i-0123456789abcdef0]
waited_instance_ids:
  description: Every NAT instance the module waited for, including ones already shutting down.
  returned: success
  type: list
  elements: str
  sample: [i-0123456789abcdef0]
released_allocation_ids:
  description: The Elastic IPs the module released (or would release, in check mode).
  returned: success
  type: list
  elements: str
  sample: [eipalloc-0123456789abcdef0]
returned_allocation_ids:
  description: Your own Elastic IPs the module gave back, kept allocated (or would give back, in check mode).
  returned: success
  type: list
  elements: str
  sample: [eipalloc-0fedcba9876543210]
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ValidationError,
    is_error,
    retry_on_codes,
)
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import describe_instances, wait_terminated
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    DEPLOYMENT_TAG,
    LIVE_INSTANCE_STATES,
    VPC_TAG,
    disassociate,
    give_back,
    name_error,
    nat_tag_argument_spec,
    user_owned,
    valid_name,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import tag_filters


def nat_instances(ec2, params):
    filters = [
        {"Name": "vpc-id", "Values": [params["vpc_id"]]},
        {"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)},
    ] + tag_filters({params["nat_tag_key"]: params["nat_tag_value"], DEPLOYMENT_TAG: params["name"]})
    return describe_instances(ec2, filters)


def deployment_addresses(ec2, params):
    filters = tag_filters({DEPLOYMENT_TAG: params["name"], VPC_TAG: params["vpc_id"]})
    return sorted(ec2.describe_addresses(Filters=filters)["Addresses"], key=lambda a: a["AllocationId"])


def release(ec2, address):
    disassociate(ec2, address)

    def release_now():
        try:
            ec2.release_address(AllocationId=address["AllocationId"])
        except ClientError as exc:
            if not is_error(exc, "InvalidAllocationID.NotFound"):
                raise

    # EC2 may see the address as associated for a moment after disassociating it.
    retry_on_codes(release_now, ("InvalidIPAddress.InUse",), timeout=60)


def ensure(module):
    p = module.params
    if not valid_name(p["name"]):
        raise ValidationError(name_error(p["name"]))
    ec2 = module.client("ec2")
    instances = nat_instances(ec2, p)
    waited = [i["InstanceId"] for i in instances]
    to_terminate = [i["InstanceId"] for i in instances if i["State"]["Name"] != "shutting-down"]
    if to_terminate and not module.check_mode:
        ec2.terminate_instances(InstanceIds=to_terminate)
    if waited and not module.check_mode:
        wait_terminated(ec2, waited, "NAT instances", p["wait_timeout"])
    addresses = deployment_addresses(ec2, p)
    users = [a for a in addresses if user_owned(a)]
    ours = [a for a in addresses if not user_owned(a)]
    if not module.check_mode:
        for address in ours:
            release(ec2, address)
        for address in users:
            give_back(ec2, address, p["nat_tag_key"])
    released = [a["AllocationId"] for a in ours]
    returned = [a["AllocationId"] for a in users]
    return dict(
        changed=bool(to_terminate or released or returned),
        terminated_instance_ids=to_terminate,
        waited_instance_ids=waited,
        released_allocation_ids=released,
        returned_allocation_ids=returned,
    )


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        **nat_tag_argument_spec(),
        wait_timeout=dict(type="int", default=600),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="NAT instances of deployment %s" % module.params["name"])


if __name__ == "__main__":
    main()
