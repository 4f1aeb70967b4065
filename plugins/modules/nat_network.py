#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_network
short_description: The persistent network of one AZ's NAT instance
version_added: 0.1.0
description:
  - Manages what a scale-to-zero NAT instance of one availability zone keeps while it is stopped or
    replaced, so that every instance the reconciler launches plugs into the same network.
  - A security group C(<name>-nat-<az>) that admits all traffic from the private CIDR blocks given in
    O(private_cidrs) (every private subnet of the deployment, so any AZ's NAT can take over another's traffic) and
    nothing else, and allows all egress. Any other ingress rule is removed. Nothing is ever open to the internet.
  - A public ENI in the public subnet (device index 0 of the NAT) and a private ENI in the private subnet
    (device index 1), both with the source/destination check off.
  - The default route (V(0.0.0.0/0)) of each private route table of the AZ (O(route_table_ids)), pointing at the
    private ENI. A default route that points elsewhere (a NAT gateway, another instance) is replaced and reported.
  - Resources are found by their tags (C(nat-zero:deployment), C(nat-zero:vpc), C(nat-zero:az)), never by
    remembered IDs, so the module converges whatever state a previous run left.
  - Before changing anything, the module checks that both subnets are in O(vpc_id) and O(availability_zone),
    that the route tables are in O(vpc_id), and that the public subnet is public (its route table, the one
    associated with it or else the VPC's main route table, sends V(0.0.0.0/0) to an internet gateway).
  - With O(state=absent), removes every route of the VPC that targets this deployment's ENIs, the ENIs,
    then the security group. It refuses to delete an ENI that a live instance still holds; terminate the
    NAT instances first (M(natzero.aws.nat_cleanup)).
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The deployment name. Resource names and the C(nat-zero:deployment) tag derive from it.
    type: str
    required: true
  vpc_id:
    description:
      - The VPC the NAT serves.
    type: str
    required: true
  availability_zone:
    description:
      - The availability zone, for example V(us-east-1a).
    type: str
    required: true
  public_subnet_id:
    description:
      - The public subnet (default route to an internet gateway) of the AZ, for the public ENI.
      - Required with O(state=present).
    type: str
  private_subnet_id:
    description:
      - The private subnet of the AZ, for the private ENI.
      - Required with O(state=present).
    type: str
  private_cidr:
    description:
      - One CIDR block, the same as O(private_cidrs) with one entry.
      - With O(state=present), one of O(private_cidr) and O(private_cidrs) is required.
    type: str
  private_cidrs:
    description:
      - The IPv4 CIDR blocks the security group admits, all traffic from each. Give every private subnet's CIDR of
        the deployment, in all AZs, so this NAT can also carry another AZ's traffic.
    type: list
    elements: str
  route_table_id:
    description:
      - One route table, the same as O(route_table_ids) with one entry.
      - With O(state=present), one of O(route_table_id) and O(route_table_ids) is required. With O(state=absent)
        every route table of the VPC is checked for routes to this deployment's ENIs.
    type: str
  route_table_ids:
    description:
      - The route tables of the AZ's private subnets. The default route of each is pointed at the private ENI.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the network, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - How many seconds to wait for AWS to let go of resources on removal (an ENI of a terminated instance
        to be detached, a security group to lose its last ENI).
    type: int
    default: 300
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - An ENI cannot move to another subnet. If a subnet changes, remove the network (O(state=absent)) after
    terminating the NAT instances, then create it again.
"""

EXAMPLES = r"""
- name: Network of the NAT in us-east-1a
  natzero.aws.nat_network:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zone: us-east-1a
    public_subnet_id: subnet-0aaaaaaaaaaaaaaaa
    private_subnet_id: subnet-0bbbbbbbbbbbbbbbb
    private_cidr: 10.0.101.0/24
    route_table_id: rtb-0cccccccccccccccc
    tags:
      team: platform
  register: nat_network

- name: Network of the NAT in us-east-1b, whose AZ has two private route tables
  natzero.aws.nat_network:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zone: us-east-1b
    public_subnet_id: subnet-0dddddddddddddddd
    private_subnet_id: subnet-0eeeeeeeeeeeeeee1
    private_cidrs: [10.0.101.0/24, 10.0.102.0/24, 10.0.103.0/24]
    route_table_ids: [rtb-0fffffffffffffff1, rtb-0fffffffffffffff2]

