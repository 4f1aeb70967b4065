"""What must hold in every simulated run, checked as the run goes.

After every step:
- never two live instances holding one ENI, never two EIPs on one ENI;
as calls happen:
- nothing of another VPC or another deployment is touched;
- a NAT is never stopped while a workload of its AZ is running (or pending)
  and the invocation's own reads said so;
after every invocation:
- never more than one live NAT in an AZ the invocation reconciled and saw whole;
- after a sweep that met no error: no EIP of the deployment unassociated;
at the end, after the events stop and one sweep runs:
- every managed AZ converged: workloads -> exactly one running NAT on the AZ's
  ENIs, current configuration, one EIP on its public ENI; none -> the NAT
  stopped or absent and no EIP; either way the AZ's private route table's
  0.0.0.0/0 points at its private ENI and both ENIs have source/dest check off
  (game days break these by hand: scenario.GameDay).

Moto's state is read straight from its in-process backend (MotoView): the
checks run after every step and must not cost API calls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from tests.simulation.fleet import ACTIVE, LIVE, OURS, RUNNING, STOPPED, TERMINATED, WORKLOAD, Fleet
from tests.support.world import REGION, World

DEPLOYMENT_TAG, VPC_TAG, AZ_TAG = "nat-zero:deployment", "nat-zero:vpc", "nat-zero:az"
CONFIG_VERSION_TAG = "nat-zero:config-version"


@dataclass(frozen=True)
class Address:
    allocation_id: str
    eni_id: str | None
    association_id: str | None
    tags: dict[str, str]


class MotoView:
    """Read-only look at moto's in-process EC2 state."""

    def __init__(self):
        self.backend = ec2_backends[DEFAULT_ACCOUNT_ID][REGION]

    def tags(self, resource_id: str) -> dict[str, str]:
        return dict(self.backend.tags.get(resource_id, {}))

    def addresses(self) -> list[Address]:
        return [
            Address(a.allocation_id, a.eni.id if a.eni else None, a.association_id, self.tags(a.allocation_id))
            for a in self.backend.addresses
        ]

    def enis_of(self, instance_id: str) -> dict[int, str]:
        instance = self.backend.get_instance(instance_id)
        return {index: eni.id for index, eni in instance.nics.items()}

    def default_route_target(self, route_table_id: str) -> str | None:
        """The ENI of the table's 0.0.0.0/0 route ("absent" when there is none)."""
        for route in self.backend.route_tables[route_table_id].routes:
            if route.destination_cidr_block == "0.0.0.0/0":
                return route.network_interface_id
        return "absent"

    def source_dest_check(self, eni_id: str) -> bool:
        return bool(self.backend.get_network_interface(eni_id).source_dest_check)

    def holders(self) -> dict[str, list[str]]:
        """ENI -> the instances that have it attached, whatever their state."""
        held = defaultdict(list)
        for reservation in self.backend.reservations.values():
            for instance in reservation.instances:
                for eni in instance.nics.values():
                    held[eni.id].append(instance.id)
        return held


