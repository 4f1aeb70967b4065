# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""EC2 reads several modules share."""

from __future__ import annotations

from ansible_collections.natzero.aws.plugins.module_utils.aws import WaitTimeout, wait_until

DEFAULT_ROUTE = "0.0.0.0/0"

_ROUTE_TARGET_KEYS = (
    "NetworkInterfaceId",
    "NatGatewayId",
    "GatewayId",
    "InstanceId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
)


def route_target(route):
    """What a route points at (an ENI, gateway, instance ... ID), or None."""
    for key in _ROUTE_TARGET_KEYS:
        if route.get(key):
            return route[key]
    return None


def default_route(route_table):
    """The 0.0.0.0/0 route of a route table, or None."""
    for route in route_table.get("Routes") or ():
        if route.get("DestinationCidrBlock") == DEFAULT_ROUTE:
            return route
    return None


def describe_instances(ec2, filters):
    """Every instance matching filters, across pages, sorted by ID."""
    instances = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            instances.extend(reservation["Instances"])
    return sorted(instances, key=lambda i: i["InstanceId"])


def wait_terminated(ec2, instance_ids, what, timeout):
    """Poll until every instance is terminated (or gone from EC2's answers).

    Not botocore's instance_terminated waiter: it gives up at once on pending
    or stopping, which an instance that was starting or being stopped still
    shows right after TerminateInstances. A filter, not InstanceIds: an
    instance EC2 no longer lists is gone, not an error. `what` names the
    instances in the timeout message, which lists each one still alive."""
    alive = {}

    def all_terminated():
        filters = [{"Name": "instance-id", "Values": list(instance_ids)}]
        states = {i["InstanceId"]: i["State"]["Name"] for i in describe_instances(ec2, filters)}
        alive.clear()
        alive.update({iid: state for iid, state in states.items() if state != "terminated"})
        return not alive

    try:
        wait_until(all_terminated, "%s to terminate" % what, timeout=timeout, delay=5, max_delay=15)
    except WaitTimeout:
        still = ", ".join("%s (%s)" % item for item in sorted(alive.items()))
        raise WaitTimeout(
            "Timed out after %ss waiting for %s to terminate; still alive: %s. "
            "Run again once they are gone (or raise wait_timeout)." % (timeout, what, still),
            alive_instances=dict(alive),
        ) from None