- name: Remove it (after the NAT instances are terminated)
  natzero.aws.nat_network:
    name: prod
    vpc_id: vpc-0123456789abcdef0
    availability_zone: us-east-1a
    state: absent
"""

RETURN = r"""
security_group_id:
  description: The NAT security group.
  returned: success; null in check mode when it would be created, or when absent
  type: str
  sample: sg-0123456789abcdef0
public_eni_id:
  description: The public ENI (device index 0 of the NAT instance).
  returned: success; null in check mode when it would be created, or when absent
  type: str
  sample: eni-0123456789abcdef0
private_eni_id:
  description: The private ENI (device index 1 of the NAT instance), the target of the default route.
  returned: success; null in check mode when it would be created, or when absent
  type: str
  sample: eni-0fedcba9876543210
route_table_id:
  description: The first private route table (of O(route_table_ids)).
  returned: success
  type: str
  sample: rtb-0cccccccccccccccc
route_table_ids:
  description: The private route tables routed to the private ENI.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [rtb-0cccccccccccccccc]
route_target:
  description: What the route tables' default route points at after the run.
  returned: when O(state=present)
  type: str
  sample: eni-0fedcba9876543210
replaced_route_target:
  description: The target of the first default route that the module replaced (in check mode, would replace), or null.
  returned: when O(state=present)
  type: str
  sample: nat-0123456789abcdef0
replaced_route_targets:
  description: Per route table, the target of the default route the module replaced (in check mode, would replace).
  returned: when O(state=present)
  type: dict
  sample: {rtb-0cccccccccccccccc: nat-0123456789abcdef0}
removed:
  description: The IDs of what O(state=absent) removed (or would remove, in check mode), in order.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [rtb-0cccccccccccccccc:0.0.0.0/0, eni-0fedcba9876543210, eni-0123456789abcdef0, sg-0123456789abcdef0]
