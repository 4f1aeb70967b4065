# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: vpcs
short_description: The VPCs a fleet of scale-to-zero NAT deployments serves
version_added: 0.1.0
description:
  - Lists the VPCs that carry a tag (by default C(nat-zero:enabled=true)) in the regions given, in the
    caller's account and, optionally, in other accounts through a role to assume in each.
  - Each VPC becomes one host of the group C(nat_zero_vpcs), with the host variables C(nat_zero_vpc_id),
    C(nat_zero_region), C(nat_zero_name), C(nat_zero_account_id) and C(ansible_connection=local), so
    C(ansible-playbook -i fleet.natzero.yml playbooks/site.yml) deploys every VPC, in parallel up to C(forks).
  - C(nat_zero_name) is the VPC's C(nat-zero:name) tag if it has one, else derived from its C(Name) tag
    (characters a deployment name cannot hold become C(-), cut to 40 characters), else the VPC ID.
    Two VPCs given the same name fail the inventory, naming both VPCs; set C(nat-zero:name) on one.
  - The inventory file's name must end with C(natzero.yml) or C(natzero.yaml), for example C(fleet.natzero.yml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory of this plugin.
    required: true
    type: str
    choices: [natzero.aws.vpcs]
  regions:
    description: The regions to list VPCs in.
    required: true
    type: list
    elements: str
  vpc_tags:
    description:
      - The tags a VPC must carry to be served, as a dictionary. A value of V(*) accepts any value of that key.
    type: dict
    default: {"nat-zero:enabled": "true"}
  accounts:
    description:
      - Other accounts to list VPCs in, each through a role to assume. Empty lists the caller's account only.
      - The playbook run needs credentials for each account too (for example a profile per account set as
        C(aws_profile) through O(compose)); this plugin only lists.
    type: list
    elements: dict
    default: []
    suboptions:
      assume_role_arn:
        description: The ARN of the role to assume in that account.
        type: str
        required: true
      regions:
        description: The regions to list in that account; not set, O(regions).
        type: list
        elements: str
  profile:
    description: A named profile for the caller's credentials; not set, boto3's credential chain.
    type: str
    env:
      - name: AWS_PROFILE
  endpoint_url:
    description:
      - Send API requests to this URL instead of AWS, for example a moto server for tests.
      - Not set, boto3 honours E(AWS_ENDPOINT_URL).
    type: str
    env:
      - name: AWS_URL
  hostname:
    description: What names a host. V(vpc_id) is unique; V(nat_zero_name) reads better in a play recap.
    type: str
    choices: [vpc_id, nat_zero_name]
    default: vpc_id
requirements:
  - boto3 >= 1.28
  - botocore >= 1.31
"""

EXAMPLES = r"""
# fleet.natzero.yml: every VPC tagged nat-zero:enabled=true in two regions
plugin: natzero.aws.vpcs
regions: [us-east-1, eu-west-1]

---
# fleet.natzero.yml: two accounts, named hosts, cached for an hour, a group per region
plugin: natzero.aws.vpcs
regions: [eu-west-1]
accounts:
  - assume_role_arn: arn:aws:iam::111111111111:role/natzero-inventory
  - assume_role_arn: arn:aws:iam::222222222222:role/natzero-inventory
    regions: [eu-west-1, eu-central-1]
hostname: nat_zero_name
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/natzero-inventory
cache_timeout: 3600
keyed_groups:
  - key: nat_zero_region
    prefix: region