class Invariants:
    def __init__(self, world: World, fleet: Fleet, view: MotoView, clock, route_tables: dict[str, str] | None = None):
        self.world = world
        self.route_tables = route_tables or {}
        self.fleet = fleet
        self.view = view
        self.clock = clock
        self.checks = 0
        self.violations: list[str] = []
        self.tasks = None  # tests.simulation.tasks.SimulatedTasks, in seeds with ECS tasks

    def check(self, holds: bool, message: str) -> None:
        self.checks += 1
        if not holds:
            self.violations.append(f"t={self.clock.now:.1f}s {message}")

    def ours(self, address: Address) -> bool:
        return address.tags.get(DEPLOYMENT_TAG) == self.world.name and address.tags.get(VPC_TAG) == self.world.vpc_id

    # -- after every step -----------------------------------------------------------

    def step(self) -> None:
        for eni_id, holders in self.view.holders().items():
            alive = [h for h in holders if (self.fleet.get(h) is None or self.fleet.get(h).state != TERMINATED)]
            self.check(len(alive) <= 1, f"ENI {eni_id} held by {len(alive)} instances at once: {alive}")
        on_eni = defaultdict(list)
        for address in self.view.addresses():
            if address.eni_id:
                on_eni[address.eni_id].append(address.allocation_id)
        for eni_id, allocations in on_eni.items():
            # EC2 would have disassociated the first one: an EIP leaked until a sweep.
            self.check(len(allocations) <= 1, f"two EIPs associated to ENI {eni_id}: {allocations}")

    # -- as calls happen ---------------------------------------------------------------

    def mutation(self, operation: str, params: dict) -> None:
        for problem in self._foreign_targets(operation, params):
            self.check(False, f"{operation} touches something outside the deployment: {problem}")
        self.checks += 1

    def _foreign_targets(self, operation: str, params: dict):
        our_enis = {eni for z in self.world.zones.values() for eni in (z.public_eni_id, z.private_eni_id)}
        if operation in ("StartInstances", "StopInstances", "TerminateInstances"):
            for instance_id in params.get("InstanceIds", ()):
                instance = self.fleet.get(instance_id)
                if instance is None or instance.kind not in OURS:
                    yield f"instance {instance_id} ({instance.kind if instance else 'unknown'})"
        elif operation == "RunInstances":
            for eni in params.get("NetworkInterfaces", ()):
                if eni.get("NetworkInterfaceId") not in our_enis:
                    yield f"ENI {eni.get('NetworkInterfaceId')}"
            tags = {t["Key"]: t["Value"] for spec in params.get("TagSpecifications", ()) for t in spec["Tags"]}
            if tags.get(DEPLOYMENT_TAG) != self.world.name:
                yield f"launches a NAT tagged {tags}"
        elif operation == "AllocateAddress":
            tags = {t["Key"]: t["Value"] for spec in params.get("TagSpecifications", ()) for t in spec["Tags"]}
            if not self.ours(Address("new", None, None, tags)):
                yield f"allocates an EIP tagged {tags}"
        elif operation in ("CreateRoute", "ReplaceRoute"):
            if params.get("RouteTableId") not in self.route_tables.values():
                yield f"route table {params.get('RouteTableId')}"
            if params.get("NetworkInterfaceId") not in our_enis or params.get("DestinationCidrBlock") != "0.0.0.0/0":
                yield f"route {params.get('DestinationCidrBlock')} -> {params.get('NetworkInterfaceId')}"
        elif operation == "ModifyNetworkInterfaceAttribute":
            if params.get("NetworkInterfaceId") not in our_enis:
                yield f"ENI {params.get('NetworkInterfaceId')}"
        elif operation in ("AssociateAddress", "DisassociateAddress", "ReleaseAddress"):
            if operation == "AssociateAddress" and params.get("NetworkInterfaceId") not in our_enis:
                yield f"ENI {params.get('NetworkInterfaceId')}"
            for address in self.view.addresses():
                named = address.allocation_id == params.get("AllocationId") or (
                    address.association_id and address.association_id == params.get("AssociationId")
                )
                if named and not self.ours(address):
                    yield f"EIP {address.allocation_id} tagged {address.tags}"

    def lifecycle(self, operation: str, instance_ids: list[str], observed: dict[str, str]) -> None:
        if operation != "StopInstances":
            return
        for instance_id in instance_ids:
            nat = self.fleet.get(instance_id)
            if nat is None or nat.kind not in OURS or nat.state != RUNNING:
                continue
            for workload in self._workloads(nat.az):
                self.check(
                    observed.get(workload.instance_id) not in ACTIVE,
                    f"NAT {instance_id} of {nat.az} stopped while workload {workload.instance_id} is "
                    f"{workload.state} and the invocation read it {observed.get(workload.instance_id)}",
                )

    def _workloads(self, az: str):
        return [w for w in self.fleet.of_kind(WORKLOAD, states=ACTIVE) if w.az == az]

    def _nats(self, az: str, states=LIVE):
        return [n for n in self.fleet.of_kind(*OURS, states=states) if n.az == az]

    # -- after every invocation ----------------------------------------------------------

    def invocation(self, summary: dict, observed: dict[str, str]) -> None:
        for zone in summary.get("zones", ()):
            if "error" in summary or any(o.get("result") == "error" for o in zone.get("outcomes", ())):
                continue
            nats = self._nats(zone["az"])
            self.check(
                len(nats) <= 1 or not all(n.instance_id in observed for n in nats),
                f"{len(nats)} live NATs in {zone['az']} after a reconcile that saw them all: "
                f"{[(n.instance_id, n.state) for n in nats]} (verdict {zone['verdict']})",
            )
        if summary.get("trigger", {}).get("kind") == "sweep" and _met_no_error(summary):
            loose = [a.allocation_id for a in self.view.addresses() if self.ours(a) and not a.eni_id]
            verdicts = {z["az"]: z["verdict"] for z in summary.get("zones", ())}
            self.check(not loose, f"EIPs {loose} left unassociated after a sweep (verdicts {verdicts})")

    # -- at the end ---------------------------------------------------------------------------

    def converged(self) -> list[str]:
        """Check every managed AZ; returns the leaks found (resources costing money for nothing)."""
        leaks = []
        addresses = [a for a in self.view.addresses() if self.ours(a)]
        for az, zone in sorted(self.world.zones.items()):
            eips = [a for a in addresses if a.tags.get(AZ_TAG) == az]
            nats = self._nats(az)
            workloads = self._workloads(az) + (self.tasks.running(az) if self.tasks else [])
            if workloads:
                running = [n for n in nats if n.state == RUNNING]
                self.check(
                    len(nats) == 1 and len(running) == 1,
                    f"{az} has workloads but NATs {[(n.instance_id, n.state) for n in nats]}",
                )
                if running:
                    nat = running[0]
                    enis = self.view.enis_of(nat.instance_id)
                    self.check(
                        enis.get(0) == zone.public_eni_id and enis.get(1) == zone.private_eni_id,
                        f"{az}'s running NAT {nat.instance_id} does not hold the AZ's ENIs: {enis}",
                    )
                    version = self.view.tags(nat.instance_id).get(CONFIG_VERSION_TAG)
                    self.check(
                        version == self.world.config_version,
                        f"{az}'s NAT {nat.instance_id} runs configuration {version}, not {self.world.config_version}",
                    )
                self.check(
                    [a.eni_id for a in eips] == [zone.public_eni_id],
                    f"{az} has workloads but its EIPs are {[(a.allocation_id, a.eni_id) for a in eips]}",
                )
                leaks += [a.allocation_id for a in eips if a.eni_id != zone.public_eni_id]
            else:
                awake = [n for n in nats if n.state != STOPPED]
                self.check(not awake, f"{az} has no workload but NATs {[(n.instance_id, n.state) for n in awake]}")
                self.check(not eips, f"{az} has no workload but EIPs {[a.allocation_id for a in eips]}")
                leaks += [n.instance_id for n in awake] + [a.allocation_id for a in eips]
        for az, table in sorted(self.route_tables.items()):
            target = self.view.default_route_target(table)
            own = self.world.zones[az].private_eni_id
            self.check(target == own, f"{az}'s route table {table} sends 0.0.0.0/0 to {target}, not {own}")
        for az, zone in sorted(self.world.zones.items()):
            checked = [e for e in (zone.public_eni_id, zone.private_eni_id) if self.view.source_dest_check(e)]
            self.check(not checked, f"{az}'s ENIs {checked} have source/dest check on")
        strays = [a.allocation_id for a in addresses if a.tags.get(AZ_TAG) not in self.world.zones]
        self.check(not strays, f"EIPs of the deployment outside its AZs: {strays}")
        return leaks + strays


def foreign_intact(view: MotoView, before: dict[str, str | None]) -> list[str]:
    """EIPs of others (allocation -> ENI at the start) that are gone or moved."""
    now = {a.allocation_id: a.eni_id for a in view.addresses()}
    return [
        f"{allocation} {eni} -> {now.get(allocation, 'released')}"
        for allocation, eni in sorted(before.items())
        if now.get(allocation, "released") != eni
    ]


def _met_no_error(summary: dict) -> bool:
    if "error" in summary:
        return False
    return not any(o.get("result") == "error" for z in summary.get("zones", ()) for o in z.get("outcomes", ()))