"""

import ipaddress

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ModuleFailure,
    ValidationError,
    is_error,
    retry_on_codes,
)
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import (
    DEFAULT_ROUTE,
    default_route,
    route_target,
    wait_terminated,
)
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    AZ_TAG,
    DEPLOYMENT_TAG,
    INTERFACE_TAG,
    VPC_TAG,
    name_error,
    resource_name,
    valid_name,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    ensure_ec2_tags,
    normalize_tags,
    purge_requested,
    tag_filters,
    tag_specifications,
    tags_argument_spec,
    tags_to_dict,
)

INTERFACES = ("public", "private")
# A resource created a moment ago may be missing from the next call's view.
_NOT_YET_VISIBLE = ("InvalidNetworkInterfaceID.NotFound", "InvalidGroup.NotFound")


def ingress_rules(permissions):
    """Every (protocol, from, to, kind, source) an IpPermissions list allows."""
    rules = set()
    for perm in permissions or ():
        head = (perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort"))
        rules.update(head + ("cidr", r["CidrIp"]) for r in perm.get("IpRanges") or ())
        rules.update(head + ("ipv6", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges") or ())
        rules.update(head + ("prefix", p["PrefixListId"]) for p in perm.get("PrefixListIds") or ())
        rules.update(head + ("group", g["GroupId"]) for g in perm.get("UserIdGroupPairs") or ())
    return rules


def permission_for(rule):
    protocol, from_port, to_port, kind, source = rule
    perm = {"IpProtocol": protocol}
    if from_port is not None:
        perm.update(FromPort=from_port, ToPort=to_port)
    key, item = {
        "cidr": ("IpRanges", {"CidrIp": source}),
        "ipv6": ("Ipv6Ranges", {"CidrIpv6": source}),
        "prefix": ("PrefixListIds", {"PrefixListId": source}),
        "group": ("UserIdGroupPairs", {"GroupId": source}),
    }[kind]
    perm[key] = [item]
    return perm


def describe_rule(rule):
    protocol, from_port, to_port, kind, source = rule
    ports = "all" if from_port is None else "%s-%s" % (from_port, to_port)
    return "%s %s from %s" % ("all" if protocol == "-1" else protocol, ports, source)


class Network:
    """One AZ's NAT network: read what exists, then converge it."""

    def __init__(self, module):
        self.module = module
        self.ec2 = module.client("ec2")
        p = module.params
        self.name = p["name"]
        self.vpc_id = p["vpc_id"]
        self.az = p["availability_zone"]
        self.resource_name = resource_name(self.name, self.az)
        self.identity = {DEPLOYMENT_TAG: self.name, VPC_TAG: self.vpc_id, AZ_TAG: self.az}
        self.changed = False
        self.before = {}
        self.after = {}

    # -- observe -------------------------------------------------------------

    def find_security_group(self):
        filters = [
            {"Name": "vpc-id", "Values": [self.vpc_id]},
            {"Name": "group-name", "Values": [self.resource_name]},
        ]
        groups = self.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        return groups[0] if groups else None

    def find_enis(self):
        """{'public': eni or None, 'private': eni or None}, found by tags."""
        filters = [{"Name": "vpc-id", "Values": [self.vpc_id]}] + tag_filters(self.identity)
        enis = self.ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
        found = {}
        for interface in INTERFACES:
            matching = [e for e in enis if tags_to_dict(e.get("TagSet")).get(INTERFACE_TAG) == interface]
            if len(matching) > 1:
                raise ModuleFailure(
                    "Found %d %s ENIs tagged for deployment %s in %s: %s. Delete all but one."
                    % (
                        len(matching),
                        interface,
                        self.name,
                        self.az,
                        ", ".join(e["NetworkInterfaceId"] for e in matching),
                    )
                )
            found[interface] = matching[0] if matching else None
        return found

    def routes_to(self, eni_ids, route_table_id=None):
        """(route_table_id, destination) of every route in the VPC targeting one of eni_ids."""
        filters = [{"Name": "vpc-id", "Values": [self.vpc_id]}]
        tables = self.ec2.describe_route_tables(Filters=filters)["RouteTables"]
        found = []
        for table in tables:
            for route in table.get("Routes") or ():
                if route.get("NetworkInterfaceId") in eni_ids and route.get("DestinationCidrBlock"):
                    found.append((table["RouteTableId"], route["DestinationCidrBlock"]))
        return found

    # -- validate ------------------------------------------------------------

    def validate(self):
        p = self.module.params
        self.private_cidrs = sorted({self.valid_cidr(cidr) for cidr in self.given("private_cidr")})
        if p["public_subnet_id"] == p["private_subnet_id"]:
            raise ValidationError("public_subnet_id and private_subnet_id must be different subnets")
        subnets = {}
        for subnet_id in (p["public_subnet_id"], p["private_subnet_id"]):
            try:
                subnets[subnet_id] = self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
            except ClientError as exc:
                if is_error(exc, "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"):
                    raise ValidationError("Subnet %s does not exist" % subnet_id) from exc
                raise
        for subnet_id, subnet in subnets.items():
            if subnet["VpcId"] != self.vpc_id:
                raise ValidationError(
                    "Subnet %s is in %s, not in vpc_id %s" % (subnet_id, subnet["VpcId"], self.vpc_id)
                )
            if subnet["AvailabilityZone"] != self.az:
                raise ValidationError(
                    "Subnet %s is in %s, not in availability_zone %s" % (subnet_id, subnet["AvailabilityZone"], self.az)
                )
        self.check_internet_route(p["public_subnet_id"])
        self.route_table_ids = list(dict.fromkeys(self.given("route_table_id")))
        for route_table_id in self.route_table_ids:
            self.check_route_table(route_table_id)

    def given(self, option):
        """The list form of an option that also takes one value (route_table_id, route_table_ids)."""
        p = self.module.params
        return p[option + "s"] or [p[option]]

    @staticmethod
    def valid_cidr(cidr):
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise ValidationError("private_cidrs entry %r is not a valid CIDR block: %s" % (cidr, exc)) from exc
        if network.version != 4:
            raise ValidationError("private_cidrs entry %r must be an IPv4 CIDR block" % cidr)
        return str(network)

    def check_route_table(self, route_table_id):
        try:
            table = self.ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"][0]
        except ClientError as exc:
            if is_error(exc, "InvalidRouteTableID.NotFound", "InvalidRouteTableID.Malformed"):
                raise ValidationError("Route table %s does not exist" % route_table_id) from exc
            raise
        if table["VpcId"] != self.vpc_id:
            raise ValidationError(
                "Route table %s is in %s, not in vpc_id %s" % (route_table_id, table["VpcId"], self.vpc_id)
            )

    def public_route_table(self, subnet_id):
        """(table, how it applies): the subnet's explicitly associated table, else the VPC's main table."""
        for filters, how in (
            ([{"Name": "association.subnet-id", "Values": [subnet_id]}], "its route table"),
            (
                [{"Name": "vpc-id", "Values": [self.vpc_id]}, {"Name": "association.main", "Values": ["true"]}],
                "the VPC's main route table (it has no table of its own)",
            ),
        ):
            tables = self.ec2.describe_route_tables(Filters=filters)["RouteTables"]
            if tables:
                return tables[0], how
        return None, "no route table"

    def check_internet_route(self, subnet_id):
        """The NAT's public ENI reaches the internet only if the public subnet
        sends 0.0.0.0/0 to an internet gateway (a blackhole route is a gateway gone)."""
        table, how = self.public_route_table(subnet_id)
        route = default_route(table) if table else None
        target = route_target(route) if route else None
        if target and target.startswith("igw-") and route.get("State") != "blackhole":
            return
        where = "%s %s" % (how, table["RouteTableId"]) if table else how
        if route is None:
            found = "has no %s route" % DEFAULT_ROUTE
        elif route.get("State") == "blackhole":
            found = "sends %s to %s, which is gone (blackhole)" % (DEFAULT_ROUTE, target)
        else:
            found = "sends %s to %s" % (DEFAULT_ROUTE, target)
        raise ValidationError(
            "Subnet %s is not a public subnet: %s %s; the NAT needs a %s route to an internet gateway (igw-...)"
            % (subnet_id, where, found, DEFAULT_ROUTE)
        )

    # -- converge ------------------------------------------------------------

    def tags_for(self, name, extra=None):
        tags = normalize_tags(self.module.params["tags"])
        tags.update(self.identity)
        tags["Name"] = name
        tags.update(extra or {})
        return tags

    def ensure_security_group(self):
        group = self.find_security_group()
        desired_tags = self.tags_for(self.resource_name)
        wanted = {("-1", None, None, "cidr", cidr) for cidr in self.private_cidrs}
        self.before["security_group"] = None
        self.after["security_group"] = {
            "name": self.resource_name,
            "ingress": sorted(describe_rule(r) for r in wanted),
            "tags": desired_tags,
        }
        if group is None:
            self.changed = True
            if self.module.check_mode:
                return None
            group = self.ec2.create_security_group(
                GroupName=self.resource_name,
                Description="NAT instance of %s in %s: all from the private subnet, no inbound from the internet"
                % (self.name, self.az),
                VpcId=self.vpc_id,
                TagSpecifications=tag_specifications("security-group", desired_tags),
            )
            group = retry_on_codes(
                lambda: self.ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0],
                _NOT_YET_VISIBLE,
            )
        else:
            current = ingress_rules(group.get("IpPermissions"))
            self.before["security_group"] = {
                "name": group["GroupName"],
                "ingress": sorted(describe_rule(r) for r in current),
                "tags": tags_to_dict(group.get("Tags")),
            }
        group_id = group["GroupId"]
        self.changed |= ensure_ec2_tags(
            self.module,
            self.ec2,
            group_id,
            tags_to_dict(group.get("Tags")),
            desired_tags,
            purge_requested(self.module.params),
        )
        current = ingress_rules(group.get("IpPermissions"))
        unwanted = sorted(current - wanted, key=str)
        if unwanted:
            self.changed = True
            if not self.module.check_mode:
                self.ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=[permission_for(r) for r in unwanted]
                )
        missing = sorted(wanted - current, key=str)
        if missing:
            self.changed = True
            if not self.module.check_mode:
                self.ec2.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=[self.described_permission(r) for r in missing]
                )
        all_egress = ("-1", None, None, "cidr", "0.0.0.0/0")
        if all_egress not in ingress_rules(group.get("IpPermissionsEgress")):
            self.changed = True
            if not self.module.check_mode:
                self.ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[permission_for(all_egress)])
        return group_id

    @staticmethod
    def described_permission(rule):
        perm = permission_for(rule)
        perm["IpRanges"][0]["Description"] = "private subnet of the deployment"
        return perm

    def ensure_eni(self, interface, eni, subnet_id, group_id):
        name = "%s-%s" % (self.resource_name, interface)
        desired_tags = self.tags_for(name, {INTERFACE_TAG: interface})
        key = "%s_eni" % interface
        self.after[key] = {"subnet_id": subnet_id, "source_dest_check": False, "tags": desired_tags}
        if eni is None:
            self.before[key] = None
            self.changed = True
            if self.module.check_mode:
                return None
            eni = self.ec2.create_network_interface(
                SubnetId=subnet_id,
                Groups=[group_id],
                Description="%s NAT ENI of %s in %s" % (interface.capitalize(), self.name, self.az),
                TagSpecifications=tag_specifications("network-interface", desired_tags),
            )["NetworkInterface"]
            eni_id = eni["NetworkInterfaceId"]
            retry_on_codes(
                lambda: self.ec2.modify_network_interface_attribute(
                    NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False}
                ),
                _NOT_YET_VISIBLE,
            )
            return eni_id
        eni_id = eni["NetworkInterfaceId"]
        self.before[key] = {
            "subnet_id": eni["SubnetId"],
            "source_dest_check": eni.get("SourceDestCheck"),
            "tags": tags_to_dict(eni.get("TagSet")),
        }
        if eni["SubnetId"] != subnet_id:
            raise ValidationError(
                "The %s ENI %s of %s in %s is in subnet %s, not in %s. An ENI cannot move: terminate the NAT "
                "instances, remove the network with state=absent, then create it again."
                % (interface, eni_id, self.name, self.az, eni["SubnetId"], subnet_id)
            )
        groups = sorted(g["GroupId"] for g in eni.get("Groups") or ())
        if group_id and groups != [group_id]:
            self.changed = True
            if not self.module.check_mode:
                self.ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=[group_id])
        if eni.get("SourceDestCheck") is not False:
            self.changed = True
            if not self.module.check_mode:
                self.ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False})
        self.changed |= ensure_ec2_tags(
            self.module,
            self.ec2,
            eni_id,
            tags_to_dict(eni.get("TagSet")),
            desired_tags,
            purge_requested(self.module.params),
        )
        return eni_id

    def ensure_route(self, route_table_id, private_eni_id):
        """Point the table's default route at the private ENI; return what it replaced, or None."""
        table = self.ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"][0]
        route = default_route(table)
        current = route_target(route) if route else None
        self.before.setdefault("route_targets", {})[route_table_id] = current
        self.after.setdefault("route_targets", {})[route_table_id] = private_eni_id or "(the private ENI)"
        if route and current == private_eni_id:
            return None
        self.changed = True
        replaced = current if route else None
        if replaced:
            self.module.warn(
                "%s the default route of %s, which pointed at %s, with the NAT's private ENI"
                % ("Would replace" if self.module.check_mode else "Replaced", route_table_id, replaced)
            )
        if self.module.check_mode:
            return replaced
        call = self.ec2.replace_route if route else self.ec2.create_route
        retry_on_codes(
            lambda: call(
                RouteTableId=route_table_id, DestinationCidrBlock=DEFAULT_ROUTE, NetworkInterfaceId=private_eni_id
            ),
            _NOT_YET_VISIBLE,
        )
        return replaced

    def present(self):
        p = self.module.params
        self.validate()
        group_id = self.ensure_security_group()
        enis = self.find_enis()
        public_eni_id = self.ensure_eni("public", enis["public"], p["public_subnet_id"], group_id)
        private_eni_id = self.ensure_eni("private", enis["private"], p["private_subnet_id"], group_id)
        replaced = {}
        for route_table_id in self.route_table_ids:
            target = self.ensure_route(route_table_id, private_eni_id)
            if target:
                replaced[route_table_id] = target
        return self.result(
            security_group_id=group_id,
            public_eni_id=public_eni_id,
            private_eni_id=private_eni_id,
            route_table_id=self.route_table_ids[0],
            route_table_ids=self.route_table_ids,
            route_target=private_eni_id,
            replaced_route_target=next(iter(replaced.values()), None),
            replaced_route_targets=replaced,
        )

    # -- remove --------------------------------------------------------------

    def release_eni(self, eni):
        """Make sure no live instance holds eni; wait out a terminating one."""
        attachment = eni.get("Attachment") or {}
        instance_id = attachment.get("InstanceId")
        if not instance_id:
            return
        state = self.instance_state(instance_id)
        if state == "shutting-down":
            if self.module.check_mode:
                return
            wait_terminated(self.ec2, [instance_id], "instance %s" % instance_id, self.module.params["wait_timeout"])
        elif state not in (None, "terminated"):
            raise ModuleFailure(
                "ENI %s is attached to instance %s, which is %s. Terminate the NAT instances first "
                "(natzero.aws.nat_cleanup), then remove the network." % (eni["NetworkInterfaceId"], instance_id, state),
                instance_id=instance_id,
            )
        if self.module.check_mode or not attachment.get("AttachmentId") or attachment.get("DeviceIndex") == 0:
            return
        try:
            # EC2 detaches a terminated instance's ENIs by itself, eventually;
            # a forced detach speeds that up where EC2 allows it (never for
            # the primary interface, device index 0).
            self.ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
        except ClientError as exc:
            if not is_error(exc, "OperationNotPermitted", "IncorrectState", "InvalidAttachmentID.NotFound"):
                raise

    def instance_state(self, instance_id):
        try:
            reservations = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except ClientError as exc:
            if is_error(exc, "InvalidInstanceID.NotFound"):
                return None
            raise
        instances = [i for r in reservations for i in r["Instances"]]
        return instances[0]["State"]["Name"] if instances else None

    def absent(self):
        removed = []
        enis = self.find_enis()
        eni_ids = [e["NetworkInterfaceId"] for e in enis.values() if e]
        group = self.find_security_group()
        self.before = {
            "security_group_id": group["GroupId"] if group else None,
            "public_eni_id": enis["public"]["NetworkInterfaceId"] if enis["public"] else None,
            "private_eni_id": enis["private"]["NetworkInterfaceId"] if enis["private"] else None,
        }
        self.after = dict.fromkeys(self.before)
        for eni in enis.values():
            if eni:
                self.release_eni(eni)
        for table_id, destination in self.routes_to(eni_ids):
            removed.append("%s:%s" % (table_id, destination))
            if not self.module.check_mode:
                self.ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock=destination)
        for interface in ("private", "public"):
            if enis[interface]:
                eni_id = enis[interface]["NetworkInterfaceId"]
                removed.append(eni_id)
                if not self.module.check_mode:
                    self.delete_eni(eni_id)
        if group:
            removed.append(group["GroupId"])
            if not self.module.check_mode:
                # The ENIs may still count as users of the group for a moment.
                retry_on_codes(
                    lambda: self.ec2.delete_security_group(GroupId=group["GroupId"]),
                    ("DependencyViolation",),
                    timeout=self.module.params["wait_timeout"],
                )
        self.changed = bool(removed)
        return self.result(
            security_group_id=None,
            public_eni_id=None,
            private_eni_id=None,
            route_table_id=self.given("route_table_id")[0],
            removed=removed,
        )

    def delete_eni(self, eni_id):
        def delete():
            try:
                self.ec2.delete_network_interface(NetworkInterfaceId=eni_id)
            except ClientError as exc:
                if not is_error(exc, "InvalidNetworkInterfaceID.NotFound"):
                    raise

        # Until EC2 finishes detaching it from the terminated NAT.
        retry_on_codes(
            delete, ("InvalidNetworkInterface.InUse", "IncorrectState"), timeout=self.module.params["wait_timeout"]
        )

    def result(self, **facts):
        result = dict(changed=self.changed, **facts)
        if self.module.diff_mode:
            result["diff"] = {"before": self.before, "after": self.after}
        return result


def ensure(module):
    if not valid_name(module.params["name"]):
        raise ValidationError(name_error(module.params["name"]))
    network = Network(module)
    if module.params["state"] == "absent":
        return network.absent()
    return network.present()


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        availability_zone=dict(type="str", required=True),
        public_subnet_id=dict(type="str"),
        private_subnet_id=dict(type="str"),
        private_cidr=dict(type="str"),
        private_cidrs=dict(type="list", elements="str"),
        route_table_id=dict(type="str"),
        route_table_ids=dict(type="list", elements="str"),
        **tags_argument_spec(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait_timeout=dict(type="int", default=300),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ("state", "present", ("public_subnet_id", "private_subnet_id")),
            ("state", "present", ("private_cidr", "private_cidrs"), True),
            ("state", "present", ("route_table_id", "route_table_ids"), True),
        ],
        mutually_exclusive=[("private_cidr", "private_cidrs"), ("route_table_id", "route_table_ids")],
    )
    module.run(
        ensure, resource="network of deployment %s in %s" % (module.params["name"], module.params["availability_zone"])
    )


if __name__ == "__main__":
    main()
