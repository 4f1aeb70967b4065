#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpc_discovery_info
short_description: Find, per AZ, the public subnet and the private subnets a NAT deployment serves
version_added: 0.2.0
description:
  - Reads a VPC's subnets and route tables and finds, per availability zone, the public subnet (where the NAT's
    public ENI goes) and the private subnets (whose default route the NAT takes over), with their route tables
    and CIDR blocks. The role C(natzero.aws.nat_zero) runs it when the subnet lists are left out, so a VPC ID
    is enough to deploy; run it yourself to see what a deployment would serve before deploying.
  - A subnet uses the route table explicitly associated with it, else the VPC's main route table, as EC2 does.
  - A subnet is public when its route table sends V(0.0.0.0/0) to an internet gateway (C(igw-...), not a
    blackhole). Every other subnet with an IPv4 CIDR block is private. An AZ with a public subnet but no private
    one is not served (nothing there needs a NAT).
  - It refuses to guess, and fails naming the subnets or route tables, when an AZ has two public subnets, when
    an AZ has private subnets but no public subnet, when one route table serves private subnets of several AZs
    (its one default route can reach only one AZ's NAT), or when a private route table already sends
    V(0.0.0.0/0) somewhere that is not this deployment's NAT (a NAT gateway, a peering connection, a transit
    gateway, another instance or ENI). Narrow it with O(availability_zones) or O(subnet_tag_filter), or give the
    subnets explicitly.
  - Three reads (subnets, route tables, the deployment's ENIs), each across all its pages. Changes nothing.
author:
  - natzero.aws maintainers (@natzero)
options:
  vpc_id:
    description:
      - The VPC to look at.
    type: str
    required: true
  name:
    description:
      - The deployment name. A private route table whose default route already points at one of this
        deployment's ENIs (a deployment being run again) is its own, not a conflict.
      - Omitted, any default route of a private route table that is not a blackhole is a conflict.
    type: str
  availability_zones:
    description:
      - Only these availability zones. Each must have a private subnet (after O(subnet_tag_filter)).
      - Omitted or empty, every AZ of the VPC that has a private subnet.
    type: list
    elements: str
  subnet_tag_filter:
    description:
      - Only subnets carrying all of these tags (key and value), public and private alike, for example the tag
        C(nat-zero:serve=true) set on the private subnets to serve and on the one public subnet per AZ to use.
      - A YAML boolean value matches the tag value V(true) or V(false).
    type: dict
    default: {}
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode. Always reports C(changed=false).
  - On a refusal the module fails; RV(zones) then holds what it found, so the message and the facts can be read
    together.
"""

EXAMPLES = r"""
- name: What would a deployment in this VPC serve?
  natzero.aws.vpc_discovery_info:
    vpc_id: vpc-0123456789abcdef0
  register: discovered

- name: Only the subnets tagged for it, in two AZs
  natzero.aws.vpc_discovery_info:
    vpc_id: vpc-0123456789abcdef0
    name: prod
    availability_zones: [us-east-1a, us-east-1b]
    subnet_tag_filter:
      nat-zero:serve: "true"
  register: discovered
"""

RETURN = r"""
region:
  description: The region the module used, wherever it came from.
  returned: always
  type: str
  sample: us-east-1
availability_zones:
  description: The AZs found to serve, in order.
  returned: always
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
zones:
  description: Per AZ found to serve, what a deployment there uses.
  returned: always
  type: dict
  contains:
    availability_zone:
      description: The AZ (the key), so a list of the values says it too.
      type: str
      sample: us-east-1a
    public_subnet_id:
      description: The public subnet (the NAT's public ENI), or null when the AZ has none.
      type: str
      sample: subnet-0aaaaaaaaaaaaaaaa
    public_subnet_ids:
      description: Every public subnet of the AZ (more than one is a refusal).
      type: list
      elements: str
      sample: [subnet-0aaaaaaaaaaaaaaaa]
    private_subnet_ids:
      description: The private subnets, by ID. The NAT's private ENI goes into the first.
      type: list
      elements: str
      sample: [subnet-0bbbbbbbbbbbbbbb1, subnet-0bbbbbbbbbbbbbbb2]
    private_route_table_ids:
      description: The route tables of the private subnets, each once.
      type: list
      elements: str
      sample: [rtb-0ccccccccccccccc1, rtb-0ccccccccccccccc2]
    private_cidrs:
      description: The IPv4 CIDR blocks of the private subnets, in the order of RV(zones.private_subnet_ids).
      type: list
      elements: str
      sample: [10.0.128.0/20, 10.0.144.0/20]
  sample:
    us-east-1a:
      availability_zone: us-east-1a
      public_subnet_id: subnet-0aaaaaaaaaaaaaaaa
      public_subnet_ids: [subnet-0aaaaaaaaaaaaaaaa]
      private_subnet_ids: [subnet-0bbbbbbbbbbbbbbb1, subnet-0bbbbbbbbbbbbbbb2]
      private_route_table_ids: [rtb-0ccccccccccccccc1, rtb-0ccccccccccccccc2]
      private_cidrs: [10.0.128.0/20, 10.0.144.0/20]
problems:
  description: Why discovery refused (empty when it did not). The failure message joins them.
  returned: always
  type: list
  elements: str
  sample: []
"""

import ipaddress

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ModuleFailure, is_error
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import DEFAULT_ROUTE, default_route, route_target
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import DEPLOYMENT_TAG, VPC_TAG
from ansible_collections.natzero.aws.plugins.module_utils.tags import normalize_tags, tag_filters

# What a route target's ID prefix is, for a message a user can act on.
_TARGET_KINDS = (
    ("nat-", "a NAT gateway"),
    ("pcx-", "a VPC peering connection"),
    ("tgw-", "a transit gateway"),
    ("vgw-", "a virtual private gateway"),
    ("eni-", "a network interface not of this deployment"),
    ("i-", "an instance"),
    ("igw-", "an internet gateway"),
)
_EXPLICIT = (
    "or give the subnets explicitly (nat_zero_public_subnets, nat_zero_private_subnets, "
    "nat_zero_private_route_table_ids, nat_zero_private_subnets_cidr_blocks)"
)


def paginated(ec2, operation, key, filters):
    items = []
    for page in ec2.get_paginator(operation).paginate(Filters=filters):
        items.extend(page[key])
    return items


def target_kind(target):
    return next((kind for prefix, kind in _TARGET_KINDS if target.startswith(prefix)), "something else")


def table_of_subnets(route_tables):
    """(subnet ID -> its explicitly associated table, the VPC's main table or None)."""
    by_subnet, main = {}, None
    for table in route_tables:
        for association in table.get("Associations") or ():
            if association.get("Main"):
                main = table
            elif association.get("SubnetId"):
                by_subnet[association["SubnetId"]] = table
    return by_subnet, main


def is_public(table):
    """A subnet is public when its table sends 0.0.0.0/0 to a live internet gateway."""
    route = default_route(table) if table else None
    return bool(route) and (route_target(route) or "").startswith("igw-") and route.get("State") != "blackhole"


def conflicting_route(table, own_enis):
    """The default route's target when it is live and not this deployment's ENI, else None.

    EC2 reports a route to an instance with both InstanceId and NetworkInterfaceId:
    the ENI decides whether it is ours."""
    route = default_route(table)
    if not route or route.get("State") == "blackhole":
        return None
    if route.get("NetworkInterfaceId") in own_enis:
        return None
    return route_target(route)


def classify(subnets, route_tables, own_enis):
    """AZ -> {'public': [subnet], 'private': [(subnet, table)]}; every subnet with an IPv4 CIDR, by AZ."""
    by_subnet, main = table_of_subnets(route_tables)
    zones = {}
    # IPv6-only subnets have nothing to masquerade.
    with_ipv4 = [s for s in subnets if s.get("CidrBlock")]
    for subnet in sorted(with_ipv4, key=lambda s: (s["AvailabilityZone"], ipaddress.ip_network(s["CidrBlock"]))):
        zone = zones.setdefault(subnet["AvailabilityZone"], {"public": [], "private": []})
        table = by_subnet.get(subnet["SubnetId"], main)
        if is_public(table):
            zone["public"].append(subnet)
        else:
            zone["private"].append((subnet, table))
    return zones


def private_tables(zone):
    """The route table of each private subnet of a zone, in subnet order (None: no table at all)."""
    return [table for subnet, table in zone["private"]]


def zone_fact(az, zone):
    publics = [s["SubnetId"] for s in zone["public"]]
    privates = [subnet for subnet, table in zone["private"]]
    tables = []
    for table in private_tables(zone):
        if table and table["RouteTableId"] not in tables:
            tables.append(table["RouteTableId"])
    return dict(
        availability_zone=az,
        public_subnet_id=publics[0] if len(publics) == 1 else None,
        public_subnet_ids=publics,
        private_subnet_ids=[s["SubnetId"] for s in privates],
        private_route_table_ids=tables,
        private_cidrs=[s["CidrBlock"] for s in privates],
    )


def zone_problems(az, zone, own_enis):
    problems = []
    privates = ", ".join(subnet["SubnetId"] for subnet, table in zone["private"])
    if len(zone["public"]) > 1:
        problems.append(
            "%s has %d public subnets (%s): tag the one the NAT should use and the private subnets to serve, and "
            "set nat_zero_subnet_tag_filter to that tag, %s"
            % (az, len(zone["public"]), ", ".join(s["SubnetId"] for s in zone["public"]), _EXPLICIT)
        )
    if not zone["public"]:
        problems.append(
            "%s has private subnets (%s) but no public subnet (none has a route table sending %s to an internet "
            "gateway): add one, leave %s out with nat_zero_availability_zones, %s"
            % (az, privates, DEFAULT_ROUTE, az, _EXPLICIT)
        )
    seen = set()
    for subnet, table in zone["private"]:
        if table is None:
            problems.append(
                "%s: private subnet %s has no route table and the VPC has no main route table"
                % (az, subnet["SubnetId"])
            )
            continue
        if table["RouteTableId"] in seen:
            continue
        seen.add(table["RouteTableId"])
        target = conflicting_route(table, own_enis)
        if target:
            users = ", ".join(s["SubnetId"] for s, t in zone["private"] if t is table)
            problems.append(
                "route table %s of private subnets %s in %s already sends %s to %s (%s): remove that route if the "
                "NAT should take it over, leave those subnets out with nat_zero_subnet_tag_filter, %s"
                % (table["RouteTableId"], users, az, DEFAULT_ROUTE, target, target_kind(target), _EXPLICIT)
            )
    return problems


def shared_table_problems(zones):
    """A route table has one default route: it cannot reach the NATs of two AZs."""
    azs_of = {}
    for az, zone in zones.items():
        for table in private_tables(zone):
            if table:
                azs_of.setdefault(table["RouteTableId"], set()).add(az)
    return [
        "route table %s serves private subnets of %s; its one %s route can reach only one AZ's NAT: give each AZ's "
        "private subnets a route table of their own, %s" % (table_id, ", ".join(sorted(azs)), DEFAULT_ROUTE, _EXPLICIT)
        for table_id, azs in sorted(azs_of.items())
        if len(azs) > 1
    ]


def discover(subnets, route_tables, own_enis, availability_zones):
    """(zones to serve, problems): pure, from what EC2 returned."""
    zones = classify(subnets, route_tables, own_enis)
    problems = []
    wanted = availability_zones or sorted(az for az, zone in zones.items() if zone["private"])
    for az in availability_zones or ():
        if not zones.get(az, {}).get("private"):
            problems.append(
                "nat_zero_availability_zones names %s, but the VPC has no private subnet there (after "
                "nat_zero_subnet_tag_filter)" % az
            )
    served = {az: zones[az] for az in wanted if zones.get(az, {}).get("private")}
    if not served and not problems:
        problems.append(
            "found no private subnet to serve (a subnet whose route table has no route to an internet gateway)"
        )
    for az, zone in served.items():
        problems.extend(zone_problems(az, zone, own_enis))
    problems.extend(shared_table_problems(served))
    return {az: zone_fact(az, zone) for az, zone in served.items()}, problems


def tag_values(tags):
    """Tag values as EC2 compares them; a YAML boolean means the usual lowercase 'true' / 'false'."""
    return normalize_tags({k: str(v).lower() if isinstance(v, bool) else v for k, v in tags.items()})


def own_enis(ec2, params):
    if not params["name"]:
        return set()
    identity = tag_filters({DEPLOYMENT_TAG: params["name"], VPC_TAG: params["vpc_id"]})
    return {
        e["NetworkInterfaceId"] for e in paginated(ec2, "describe_network_interfaces", "NetworkInterfaces", identity)
    }


def ensure(module):
    p = module.params
    ec2 = module.client("ec2")
    vpc = [{"Name": "vpc-id", "Values": [p["vpc_id"]]}]
    try:
        ec2.describe_vpcs(VpcIds=[p["vpc_id"]])
    except ClientError as exc:
        if is_error(exc, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            raise ModuleFailure("VPC %s does not exist in region %s" % (p["vpc_id"], module.region)) from exc
        raise
    subnets = paginated(ec2, "describe_subnets", "Subnets", vpc + tag_filters(tag_values(p["subnet_tag_filter"])))
    route_tables = paginated(ec2, "describe_route_tables", "RouteTables", vpc)
    zones, problems = discover(subnets, route_tables, own_enis(ec2, p), p["availability_zones"])
    result = dict(changed=False, region=module.region, availability_zones=list(zones), zones=zones, problems=problems)
    if problems:
        raise ModuleFailure(
            "Cannot tell from VPC %s what to serve: %s" % (p["vpc_id"], "; ".join(problems)),
            **{k: v for k, v in result.items() if k != "changed"},
        )
    return result


def main():
    argument_spec = dict(
        vpc_id=dict(type="str", required=True),
        name=dict(type="str"),
        availability_zones=dict(type="list", elements="str"),
        subnet_tag_filter=dict(type="dict", default={}),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="subnets of VPC %s" % module.params["vpc_id"])


if __name__ == "__main__":
    main()
