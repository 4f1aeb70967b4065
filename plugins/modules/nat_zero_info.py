#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_zero_info
short_description: What a scale-to-zero NAT deployment looks like right now, per AZ
version_added: 0.1.0
description:
  - Reports, for each availability zone of a deployment, the workloads (instances the NAT serves), the NAT
    instance with its state and config version, the Elastic IP and where the private route table's default
    route points.
  - Classifies instances as the reconciler does. A NAT is an instance with the NAT tag and
    C(nat-zero:deployment=<name>); a workload is a pending or running instance in the AZ with neither the NAT
    tag nor the ignore tag.
  - Also reports the region it used (from O(region), C(module_defaults), the environment or the profile), whether
    O(vpc_id) exists there, and, when O(availability_zones) is omitted, the AZs where the deployment has anything
    left (so a teardown needs only the name, the region and the VPC).
  - Five reads at most (the VPC, instances of the VPC, the deployment's Elastic IPs, the route tables; without
    O(availability_zones) the deployment's security groups and launch templates instead of the route tables).
    Changes nothing.
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
  availability_zones:
    description:
      - The availability zones to report on.
      - Omitted, the AZs where the deployment has a security group, launch template, NAT instance or Elastic IP.
    type: list
    elements: str
  route_table_ids:
    description:
      - The private route table of each AZ, in the order of O(availability_zones). Without it, no route is
        reported.
    type: list
    elements: str
  config_version:
    description:
      - The current config version (from M(natzero.aws.nat_launch_template)). With it, each NAT reports
        whether it runs an older configuration.
    type: str
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.nat_zero.nat_tag
  - natzero.aws.nat_zero.ignore_tag
notes:
  - Supports check mode. Always reports C(changed=false).
"""

EXAMPLES = r"""
- name: Look at the deployment
  natzero.aws.nat_zero_info:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zones: [us-east-1a, us-east-1b]
    route_table_ids: [rtb-0aaaaaaaaaaaaaaaa, rtb-0bbbbbbbbbbbbbbbb]
    config_version: "{{ nat_template.config_version }}"
  register: nat_zero

- name: The NAT of us-east-1a runs while it has workloads
  ansible.builtin.assert:
    that:
      - nat_zero.zones['us-east-1a'].workloads | length > 0
      - nat_zero.zones['us-east-1a'].nat.state == 'running'
      - nat_zero.zones['us-east-1a'].eip is not none
"""

RETURN = r"""
region:
  description: The region the module used, wherever it came from.
  returned: always
  type: str
  sample: eu-west-1
vpc_exists:
  description: Whether O(vpc_id) exists in RV(region).
  returned: always
  type: bool
  sample: true
availability_zones:
  description: The AZs reported in RV(zones), in order (O(availability_zones), or the ones found).
  returned: always
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
found:
  description: Whether anything of the deployment was found in EC2 (a security group, launch template, NAT
    instance or Elastic IP). Only reported when O(availability_zones) is omitted.
  returned: when O(availability_zones) is omitted
  type: bool
  sample: false
zones:
  description: The state of each AZ, keyed by AZ name.
  returned: always
  type: dict
  contains:
    workloads:
      description: IDs of the pending or running workload instances.
      type: list
      elements: str
      sample: [i-0123456789abcdef0]
    nat:
      description: The NAT instance (the most alive one, if there are several), or null.
      type: dict
      sample: {id: i-0fedcba9876543210, state: running, config_version: 5f0c6a1e9b2d4c7a, config_drift: false}
      contains:
        id:
          description: Instance ID.
          type: str
          sample: i-0fedcba9876543210
        state:
          description: Instance state.
          type: str
          sample: running
        config_version:
          description: The instance's C(nat-zero:config-version) tag.
          type: str
          sample: 5f0c6a1e9b2d4c7a
        config_drift:
          description: Whether the instance's config version differs from O(config_version).
          type: bool
          sample: false
    nats:
      description: Every NAT instance of the AZ that is not terminated, in the same form as RV(zones.nat).
      type: list
      elements: dict
      sample: [{id: i-0fedcba9876543210, state: running, config_version: 5f0c6a1e9b2d4c7a, config_drift: false}]
    eip:
      description: The Elastic IP of the AZ (the associated one, if there are several), or null.
      type: dict
      sample: {allocation_id: eipalloc-0123456789abcdef0, public_ip: 198.51.100.7,
               association_id: eipassoc-0123456789abcdef0, network_interface_id: eni-0123456789abcdef0}
      contains:
        allocation_id:
          description: Allocation ID.
          type: str
          sample: eipalloc-0123456789abcdef0
        public_ip:
          description: The address.
          type: str
          sample: 198.51.100.7
        association_id:
          description: The association, or null.
          type: str
          sample: eipassoc-0123456789abcdef0
        network_interface_id:
          description: The ENI it is associated with, or null.
          type: str
          sample: eni-0123456789abcdef0
    eips:
      description: Every Elastic IP of the deployment in the AZ, in the same form as RV(zones.eip).
      type: list
      elements: dict
      sample: [{allocation_id: eipalloc-0123456789abcdef0, public_ip: 198.51.100.7,
                association_id: eipassoc-0123456789abcdef0, network_interface_id: eni-0123456789abcdef0}]
    route_table_id:
      description: The AZ's private route table, or null.
      type: str
      sample: rtb-0aaaaaaaaaaaaaaaa
    route_target:
      description: What the default route of the route table points at, or null.
      type: str
      sample: eni-0fedcba9876543210
  sample:
    us-east-1a:
      workloads: [i-0123456789abcdef0]
      nat: {id: i-0fedcba9876543210, state: running, config_version: 5f0c6a1e9b2d4c7a, config_drift: false}
      nats: [{id: i-0fedcba9876543210, state: running, config_version: 5f0c6a1e9b2d4c7a, config_drift: false}]
      eip: {allocation_id: eipalloc-0123456789abcdef0, public_ip: 198.51.100.7,
            association_id: eipassoc-0123456789abcdef0, network_interface_id: eni-0123456789abcdef0}
      eips: []
      route_table_id: rtb-0aaaaaaaaaaaaaaaa
      route_target: eni-0fedcba9876543210
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ValidationError, is_error
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import default_route, describe_instances, route_target
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    AZ_TAG,
    CONFIG_VERSION_TAG,
    DEPLOYMENT_TAG,
    LIVE_INSTANCE_STATES,
    VPC_TAG,
    ignore_tag_argument_spec,
    nat_tag_argument_spec,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import tag_filters, tags_to_dict

WORKLOAD_STATES = ("pending", "running")
# Which NAT to report when several exist: the one closest to serving traffic.
_ALIVENESS = {"running": 0, "pending": 1, "stopping": 2, "stopped": 3, "shutting-down": 4}


def nat_fact(instance, config_version):
    version = tags_to_dict(instance.get("Tags")).get(CONFIG_VERSION_TAG)
    return dict(
        id=instance["InstanceId"],
        state=instance["State"]["Name"],
        config_version=version,
        config_drift=bool(config_version) and version != config_version,
    )


def eip_fact(address):
    return dict(
        allocation_id=address["AllocationId"],
        public_ip=address.get("PublicIp"),
        association_id=address.get("AssociationId") or None,
        network_interface_id=address.get("NetworkInterfaceId") or None,
    )


def zone_facts(az, instances, addresses, params):
    nat_key, nat_value = params["nat_tag_key"], params["nat_tag_value"]
    ignore_key, ignore_value = params["ignore_tag_key"], params["ignore_tag_value"]
    workloads, nats = [], []
    for instance in instances:
        if instance.get("Placement", {}).get("AvailabilityZone") != az:
            continue
        tags = tags_to_dict(instance.get("Tags"))
        if tags.get(nat_key) == nat_value:
            if tags.get(DEPLOYMENT_TAG) == params["name"]:
                nats.append(instance)
        elif tags.get(ignore_key) != ignore_value and instance["State"]["Name"] in WORKLOAD_STATES:
            workloads.append(instance["InstanceId"])
    nats.sort(key=lambda i: (_ALIVENESS.get(i["State"]["Name"], 9), i["InstanceId"]))
    eips = [eip_fact(a) for a in addresses if tags_to_dict(a.get("Tags")).get(AZ_TAG) == az]
    eips.sort(key=lambda e: (e["association_id"] is None, e["allocation_id"]))
    nat_facts = [nat_fact(i, params["config_version"]) for i in nats]
    return dict(
        workloads=workloads,
        nat=nat_facts[0] if nat_facts else None,
        nats=nat_facts,
        eip=eips[0] if eips else None,
        eips=eips,
    )


def vpc_exists(ec2, vpc_id):
    try:
        return bool(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"])
    except ClientError as exc:
        # AWS answers an unknown (or malformed) ID with an error, not an empty list.
        if is_error(exc, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            return False
        raise


def zones_in_use(ec2, params, instances, addresses):
    """The AZs where the deployment has a security group, launch template, NAT or Elastic IP."""
    identity = tag_filters({DEPLOYMENT_TAG: params["name"], VPC_TAG: params["vpc_id"]})
    groups = ec2.describe_security_groups(Filters=identity)["SecurityGroups"]
    templates = ec2.describe_launch_templates(Filters=identity)["LaunchTemplates"]
    found = {tags_to_dict(r.get("Tags")).get(AZ_TAG) for r in groups + templates + addresses}
    nat_key, nat_value = params["nat_tag_key"], params["nat_tag_value"]
    for instance in instances:
        tags = tags_to_dict(instance.get("Tags"))
        if tags.get(nat_key) == nat_value and tags.get(DEPLOYMENT_TAG) == params["name"]:
            found.add(instance.get("Placement", {}).get("AvailabilityZone"))
    found.discard(None)
    return sorted(found)


def ensure(module):
    p = module.params
    route_tables = p["route_table_ids"] or []
    if route_tables and p["availability_zones"] is not None and len(route_tables) != len(p["availability_zones"]):
        raise ValidationError(
            "route_table_ids has %d entries but availability_zones has %d; give one route table per AZ, in order"
            % (len(route_tables), len(p["availability_zones"]))
        )
    ec2 = module.client("ec2")
    exists = vpc_exists(ec2, p["vpc_id"])
    instances = describe_instances(
        ec2,
        [
            {"Name": "vpc-id", "Values": [p["vpc_id"]]},
            {"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)},
        ],
    )
    addresses = ec2.describe_addresses(Filters=tag_filters({DEPLOYMENT_TAG: p["name"], VPC_TAG: p["vpc_id"]}))[
        "Addresses"
    ]
    result = dict(changed=False, region=module.region, vpc_exists=exists)
    zones = p["availability_zones"]
    if zones is None:
        zones = zones_in_use(ec2, p, instances, addresses)
        result["found"] = bool(zones)
    tables = {}
    if route_tables:
        described = ec2.describe_route_tables(RouteTableIds=sorted(set(route_tables)))["RouteTables"]
        tables = {t["RouteTableId"]: t for t in described}
    facts = {}
    for index, az in enumerate(zones):
        zone = zone_facts(az, instances, addresses, p)
        table_id = route_tables[index] if route_tables else None
        route = default_route(tables[table_id]) if table_id else None
        zone.update(route_table_id=table_id, route_target=route_target(route) if route else None)
        facts[az] = zone
    result.update(availability_zones=zones, zones=facts)
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        availability_zones=dict(type="list", elements="str"),
        route_table_ids=dict(type="list", elements="str"),
        config_version=dict(type="str"),
        **nat_tag_argument_spec(),
        **ignore_tag_argument_spec(),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="deployment %s" % module.params["name"])


if __name__ == "__main__":
    main()
