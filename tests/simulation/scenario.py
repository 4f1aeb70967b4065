"""The account's other tenants: whoever launches, stops, starts and terminates
instances while the reconciler works.

Workloads come and go in the managed AZs (now and then in a public subnet,
now and then stopped and started again at once); instances that must never
count come and go too: ignored ones, one in an AZ the deployment does not
manage, one in another VPC; another deployment's NAT in the same VPC is
stopped and started. Some seeds add an instance carrying this deployment's
NAT tags (a stray duplicate) or update the role mid-run (a new configuration
version, so NATs are replaced).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Callable

from tests.simulation.clock import Clock
from tests.simulation.faults import FaultPlan
from tests.simulation.fleet import (
    IGNORED,
    NAT,
    NEIGHBOUR_NAT,
    RUNNING,
    STOPPED,
    STRAY_NAT,
    WORKLOAD,
    Fleet,
)
from tests.support.world import AMI, IGNORE_TAG, NAT_TAG, World

MEAN_INTERVAL = 30.0  # seconds between two actions of the tenants
WORKLOADS_PER_AZ = 2
ENDLESS = float("inf")


def _tags(tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class Tenants:
    def __init__(
        self,
        clock: Clock,
        rng: random.Random,
        fleet: Fleet,
        raw_ec2,
        world: World,
        subnets: dict[str, tuple[str, str]],
        plan: FaultPlan,
        faults: Counter,
        trace: Callable[[str], None],
        change_config: Callable[[], None],
        game_day: GameDay | None = None,
    ):
        """`subnets`: kind -> (AZ, subnet) for the kinds that live outside the
        managed AZs' subnets (UNMANAGED_AZ, FOREIGN), when the run has them."""
        self.clock = clock
        self.rng = rng
        self.fleet = fleet
        self.raw = raw_ec2
        self.world = world
        self.subnets = subnets
        self.plan = plan
        self.faults = faults
        self.trace = trace
        self.change_config = change_config
        self.game_day = game_day
        self.until = ENDLESS
        self.tasks = None  # tests.simulation.tasks.SimulatedTasks, in seeds with ECS tasks
        self._restart_when_stopped: set[str] = set()
        fleet.listeners.append(self._on_change)

    def begin(self, until: float) -> None:
        self.until = until
        self.clock.after(self.rng.expovariate(1 / MEAN_INTERVAL), "tenants", self._tick)
        if self.rng.random() < self.plan.rate("stray_nat"):
            self.clock.at(self.rng.uniform(30, until), "stray NAT", self._launch_stray_nat)
        if self.rng.random() < self.plan.rate("config_change"):
            self.clock.at(self.rng.uniform(60, until), "config change", self._change_config)

    def stop_acting(self) -> None:
        self.until = self.clock.now
        self._restart_when_stopped.clear()

    def _tick(self) -> None:
        if self.clock.now >= self.until:
            return
        if self.game_day is not None and self.rng.random() < self.plan.rate("game_day"):
            self.game_day.strike()
        else:
            self.act()
        self.clock.after(self.rng.expovariate(1 / MEAN_INTERVAL), "tenants", self._tick)

    # -- actions -----------------------------------------------------------------------

    def act(self, workloads_only: bool = False) -> None:
        """One random action that the instances' current states allow."""
        choices = self._workload_choices() if workloads_only else self._workload_choices() + self._other_choices()
        weights = [weight for weight, _, _ in choices]
        _, label, action = self.rng.choices(choices, weights=weights)[0]
        self.trace(f"tenant: {label}")
        action()

    def _workload_choices(self):
        choices = []
        live = self.fleet.of_kind(WORKLOAD, states=("pending", "running", "stopping", "stopped"))
        if len(live) < WORKLOADS_PER_AZ * len(self.world.zones):
            az = self.rng.choice(sorted(self.world.zones))
            public = self.rng.random() < 0.1
            zone = self.world.zones[az]
            subnet = zone.public_subnet_id if public else zone.private_subnet_id
            choices.append((3, f"launch workload in {az}", lambda: self._launch(WORKLOAD, az, subnet)))
        choices += self._lifecycle_choices(WORKLOAD, weight=2)
        choices += self.tasks.choices() if self.tasks else []
        running = self.fleet.of_kind(WORKLOAD, states=(RUNNING,))
        if running:
            flapping = self.rng.choice(running).instance_id
            choices.append((1.5, f"stop and restart {flapping}", lambda: self._flap(flapping)))
        return choices or [(1, "nothing", lambda: None)]

    def _other_choices(self):
        choices = []
        az = self.rng.choice(sorted(self.world.zones))
        places = {IGNORED: (az, self.world.zones[az].private_subnet_id), **self.subnets}
        for kind, (where, subnet) in sorted(places.items()):
            if not self.fleet.of_kind(kind):
                choices.append(
                    (0.7, f"launch {kind} in {where}", lambda k=kind, w=where, s=subnet: self._launch(k, w, s))
                )
            choices += self._lifecycle_choices(kind, weight=0.4)
        choices += self._lifecycle_choices(NEIGHBOUR_NAT, weight=0.2, terminate=False)
        return choices

    def _lifecycle_choices(self, kind: str, weight: float, terminate: bool = True):
        choices = []
        running = self.fleet.of_kind(kind, states=(RUNNING,))
        stopped = self.fleet.of_kind(kind, states=(STOPPED,))
        if running:
            target = self.rng.choice(running).instance_id
            choices.append((weight, f"stop {kind} {target}", lambda: self.fleet.stop(target)))
        if stopped:
            target = self.rng.choice(stopped).instance_id
            choices.append((weight, f"start {kind} {target}", lambda: self.fleet.start(target)))
        if terminate and (running or stopped):
            target = self.rng.choice(running + stopped).instance_id
            choices.append((weight / 2, f"terminate {kind} {target}", lambda: self.fleet.terminate(target)))
        return choices

    def _launch(self, kind: str, az: str, subnet_id: str, tags: dict[str, str] | None = None) -> str:
        if kind == IGNORED:
            tags = {IGNORE_TAG[0]: IGNORE_TAG[1]}
        kwargs = {"TagSpecifications": _tags(tags)} if tags else {}
        response = self.raw.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet_id, **kwargs
        )
        instance_id = response["Instances"][0]["InstanceId"]
        self.fleet.launched(instance_id, kind, az)
        self.trace(f"launched {kind} {instance_id} in {az}")
        return instance_id

    def _flap(self, instance_id: str) -> None:
        self._restart_when_stopped.add(instance_id)
        self.fleet.stop(instance_id)

    def _on_change(self, instance, previous) -> None:
        if instance.state == STOPPED and instance.instance_id in self._restart_when_stopped:
            self._restart_when_stopped.discard(instance.instance_id)
            self.clock.after(
                self.rng.uniform(0, 15),
                f"restart {instance.instance_id}",
                lambda: self.fleet.start(instance.instance_id),
            )

    def _launch_stray_nat(self) -> None:
        # Someone launched an instance with this deployment's NAT tags (by hand,
        # an old tool): not on the AZ's ENIs, so never a usable NAT.
        az = self.rng.choice(sorted(self.world.zones))
        tags = {
            NAT_TAG[0]: NAT_TAG[1],
            "nat-zero:deployment": self.world.name,
            "nat-zero:az": az,
            "nat-zero:config-version": self.world.config_version,
        }
        self.faults["stray_nat"] += 1
        self._launch(STRAY_NAT, az, self.world.zones[az].public_subnet_id, tags)

    def _change_config(self) -> None:
        self.faults["config_change"] += 1
        self.change_config()