"""

import re

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import valid_name

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 renders every inventory string as a template

    def trust_as_template(value):
        return value


try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    HAS_BOTO3 = False
else:
    HAS_BOTO3 = True

NAME_TAG = "nat-zero:name"
GROUP = "nat_zero_vpcs"
NAME_LENGTH = 40
# The Python running ansible-playbook is the one with boto3 (a template, not a
# value: ansible-inventory's Python need not be the playbook run's).
PLAYBOOK_PYTHON = trust_as_template("{{ ansible_playbook_python }}")
# The host variable each choice of the hostname option names hosts by.
HOSTNAME_VARIABLE = {"vpc_id": "nat_zero_vpc_id", "nat_zero_name": "nat_zero_name"}


def derived_name(vpc_id, tags):
    """A deployment name for a VPC: its nat-zero:name tag, else its Name tag made valid, else its ID."""
    if NAME_TAG in tags:
        return tags[NAME_TAG]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", tags.get("Name", "")).lstrip("-_")[:NAME_LENGTH].rstrip("-_")
    return readable or vpc_id


def tag_filters(vpc_tags):
    return [
        {"Name": "tag-key", "Values": [key]} if value == "*" else {"Name": "tag:%s" % key, "Values": [str(value)]}
        for key, value in vpc_tags.items()
    ]


def vpc_host(vpc, region, assume_role_arn):
    tags = {tag["Key"]: tag["Value"] for tag in vpc.get("Tags", [])}
    return {
        "nat_zero_vpc_id": vpc["VpcId"],
        "nat_zero_region": region,
        "nat_zero_name": derived_name(vpc["VpcId"], tags),
        "nat_zero_account_id": vpc.get("OwnerId", ""),
        "nat_zero_assume_role_arn": assume_role_arn or "",
        "nat_zero_vpc_tags": tags,
    }


def fleet_problems(hosts):
    """What makes the list unusable as a fleet: invalid or shared deployment names."""
    problems = []
    by_name = {}
    for host in hosts:
        if not valid_name(host["nat_zero_name"]):
            problems.append(
                "VPC %s (%s): nat_zero_name %r is not a deployment name (1 to 40 letters, digits, '-' or '_', "
                "starting with a letter or digit); set its %s tag"
                % (host["nat_zero_vpc_id"], host["nat_zero_region"], host["nat_zero_name"], NAME_TAG)
            )
        by_name.setdefault(host["nat_zero_name"], []).append(host)
    for name, sharing in sorted(by_name.items()):
        if len(sharing) > 1:
            problems.append(
                "VPCs %s share the deployment name %r; give each a distinct %s tag"
                % (", ".join("%s (%s)" % (h["nat_zero_vpc_id"], h["nat_zero_region"]) for h in sharing), name, NAME_TAG)
            )
    return problems


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "natzero.aws.vpcs"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("natzero.yml", "natzero.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if not HAS_BOTO3:
            raise AnsibleError("the natzero.aws.vpcs inventory plugin needs boto3 and botocore")
        self._read_config_data(path)
        hosts = self._cached_or_listed(self.get_cache_key(path), cache and self.get_option("cache"))
        problems = fleet_problems(hosts)
        if problems:
            raise AnsibleError("natzero.aws.vpcs: " + "; ".join(problems))
        self._populate(hosts)

    def _cached_or_listed(self, cache_key, read_cache):
        if read_cache:
            try:
                return self._cache[cache_key]
            except KeyError:
                pass
        hosts = self._list_hosts()
        if self.get_option("cache"):
            self._cache[cache_key] = hosts
        return hosts

    def _list_hosts(self):
        hosts = []
        for assume_role_arn, regions in self._targets():
            session = self._session(assume_role_arn)
            for region in regions:
                hosts.extend(vpc_host(vpc, region, assume_role_arn) for vpc in self._tagged_vpcs(session, region))
        return sorted(hosts, key=lambda host: (host["nat_zero_region"], host["nat_zero_vpc_id"]))

    def _targets(self):
        """(role to assume or None, regions) per account."""
        accounts = self.get_option("accounts")
        if not accounts:
            return [(None, self.get_option("regions"))]
        return [
            (account["assume_role_arn"], account.get("regions") or self.get_option("regions")) for account in accounts
        ]

    def _session(self, assume_role_arn):
        caller = boto3.session.Session(profile_name=self.get_option("profile"))
        if not assume_role_arn:
            return caller
        try:
            credentials = caller.client("sts", endpoint_url=self.get_option("endpoint_url")).assume_role(
                RoleArn=assume_role_arn, RoleSessionName="natzero-vpcs-inventory"
            )["Credentials"]
        except (BotoCoreError, ClientError) as exc:
            raise AnsibleError("natzero.aws.vpcs: cannot assume %s: %s" % (assume_role_arn, exc)) from exc
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def _tagged_vpcs(self, session, region):
        ec2 = session.client("ec2", region_name=region, endpoint_url=self.get_option("endpoint_url"))
        try:
            pages = ec2.get_paginator("describe_vpcs").paginate(Filters=tag_filters(self.get_option("vpc_tags")))
            return [vpc for page in pages for vpc in page["Vpcs"]]
        except (BotoCoreError, ClientError) as exc:
            raise AnsibleError("natzero.aws.vpcs: DescribeVpcs in %s failed: %s" % (region, exc)) from exc

    def _populate(self, hosts):
        self.inventory.add_group(GROUP)
        strict = self.get_option("strict")
        for host in hosts:
            name = self.inventory.add_host(host[HOSTNAME_VARIABLE[self.get_option("hostname")]], group=GROUP)
            for key, value in host.items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "ansible_connection", "local")
            self.inventory.set_variable(name, "ansible_python_interpreter", PLAYBOOK_PYTHON)
            self._set_composite_vars(self.get_option("compose"), host, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host, name, strict=strict)
