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


# gp3 limits as EC2 states them (botocore's CreateVolume and launch template
# EBS documentation): size, IOPS and throughput ranges, and the ratios that
# tie IOPS to size and throughput to IOPS. The baseline (3000 IOPS, 125 MiB/s)
# needs no ratio. The role's validate.yml states the same rule in Jinja; a
# unit test checks the two agree.
GP3_SIZE_GIB = (1, 65536)
GP3_IOPS = (3000, 80000)
GP3_THROUGHPUT_MIBS = (125, 2000)
GP3_IOPS_PER_GIB = 500
GP3_IOPS_PER_MIBS = 4  # 0.25 MiB/s of throughput per provisioned IOPS


def gp3_error(size, iops, throughput, prefix=""):
    """What is wrong with a gp3 volume of size GiB, iops and throughput MiB/s ('' if nothing).

    prefix names the options (for example 'block_device_' or 'nat_zero_block_device_').
    """
    if not GP3_SIZE_GIB[0] <= size <= GP3_SIZE_GIB[1]:
        return "%ssize %s is out of range; a gp3 volume has %d to %d GiB" % ((prefix, size) + GP3_SIZE_GIB)
    baseline_iops = GP3_IOPS[0]
    if iops != baseline_iops and not (baseline_iops <= iops <= GP3_IOPS[1] and iops <= GP3_IOPS_PER_GIB * size):
        return "%siops %s is out of range; gp3 takes %d IOPS, or more up to %d and %d per GiB of %ssize (%s GiB)" % (
            prefix,
            iops,
            baseline_iops,
            GP3_IOPS[1],
            GP3_IOPS_PER_GIB,
            prefix,
            size,
        )
    baseline_throughput = GP3_THROUGHPUT_MIBS[0]
    if throughput != baseline_throughput and not (
        baseline_throughput <= throughput <= GP3_THROUGHPUT_MIBS[1] and throughput * GP3_IOPS_PER_MIBS <= iops
    ):
        return (
            "%sthroughput %s is out of range; gp3 takes %d MiB/s, or more up to %d and 0.25 MiB/s per IOPS "
            "of %siops (%s)" % (prefix, throughput, baseline_throughput, GP3_THROUGHPUT_MIBS[1], prefix, iops)
        )
    return ""
