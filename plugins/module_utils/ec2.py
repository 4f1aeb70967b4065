# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""EC2 reads several modules share."""

from __future__ import annotations

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
