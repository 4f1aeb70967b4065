#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_eip
short_description: Lend one of your Elastic IPs to a deployment's NAT in one availability zone
version_added: 0.2.0
description:
  - For the static egress address with your own Elastic IP (the role's C(nat_zero_eip_allocation_ids)). With
    O(state=present), checks the address can serve the AZ's NAT and tags it with the deployment's tags,
    C(nat-zero:az=<availability_zone>) and C(nat-zero:eip-owner=user), so the reconciler, whose policy lets it
    associate only this deployment's addresses, may put it on the NAT's public ENI.
  - An address tagged C(nat-zero:eip-owner=user) is never released, by the reconciler or by a teardown.
  - Fails, changing nothing, when the allocation does not exist, is lent to another deployment or AZ, or is
    associated with anything not of this deployment (a NAT's address would otherwise move away from it).
  - With O(state=absent), gives the address back. It disassociates it if it is on this deployment's NAT and
    removes the tags this module added. The address itself is kept.
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
  availability_zone:
    description:
      - The AZ whose NAT gets the address. Required with O(state=present).
    type: str
  allocation_id:
    description:
      - The allocation ID of your Elastic IP, for example C(eipalloc-0123456789abcdef0).
    type: str
    required: true
  tags:
    description:
      - More tags for the address, for example the deployment's own (C(nat_zero_tags)). Tags already on the
        address stay.
    type: dict
  state:
    description:
      - V(present) lends the address to the deployment, V(absent) gives it back.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.nat_zero.nat_tag
notes:
  - Supports check mode; the checks run in check mode too, so a role can validate an allocation before it
    changes anything.
  - One DescribeAddresses call, then CreateTags (or DisassociateAddress and DeleteTags) only when needed.
"""

EXAMPLES = r"""
- name: Give the NAT in us-east-1a the address on our partners' allowlist
  natzero.aws.nat_eip:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zone: us-east-1a
    allocation_id: eipalloc-0123456789abcdef0

- name: Take it back (the address stays allocated)
  natzero.aws.nat_eip:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    allocation_id: eipalloc-0123456789abcdef0
    state: absent
"""

RETURN = r"""
allocation_id:
  description: The allocation ID of the address.
  returned: success
  type: str
  sample: eipalloc-0123456789abcdef0
public_ip:
  description: The public IPv4 address the NAT uses for egress.
  returned: success
  type: str
  sample: 203.0.113.10
association_id:
  description: Its association ID after the module ran, or null when it is associated with nothing.
  returned: success
  type: str
  sample: eipassoc-0123456789abcdef0
network_interface_id:
  description: The network interface it is associated with after the module ran, or null.
  returned: success
  type: str
  sample: eni-0123456789abcdef0
tags:
  description: Its tags after the module ran (in check mode, the tags it would have).
  returned: success
  type: dict
  sample: {"nat-zero:deployment": prod, "nat-zero:vpc": vpc-0123456789abcdef0, "nat-zero:az": us-east-1a,
           "nat-zero:eip-owner": user, "nat-zero:managed": "true"}
"""

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ValidationError, is_error
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    AZ_TAG,
    DEPLOYMENT_TAG,
    EIP_OWNER_TAG,
    EIP_OWNER_USER,
    VPC_TAG,
    give_back,
    lent_address_tag_keys,
    name_error,
    nat_tag_argument_spec,
    valid_name,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    ensure_ec2_tags,
    normalize_tags,
    tags_after,
    tags_to_dict,
)

_ALLOCATION_ID = re.compile(r"^eipalloc-([0-9a-f]{8}|[0-9a-f]{17})$")


def describe_address(ec2, allocation_id, region):
    """The address, or a ValidationError saying it does not exist (EC2 answers
    an unknown allocation ID with an error, not an empty list)."""
    try:
        return ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]
    except ClientError as exc:
        if is_error(exc, "InvalidAllocationID.NotFound", "InvalidAllocationID.Malformed"):
            raise ValidationError("Elastic IP %s does not exist in region %s" % (allocation_id, region)) from exc
        raise


def lending_problem(address, params):
    """Why the address cannot serve this deployment's AZ, or None."""
    tags = tags_to_dict(address.get("Tags"))
    where = address.get("NetworkInterfaceId") or address.get("InstanceId")
    deployment = tags.get(DEPLOYMENT_TAG)
    ours = deployment == params["name"] and tags.get(VPC_TAG) == params["vpc_id"]
    if deployment and not ours:
        return "is lent to deployment %s (VPC %s)" % (deployment, tags.get(VPC_TAG))
    if where and not ours:
        return "is associated with %s, which is not this deployment's NAT; disassociate it first" % where
    if where and tags.get(AZ_TAG) != params["availability_zone"]:
        return "is in use by this deployment's NAT in %s, not %s" % (tags.get(AZ_TAG), params["availability_zone"])
    return None


def wanted_tags(params):
    return dict(
        normalize_tags(params["tags"]),
        **{
            DEPLOYMENT_TAG: params["name"],
            VPC_TAG: params["vpc_id"],
            AZ_TAG: params["availability_zone"],
            EIP_OWNER_TAG: EIP_OWNER_USER,
            params["nat_tag_key"]: params["nat_tag_value"],
        },
    )


def facts(address, tags, detached=False):
    return dict(
        allocation_id=address["AllocationId"],
        public_ip=address.get("PublicIp"),
        association_id=None if detached else address.get("AssociationId") or None,
        network_interface_id=None if detached else address.get("NetworkInterfaceId") or None,
        tags=tags,
    )


def lend(module, ec2, address):
    p = module.params
    problem = lending_problem(address, p)
    if problem:
        raise ValidationError("Elastic IP %s (%s) %s" % (p["allocation_id"], address.get("PublicIp"), problem))
    current = tags_to_dict(address.get("Tags"))
    changed = ensure_ec2_tags(module, ec2, p["allocation_id"], current, wanted_tags(p), purge=False)
    return dict(changed=changed, **facts(address, tags_after(current, wanted_tags(p), purge=False)))


def take_back(module, ec2, address):
    p = module.params
    tags = tags_to_dict(address.get("Tags"))
    if tags.get(DEPLOYMENT_TAG) != p["name"] or tags.get(VPC_TAG) != p["vpc_id"]:
        return dict(changed=False, **facts(address, tags))
    if not module.check_mode:
        give_back(ec2, address, p["nat_tag_key"])
    left = {k: v for k, v in tags.items() if k not in lent_address_tag_keys(p["nat_tag_key"])}
    return dict(changed=True, **facts(address, left, detached=True))


def ensure(module):
    p = module.params
    if not valid_name(p["name"]):
        raise ValidationError(name_error(p["name"]))
    if not _ALLOCATION_ID.match(p["allocation_id"]):
        raise ValidationError(
            "allocation_id %r is not an allocation ID ('eipalloc-' followed by 8 or 17 lowercase hex digits)"
            % p["allocation_id"]
        )
    ec2 = module.client("ec2")
    address = describe_address(ec2, p["allocation_id"], module.region)
    if p["state"] == "absent":
        return take_back(module, ec2, address)
    return lend(module, ec2, address)


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        availability_zone=dict(type="str"),
        allocation_id=dict(type="str", required=True),
        **nat_tag_argument_spec(),
        tags=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["availability_zone"])],
    )
    module.run(ensure, resource="Elastic IP %s" % module.params["allocation_id"])


if __name__ == "__main__":
    main()