class GameDay:
    """Faults of the NAT's own setup, by a human or by EC2: each is something
    the next sweep must put right (invariants.converged checks it did)."""

    def __init__(self, rng: random.Random, fleet: Fleet, raw_ec2, world: World, route_tables, ec2_model, faults, trace):
        self.rng = rng
        self.fleet = fleet
        self.raw = raw_ec2
        self.world = world
        self.route_tables = route_tables  # az -> the AZ's private route table
        self.ec2_model = ec2_model  # status checks (tests.support.ec2_fidelity)
        self.faults = faults
        self.trace = trace

    def strike(self) -> None:
        choices = self._choices()
        # A running NAT's faults weigh more: they are the ones met least often.
        weights = [3 if label.split()[0].endswith(("_nat", "_eip")) else 1 for label, _ in choices]
        label, action = self.rng.choices(choices, weights=weights)[0]
        self.faults[f"game_day_{label.split()[0]}"] += 1
        self.trace(f"game day: {label}")
        action()

    def _choices(self):
        az = self.rng.choice(sorted(self.world.zones))
        zone = self.world.zones[az]
        table = self.route_tables[az]
        elsewhere = self.world.zones[self.rng.choice([a for a in sorted(self.world.zones) if a != az])]
        eni = self.rng.choice((zone.public_eni_id, zone.private_eni_id))
        choices = [
            (f"delete_route {table}", lambda: self._delete_route(table)),
            (f"redirect_route {table}", lambda: self._point(table, elsewhere.private_eni_id)),
            (f"source_dest_check_on {eni}", lambda: self._check_on(eni)),
        ]
        running = self.fleet.of_kind(NAT, states=(RUNNING,))
        if running:
            nat = self.rng.choice(running).instance_id
            choices += [
                (f"stop_nat {nat}", lambda: self.fleet.stop(nat)),
                (f"terminate_nat {nat}", lambda: self.fleet.terminate(nat)),
                (f"reboot_nat {nat}", lambda: self.raw.reboot_instances(InstanceIds=[nat])),
                (
                    f"impair_nat {nat}",
                    lambda: self.ec2_model.impair(nat, self.rng.choice(("InstanceStatus", "SystemStatus"))),
                ),
            ]
        on_eni = self._address_on(zone.public_eni_id)
        if on_eni is not None:
            choices += [
                (f"disassociate_eip {on_eni['AllocationId']}", lambda: self._disassociate(on_eni)),
                (f"release_eip {on_eni['AllocationId']}", lambda: self._release(on_eni)),
            ]
        return choices

    def _address_on(self, eni_id: str) -> dict | None:
        found = self.raw.describe_addresses(Filters=[{"Name": "network-interface-id", "Values": [eni_id]}])
        return (found["Addresses"] or [None])[0]

    def _delete_route(self, table: str) -> None:
        try:
            self.raw.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
        except self.raw.exceptions.ClientError:
            pass  # already gone: deleted by an earlier strike

    def _point(self, table: str, eni_id: str) -> None:
        try:
            self.raw.replace_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni_id)
        except self.raw.exceptions.ClientError:
            self.raw.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni_id)

    def _check_on(self, eni_id: str) -> None:
        self.raw.modify_network_interface_attribute(NetworkInterfaceId=eni_id, SourceDestCheck={"Value": True})

    def _disassociate(self, address: dict) -> None:
        self.raw.disassociate_address(AssociationId=address["AssociationId"])

    def _release(self, address: dict) -> None:
        self._disassociate(address)
        self.raw.release_address(AllocationId=address["AllocationId"])
