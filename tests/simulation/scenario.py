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
