"""Observe: the fewest EC2 reads that give a decision everything it needs.

One event costs at most two reads: the triggering instance by ID (its VPC, AZ
and tags), then one DescribeInstances that returns NATs, their ENIs and the
EIP on the public ENI at once. When the trigger is itself an active workload,
the AZ has a workload, so that second read asks only for this deployment's
NATs (a handful, however big the AZ). Otherwise it reads the whole VPC+AZ to
learn whether any workload is left. A sweep reads the whole VPC once and the
deployment's Elastic IPs once.

Turning API answers into a Snapshot is pure (build_snapshot) and tested on its
own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .config import AZ_TAG, CONFIG_VERSION_TAG, DATAPLANE_TAG, DEPLOYMENT_TAG, EIP_OWNER_TAG, VPC_TAG, Config
from .decision import (
    ACTIVE_STATES,
    RUNNING,
    SHUTTING_DOWN,
    STOPPED,
    STOPPING,
    TERMINATED,
    Eip,
    FailedLaunch,
    Nat,
    Snapshot,
    Workload,
    freshest_state,
)
from .events import StateChange
from .record import Record

# Terminated instances are gone: their ENIs are free again, they are nobody's workload.
_OBSERVED_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
# EC2's largest page; big AZs are read in pages of this many instances.
_PAGE_SIZE = 1000
_MISSING_INSTANCE_CODES = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")
# State reasons of an instance EC2 terminated while launching it (the EC2 API
# reference's StateReason, and what a root volume under a KMS key the
# instance may not use shows).
LAUNCH_FAILURE_CODES = frozenset(
    (
        "Client.InternalError",
        "Client.InvalidKMSKey.InvalidState",
        "Client.InvalidSnapshot.NotFound",
        "Client.VolumeLimitExceeded",
        "Server.InsufficientInstanceCapacity",
        "Server.InternalError",
    )
)
NO_REPORT = "no report since launch"
_REPORT_TIME = "%Y-%m-%dT%H:%M:%SZ"


def tags_of(resource: dict) -> dict[str, str]:
    return {t.get("Key"): t.get("Value") for t in resource.get("Tags") or ()}


class Role(Record):
    """What an instance is to this deployment."""

    kind: str  # "nat", "workload", "ignored", "other_deployment_nat", "outside_vpc"
    az: str | None


def role_of(instance: dict, config: Config) -> Role:
    az = (instance.get("Placement") or {}).get("AvailabilityZone")
    tags = tags_of(instance)
    vpc_id = instance.get("VpcId")
    # A terminated instance may no longer report its VPC; its AZ is enough to
    # look again, and a look at an AZ of ours is cheap.
    state = (instance.get("State") or {}).get("Name")
    if vpc_id != config.vpc_id and not (vpc_id is None and state in (SHUTTING_DOWN, TERMINATED)):
        return Role("outside_vpc", az)
    if tags.get(config.nat_tag[0]) == config.nat_tag[1]:
        if tags.get(DEPLOYMENT_TAG) == config.name:
            return Role("nat", az)
        return Role("other_deployment_nat", az)
    if tags.get(config.ignore_tag[0]) == config.ignore_tag[1]:
        return Role("ignored", az)
    return Role("workload", az)


def believed_state(read_state: str | None, trigger: StateChange, instance: dict) -> str | None:
    """The triggering instance's state: its event merged with a read of it.

    An event that would take an instance the read shows active out of
    service ("stopping", "stopped") is about an earlier run if it is older
    than the instance's LaunchTime, which EC2 moves on every start: a
    "stopping" delivered minutes late, after the workload was started again.
    The read wins, or the NAT of a running workload would be stopped.
    """
    if read_state in ACTIVE_STATES and trigger.state in (STOPPING, STOPPED) and _before_launch(trigger, instance):
        return read_state
    return freshest_state(read_state, trigger.state)


def _before_launch(trigger: StateChange, instance: dict) -> bool:
    launched = instance.get("LaunchTime")
    if trigger.time is None or not isinstance(launched, datetime) or launched.tzinfo is None:
        return False
    return trigger.time < launched


def is_active_workload(trigger: StateChange, instance: dict, config: Config) -> bool:
    read_state = (instance.get("State") or {}).get("Name")
    state = believed_state(read_state, trigger, instance)
    return role_of(instance, config).kind == "workload" and state in ACTIVE_STATES


def _public_eip(instance: dict, public_eni_id: str) -> str | None:
    for eni in instance.get("NetworkInterfaces") or ():
        is_public = (
            eni.get("NetworkInterfaceId") == public_eni_id or (eni.get("Attachment") or {}).get("DeviceIndex") == 0
        )
        association = eni.get("Association") or {}
        # An Elastic IP is owned by the account; an auto-assigned address by "amazon".
        if is_public and association.get("PublicIp") and association.get("IpOwnerId") != "amazon":
            return association["PublicIp"]
    return None


def _on_zone_enis(instance: dict, public_eni_id: str, private_eni_id: str) -> bool:
    attached = {eni.get("NetworkInterfaceId") for eni in instance.get("NetworkInterfaces") or ()}
    return {public_eni_id, private_eni_id} <= attached


def dataplane_report(instance: dict, state: str | None) -> str | None:
    """What a running NAT's data plane says of itself since its last launch
    (EC2 moves LaunchTime on every start, so an older report is stale)."""
    if state != RUNNING:
        return None
    status, _separator, reported = tags_of(instance).get(DATAPLANE_TAG, "").rpartition(" ")
    launched = instance.get("LaunchTime")
    try:
        reported_at = datetime.strptime(reported, _REPORT_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return NO_REPORT
    if not status or (isinstance(launched, datetime) and launched.tzinfo and reported_at < launched):
        return NO_REPORT
    return status


def failed_launch(instance: dict | None, config: Config) -> FailedLaunch | None:
    """The instance, if it is a NAT of ours that EC2 terminated at launch."""
    if instance is None or (instance.get("State") or {}).get("Name") != TERMINATED:
        return None
    reason = instance.get("StateReason") or {}
    if role_of(instance, config).kind != "nat" or reason.get("Code") not in LAUNCH_FAILURE_CODES:
        return None
    return FailedLaunch(instance["InstanceId"], reason["Code"], str(reason.get("Message", ""))[:300])


def _sorted_tags(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(tags.items()))


def _eip_from_address(address: dict) -> Eip:
    tags = tags_of(address)
    return Eip(
        allocation_id=address["AllocationId"],
        public_ip=address.get("PublicIp", ""),
        association_id=address.get("AssociationId") or None,
        network_interface_id=address.get("NetworkInterfaceId") or None,
        tags=_sorted_tags(tags),
        user_owned=tags.get(EIP_OWNER_TAG) == "user",
    )


def build_snapshot(
    config: Config,
    az: str,
    instances: Iterable[dict],
    trigger: StateChange | None = None,
    trigger_instance: dict | None = None,
    addresses: Iterable[dict] | None = None,
) -> Snapshot:
    """One AZ's snapshot from DescribeInstances (and DescribeAddresses) answers.

    The triggering event's state is merged in: it is usually fresher than the
    read, and an instance launched a moment ago may be missing from a filtered
    read entirely, in which case the by-ID read stands in for it.
    """
    zone = config.zones[az]
    by_id = {}
    for instance in instances:
        if (instance.get("Placement") or {}).get("AvailabilityZone") == az:
            by_id[instance["InstanceId"]] = instance
    states = {iid: (inst.get("State") or {}).get("Name") for iid, inst in by_id.items()}
    if trigger is not None:
        if trigger_instance is not None:
            by_id.setdefault(trigger.instance_id, trigger_instance)
            read_by_id = (trigger_instance.get("State") or {}).get("Name")
            states[trigger.instance_id] = freshest_state(states.get(trigger.instance_id), read_by_id)
        if trigger.instance_id in by_id:
            states[trigger.instance_id] = believed_state(
                states.get(trigger.instance_id), trigger, by_id[trigger.instance_id]
            )

    workloads: list[Workload] = []
    nats: list[Nat] = []
    for iid, instance in by_id.items():
        state = states[iid]
        role = role_of(instance, config)
        if role.kind == "workload" and state in ACTIVE_STATES:
            workloads.append(Workload(iid, state))
        elif role.kind == "nat" and state != TERMINATED:
            tags = tags_of(instance)
            nats.append(
                Nat(
                    instance_id=iid,
                    state=state,
                    config_version=tags.get(CONFIG_VERSION_TAG),
                    eip_public_ip=_public_eip(instance, zone.public_eni_id),
                    launch_time=str(instance.get("LaunchTime", "")),
                    spot=instance.get("InstanceLifecycle") == "spot",
                    on_zone_enis=_on_zone_enis(instance, zone.public_eni_id, zone.private_eni_id),
                    dataplane=dataplane_report(instance, state),
                    tags=_sorted_tags(tags),
                )
            )
    eips = None
    if addresses is not None:
        eips = tuple(_eip_from_address(a) for a in addresses if tags_of(a).get(AZ_TAG) == az and a.get("AllocationId"))
    return Snapshot(
        az=az,
        config_version=config.config_version,
        public_eni_id=zone.public_eni_id,
        workloads=tuple(sorted(workloads, key=lambda w: w.instance_id)),
        nats=tuple(sorted(nats, key=lambda n: n.instance_id)),
        eips=eips,
        failed_launch=failed_launch(trigger_instance, config) if trigger is not None else None,
        nat_tags=_sorted_tags({k: v for k, v in config.nat_instance_tags(az).items() if k != CONFIG_VERSION_TAG}),
        eip_tags=_sorted_tags(config.eip_tags(az)),
    )


def _paginate(ec2, operation: str, result_key: str, **kwargs) -> list[dict]:
    items: list[dict] = []
    for page in ec2.get_paginator(operation).paginate(PaginationConfig={"PageSize": _PAGE_SIZE}, **kwargs):
        items.extend(page.get(result_key) or ())
    return items


def _instances(reservations: Iterable[dict]) -> list[dict]:
    return [i for r in reservations for i in r.get("Instances") or ()]


class Observer:
    def __init__(self, ec2, config: Config):
        self.ec2 = ec2
        self.config = config

    def instance(self, instance_id: str) -> dict | None:
        """The instance by ID, or None when EC2 does not know it (any more)."""
        try:
            reservations = self.ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations") or ()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_INSTANCE_CODES:
                return None
            raise
        found = _instances(reservations)
        return found[0] if found else None

    def zone_instances(self, az: str) -> list[dict]:
        filters = [
            {"Name": "vpc-id", "Values": [self.config.vpc_id]},
            {"Name": "availability-zone", "Values": [az]},
            {"Name": "instance-state-name", "Values": _OBSERVED_STATES},
        ]
        return _instances(_paginate(self.ec2, "describe_instances", "Reservations", Filters=filters))

    def zone_nats(self, az: str) -> list[dict]:
        """This deployment's NATs in the AZ, whatever else runs there."""
        filters = [
            {"Name": "vpc-id", "Values": [self.config.vpc_id]},
            {"Name": "availability-zone", "Values": [az]},
            {"Name": f"tag:{self.config.nat_tag[0]}", "Values": [self.config.nat_tag[1]]},
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [self.config.name]},
            {"Name": "instance-state-name", "Values": _OBSERVED_STATES},
        ]
        return _instances(_paginate(self.ec2, "describe_instances", "Reservations", Filters=filters))

    def vpc_instances(self) -> list[dict]:
        filters = [
            {"Name": "vpc-id", "Values": [self.config.vpc_id]},
            {"Name": "instance-state-name", "Values": _OBSERVED_STATES},
        ]
        return _instances(_paginate(self.ec2, "describe_instances", "Reservations", Filters=filters))

    def addresses(self, az: str | None = None) -> list[dict]:
        """This deployment's Elastic IPs (of one AZ, or all)."""
        filters = [
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [self.config.name]},
            {"Name": f"tag:{VPC_TAG}", "Values": [self.config.vpc_id]},
        ]
        if az:
            filters.append({"Name": f"tag:{AZ_TAG}", "Values": [az]})
        # DescribeAddresses is not paginated by EC2; a deployment has a handful.
        return list(self.ec2.describe_addresses(Filters=filters).get("Addresses") or ())

    def zone_snapshot(self, az: str, trigger: StateChange, trigger_instance: dict) -> Snapshot:
        if is_active_workload(trigger, trigger_instance, self.config):
            # The trigger is the proof the AZ has a workload: the decision needs
            # only the NATs. This keeps an event storm of launches in a big AZ
            # at constant cost per event.
            return build_snapshot(self.config, az, self.zone_nats(az), trigger, trigger_instance)
        return build_snapshot(self.config, az, self.zone_instances(az), trigger, trigger_instance)

    def all_snapshots(self) -> list[Snapshot]:
        instances = self.vpc_instances()
        addresses = self.addresses()
        return [build_snapshot(self.config, az, instances, addresses=addresses) for az in sorted(self.config.zones)]
