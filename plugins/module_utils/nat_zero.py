# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Names and tag keys the modules share with the reconciler Lambda.

They must match lambda_src/nat_zero/config.py: the Lambda finds what the
modules create (and the modules find what the Lambda creates) by these tags.
"""

from __future__ import annotations

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import ClientError, is_error

DEPLOYMENT_TAG = "nat-zero:deployment"
VPC_TAG = "nat-zero:vpc"
AZ_TAG = "nat-zero:az"
CONFIG_VERSION_TAG = "nat-zero:config-version"
# Which of an AZ's two ENIs a network interface is: "public" or "private".
INTERFACE_TAG = "nat-zero:interface"

DEFAULT_NAT_TAG = ("nat-zero:managed", "true")
DEFAULT_IGNORE_TAG = ("nat-zero:ignore", "true")

# Instance states in which an instance still exists (holds its ENIs, costs money).
LIVE_INSTANCE_STATES = ("pending", "running", "shutting-down", "stopping", "stopped")

# Deployment names: every resource name derives from one (the longest,
# <name>-nat-zero-ec2-state and <name>-nat-zero-instance, must fit EventBridge's
# and IAM's 64 characters) and Lambda function names take no '.'. The role's
# nat_zero__name_pattern is this same pattern (a unit test checks).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
_NAME = re.compile(NAME_PATTERN)


def nat_tag_argument_spec():
    """The NAT tag options (doc fragment natzero.aws.nat_zero.nat_tag)."""
    return dict(
        nat_tag_key=dict(type="str", default=DEFAULT_NAT_TAG[0], no_log=False),
        nat_tag_value=dict(type="str", default=DEFAULT_NAT_TAG[1]),
    )


def ignore_tag_argument_spec():
    """The ignore tag options (doc fragment natzero.aws.nat_zero.ignore_tag)."""
    return dict(
        ignore_tag_key=dict(type="str", default=DEFAULT_IGNORE_TAG[0], no_log=False),
        ignore_tag_value=dict(type="str", default=DEFAULT_IGNORE_TAG[1]),
    )


def resource_name(name, az):
    """The Name of a deployment's per-AZ resources: <name>-nat-<az>."""
    return "%s-nat-%s" % (name, az)


def valid_name(name):
    """Deployment names the Lambda accepts (NAT_ZERO_NAME)."""
    return bool(_NAME.match(name or ""))


def name_error(name):
    return (
        "name %r is not a valid deployment name: 1 to 40 letters, digits, '-' or '_', "
        "starting with a letter or digit" % (name,)
    )


# On a user's own Elastic IP lent to a deployment (bring-your-own): nothing of
# ours ever releases an address with this tag, not the reconciler, not teardown.
EIP_OWNER_TAG = "nat-zero:eip-owner"
EIP_OWNER_USER = "user"


def user_owned(address):
    """Whether an Elastic IP is the user's own (tagged nat-zero:eip-owner=user)."""
    return any(t.get("Key") == EIP_OWNER_TAG and t.get("Value") == EIP_OWNER_USER for t in address.get("Tags") or ())


def lent_address_tag_keys(nat_tag_key):
    """The tags a deployment puts on a user's Elastic IP it borrows."""
    return (DEPLOYMENT_TAG, VPC_TAG, AZ_TAG, EIP_OWNER_TAG, nat_tag_key)


def disassociate(ec2, address):
    """Take an Elastic IP off whatever holds it (already gone is fine)."""
    if not address.get("AssociationId"):
        return
    try:
        ec2.disassociate_address(AssociationId=address["AssociationId"])
    except ClientError as exc:
        if not is_error(exc, "InvalidAssociationID.NotFound"):
            raise


def give_back(ec2, address, nat_tag_key):
    """Return a user's Elastic IP: disassociate it (from the deployment's NAT)
    and remove the tags the deployment added; never release it."""
    disassociate(ec2, address)
    present = {t["Key"] for t in address.get("Tags") or ()}
    ours = sorted(present & set(lent_address_tag_keys(nat_tag_key)))
    if ours:
        ec2.delete_tags(Resources=[address["AllocationId"]], Tags=[{"Key": k} for k in ours])
