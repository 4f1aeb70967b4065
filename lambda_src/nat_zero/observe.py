"""Observe: the fewest EC2 reads that give a decision everything it needs.

One event costs at most two reads: the triggering instance by ID (its VPC, AZ
and tags), then one DescribeInstances that returns NATs, their ENIs and the
EIP on the public ENI at once. When the trigger is itself an active workload,
the AZ has a workload, so that second read asks only for this deployment's
NATs (a handful, however big the AZ). Otherwise (a workload's stop, a NAT's
own event) it reads the NATs the same way, then asks for active instances in
small pages and stops at the first page that holds a workload other than the
trigger: one such workload is all a decision needs, whatever the AZ's size. A
sweep reads the whole VPC once and the deployment's Elastic IPs once.

ECS tasks (NAT_ZERO_WORKLOAD_SOURCES with ecs) are seen by their ENIs: one
DescribeNetworkInterfaces filtered on the private subnets and ECS's
attachment description. A task event names its subnet, so it costs no read to
place; a starting task costs the NATs read only, a leaving one the AZ's
instances and task ENIs. A sweep adds one read for the whole VPC's task ENIs.

Turning API answers into a Snapshot is pure (build_snapshot) and tested on its
own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .config import (
    ALWAYS_ON,
    AZ_TAG,
    CONFIG_VERSION_TAG,
    CROSS_AZ,
    DATAPLANE_TAG,
    DEPLOYMENT_TAG,
    EIP_OWNER_TAG,
    EIP_OWNER_USER,
    STATIC,
    VPC_TAG,
    Config,
)
from .decision import (
    ACTIVE_STATES,
    NO_REPORT,
    RUNNING,
    SHUTTING_DOWN,
    STOPPED,
    STOPPING,
    TERMINATED,
    Eip,
    FailedLaunch,
    Nat,
    Route,
    Snapshot,
    Workload,
    freshest_state,
    with_failover_targets,
)
from .events import StateChange, TaskStateChange
from .record import Record

# Terminated instances are gone: their ENIs are free again, they are nobody's workload.
_OBSERVED_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
# EC2's largest page; big AZs are read in pages of this many instances.
_PAGE_SIZE = 1000
# The search for a workload left in an AZ: a first page this small costs little
# to parse and usually ends the search; when it holds none (ignored instances,
# NATs, or an empty page EC2 filtered after paging) the rest is read in big pages.
_FIRST_WORKLOAD_PAGE_SIZE = 25
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
# Scheduled events that end the instance on its current hardware (EC2's
# DescribeInstanceStatus event codes; an EBS-backed instance being retired
# gets "instance-stop").
RETIREMENT_EVENT_CODES = frozenset(("instance-retirement", "instance-stop"))
# Events EC2 keeps listing after they are over.
_PAST_EVENT_PREFIXES = ("[Completed]", "[Canceled]")
DEFAULT_ROUTE = "0.0.0.0/0"
# ECS describes each task ENI it creates (Fargate and the EC2 launch type
# alike) with the ARN of the task's attachment; EC2 filters take wildcards.
_TASK_ENI_DESCRIPTION = "arn:aws*:ecs:{region}:*:attachment/*"
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


def _dataplane(instance: dict, state: str | None) -> tuple[str | None, datetime | None]:
    """What a running NAT's data plane says of itself since its last launch,
    and when it said it (EC2 moves LaunchTime on every start, so an older
    report is stale)."""
    if state != RUNNING:
        return None, None
    status, _separator, reported = tags_of(instance).get(DATAPLANE_TAG, "").rpartition(" ")
    launched = instance.get("LaunchTime")
    try:
        reported_at = datetime.strptime(reported, _REPORT_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return NO_REPORT, None
    if not status or (isinstance(launched, datetime) and launched.tzinfo and reported_at < launched):
        return NO_REPORT, None
    return status, reported_at


def dataplane_report(instance: dict, state: str | None) -> str | None:
    return _dataplane(instance, state)[0]


def _seconds_since(moment, now: datetime | None) -> float | None:
    if now is None or not isinstance(moment, datetime) or moment.tzinfo is None:
        return None
    return round(max(0.0, (now - moment).total_seconds()), 1)


def status_problem(status: dict) -> str | None:
    """What one DescribeInstanceStatus entry says is wrong, or None."""
    for check, label in (("SystemStatus", "system"), ("InstanceStatus", "instance")):
        if (status.get(check) or {}).get("Status") == "impaired":
            return f"{label} status impaired"
    for event in status.get("Events") or ():
        description = str(event.get("Description", ""))
        if event.get("Code") in RETIREMENT_EVENT_CODES and not description.startswith(_PAST_EVENT_PREFIXES):
            return f"{event['Code']} scheduled"
    return None


def failed_launch(instance: dict | None, config: Config) -> FailedLaunch | None:
    """The instance, if it is a NAT of ours that EC2 terminated at launch."""
    if instance is None or (instance.get("State") or {}).get("Name") != TERMINATED:
        return None
    reason = instance.get("StateReason") or {}
    if role_of(instance, config).kind != "nat" or reason.get("Code") not in LAUNCH_FAILURE_CODES:
        return None
    return FailedLaunch(instance["InstanceId"], reason["Code"], str(reason.get("Message", ""))[:300])


def task_attachment_id(eni: dict) -> str | None:
    """The ECS attachment an ENI was created for, from its description."""
    description = eni.get("Description") or ""
    prefix, separator, attachment_id = description.rpartition(":attachment/")
    return attachment_id if separator and prefix.startswith("arn:") and attachment_id else None


def task_workloads(config: Config, az: str, task_enis: Iterable[dict], trigger: TaskStateChange | None) -> list:
    """The AZ's ECS tasks: one per task ENI in its private subnets, with the
    triggering task's event state put over what the read shows of it (a task
    leaving still has its ENI; one provisioning has none yet)."""
    subnets = config.zones[az].private_subnet_ids
    attachments = {task_attachment_id(eni) for eni in task_enis if eni.get("SubnetId") in subnets}
    attachments.discard(None)
    if trigger is not None:
        attachments.discard(trigger.attachment_id)
    workloads = [Workload(a, RUNNING, "task") for a in attachments]
    if trigger is not None and trigger.workload_state and config.zone_of_subnet(trigger.subnet_id) == az:
        workloads.append(Workload(trigger.attachment_id, trigger.workload_state, "task"))
    return workloads


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
        user_owned=tags.get(EIP_OWNER_TAG) == EIP_OWNER_USER,
    )


def _address_of_zone(address: dict, az: str, config: Config) -> bool:
    if not address.get("AllocationId"):
        return False
    # A user's own address may lack our AZ tag: the allocation named for the
    # AZ, or the ENI it sits on, says which AZ it serves.
    byo = (config.eip_allocations or {}).get(az)
    on_zone_eni = address.get("NetworkInterfaceId") == config.zones[az].public_eni_id
    return address["AllocationId"] == byo or on_zone_eni or tags_of(address).get(AZ_TAG) == az


def build_snapshot(
    config: Config,
    az: str,
    instances: Iterable[dict],
    trigger: StateChange | None = None,
    trigger_instance: dict | None = None,
    addresses: Iterable[dict] | None = None,
    statuses: dict[str, str] | None = None,
    now: datetime | None = None,
    routes: dict[str, Route] | None = None,
    source_dest_checked: Iterable[str] = (),
    task_enis: Iterable[dict] = (),
    trigger_task: TaskStateChange | None = None,
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
            report, reported_at = _dataplane(instance, state)
            nats.append(
                Nat(
                    instance_id=iid,
                    state=state,
                    config_version=tags.get(CONFIG_VERSION_TAG),
                    eip_public_ip=_public_eip(instance, zone.public_eni_id),
                    launch_time=str(instance.get("LaunchTime", "")),
                    spot=instance.get("InstanceLifecycle") == "spot",
                    on_zone_enis=_on_zone_enis(instance, zone.public_eni_id, zone.private_eni_id),
                    dataplane=report,
                    running_for_s=_seconds_since(instance.get("LaunchTime"), now),
                    report_age_s=_seconds_since(reported_at, now),
                    status_problem=(statuses or {}).get(iid) if state == RUNNING else None,
                    tags=_sorted_tags(tags),
                )
            )
    workloads.extend(task_workloads(config, az, task_enis, trigger_task))
    eips = None
    if addresses is not None:
        eips = tuple(_eip_from_address(a) for a in addresses if _address_of_zone(a, az, config))
    return Snapshot(
        az=az,
        config_version=config.config_version,
        public_eni_id=zone.public_eni_id,
        workloads=tuple(sorted(workloads, key=lambda w: w.instance_id)),
        nats=tuple(sorted(nats, key=lambda n: n.instance_id)),
        eips=eips,
        failed_launch=failed_launch(trigger_instance, config) if trigger is not None else None,
        always_on=config.mode == ALWAYS_ON,
        static_eip=config.eip_mode == STATIC,
        user_allocation_id=(config.eip_allocations or {}).get(az),
        heartbeat=config.health_rule is not None,
        private_eni_id=zone.private_eni_id,
        routes=None if routes is None else tuple(routes[r] for r in zone.route_table_ids if r in routes),
        source_dest_checked=tuple(
            e for e in (zone.public_eni_id, zone.private_eni_id) if e in set(source_dest_checked)
        ),
        failover=config.failover == CROSS_AZ,
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
    def __init__(self, ec2, config: Config, now: datetime | None = None):
        self.ec2 = ec2
        self.config = config
        # The time of this look: a report's age and a NAT's uptime count from it.
        self.now = now

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

    def first_workloads(self, az: str, trigger_id: str | None) -> tuple[list[dict], bool]:
        """(the workloads and this deployment's NATs of the pages read, whether
        any is a workload other than the trigger),
        reading until a page holds a workload; no workload only once EC2 has no
        further page. EC2 filters after paging, so a page may be short or empty
        and still carry a NextToken. The NATs met on the way are kept: a NAT
        just launched can be missing from the NAT read (reads lag), and a
        snapshot without it would leave it a duplicate."""
        filters = [
            {"Name": "vpc-id", "Values": [self.config.vpc_id]},
            {"Name": "availability-zone", "Values": [az]},
            {"Name": "instance-state-name", "Values": list(ACTIVE_STATES)},
        ]
        request = {"Filters": filters, "MaxResults": _FIRST_WORKLOAD_PAGE_SIZE}
        found: list[dict] = []
        while True:
            response = self.ec2.describe_instances(**request)
            # The trigger is kept too: a read of it here may be fresher than its
            # by-ID read, and build_snapshot merges both with its event.
            found.extend(
                i
                for i in _instances(response.get("Reservations") or ())
                if role_of(i, self.config).kind in ("workload", "nat")
            )
            has_workload = any(
                role_of(i, self.config).kind == "workload" and i.get("InstanceId") != trigger_id for i in found
            )
            if has_workload or not response.get("NextToken"):
                return found, has_workload
            request = {"Filters": filters, "MaxResults": _PAGE_SIZE, "NextToken": response["NextToken"]}

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

    def task_enis(self, az: str | None = None) -> list[dict]:
        """The ENIs ECS created for tasks in the deployment's private subnets
        (of one AZ, or all); none read unless ECS is a workload source."""
        if "ecs" not in self.config.workload_sources:
            return []
        zones = [self.config.zones[az]] if az else self.config.zones.values()
        subnets = sorted({s for zone in zones for s in zone.private_subnet_ids})
        filters = [
            {"Name": "subnet-id", "Values": subnets},
            {"Name": "description", "Values": [_TASK_ENI_DESCRIPTION.format(region=self.config.region)]},
        ]
        return _paginate(self.ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=filters)

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
            return build_snapshot(self.config, az, self.zone_nats(az), trigger, trigger_instance, now=self.now)
        # The trigger's own state comes from its event and by-ID read (build_snapshot
        # merges them); the search is for any other workload that keeps the NAT in use.
        instances, task_enis = self._zone_nats_and_first_workloads(az, trigger.instance_id)
        return build_snapshot(self.config, az, instances, trigger, trigger_instance, now=self.now, task_enis=task_enis)

    def task_snapshot(self, az: str, trigger: TaskStateChange) -> Snapshot:
        if trigger.workload_state:
            # As for an instance: the task is the proof, only the NATs are read.
            return build_snapshot(self.config, az, self.zone_nats(az), trigger_task=trigger, now=self.now)
        instances, task_enis = self._zone_nats_and_first_workloads(az, None)
        return build_snapshot(self.config, az, instances, task_enis=task_enis, trigger_task=trigger, now=self.now)

    def _zone_nats_and_first_workloads(self, az: str, trigger_id: str | None) -> tuple[list[dict], list[dict]]:
        """(the AZ's NATs and its first other instance workloads, its task ENIs):
        enough to tell whether any workload is left. The task ENIs are read
        only when no instance workload was found."""
        nats = self.zone_nats(az)
        found, has_workload = self.first_workloads(az, trigger_id)
        # build_snapshot keeps one record per instance ID (a NAT read twice is one).
        return nats + found, ([] if has_workload else self.task_enis(az))

    def instance_statuses(self, instance_ids: list[str]) -> dict[str, str]:
        """The problems EC2 reports for these running instances, by ID (one call)."""
        if not instance_ids:
            return {}
        # Without IncludeAllInstances EC2 answers for running instances only.
        answer = self.ec2.describe_instance_status(InstanceIds=instance_ids)
        problems = {}
        for status in answer.get("InstanceStatuses") or ():
            problem = status_problem(status)
            if problem:
                problems[status["InstanceId"]] = problem
        return problems

    def default_routes(self) -> dict[str, Route] | None:
        """Each configured private route table's 0.0.0.0/0 route, in one read."""
        table_ids = sorted({r for zone in self.config.zones.values() for r in zone.route_table_ids})
        if not table_ids:
            return None
        routes = {}
        for table in self.ec2.describe_route_tables(RouteTableIds=table_ids).get("RouteTables") or ():
            default = [r for r in table.get("Routes") or () if r.get("DestinationCidrBlock") == DEFAULT_ROUTE]
            table_id = table["RouteTableId"]
            if default:
                routes[table_id] = Route(table_id, default[0].get("NetworkInterfaceId"))
            else:
                routes[table_id] = Route(table_id, None, present=False)
        return routes

    def source_dest_checked(self, instances: list[dict]) -> set[str]:
        """The deployment's ENIs whose source/dest check is on. An attached
        ENI shows it in DescribeInstances; the others cost one more read."""
        ours = {e for zone in self.config.zones.values() for e in (zone.public_eni_id, zone.private_eni_id)}
        checked, known = set(), set()
        for instance in instances:
            for eni in instance.get("NetworkInterfaces") or ():
                eni_id = eni.get("NetworkInterfaceId")
                if eni_id in ours and "SourceDestCheck" in eni:
                    known.add(eni_id)
                    if eni["SourceDestCheck"]:
                        checked.add(eni_id)
        unknown = sorted(ours - known)
        if unknown:
            for eni in self.ec2.describe_network_interfaces(NetworkInterfaceIds=unknown).get("NetworkInterfaces") or ():
                if eni.get("SourceDestCheck"):
                    checked.add(eni["NetworkInterfaceId"])
        return checked

    def all_snapshots(self, extra_statuses: dict[str, str] | None = None) -> list[Snapshot]:
        instances = self.vpc_instances()
        addresses = self.addresses()
        running_nats = [
            i["InstanceId"]
            for i in instances
            if role_of(i, self.config).kind == "nat" and (i.get("State") or {}).get("Name") == RUNNING
        ]
        statuses = {**self.instance_statuses(sorted(running_nats)), **(extra_statuses or {})}
        routes = self.default_routes()
        checked = self.source_dest_checked(instances)
        task_enis = self.task_enis()
        snapshots = [
            build_snapshot(
                self.config,
                az,
                instances,
                addresses=addresses,
                statuses=statuses,
                now=self.now,
                routes=routes,
                source_dest_checked=checked,
                task_enis=task_enis,
            )
            for az in sorted(self.config.zones)
        ]
        return with_failover_targets(snapshots)
