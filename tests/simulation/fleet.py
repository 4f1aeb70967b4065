"""Every instance of the simulated account, with its true state.

EC2 takes time to move an instance between states; moto does it at once. The
fleet keeps the true state, lets each transition take a simulated while, and
applies the change to moto only when EC2 would have finished it. Moto thus
always holds the last settled state, which keeps its filters right: a NAT
that is shutting down is still running (or stopped) in moto, not terminated,
so a filtered read still returns it, in the state the fleet says.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional

from tests.simulation.clock import Clock

PENDING, RUNNING, STOPPING, STOPPED = "pending", "running", "stopping", "stopped"
SHUTTING_DOWN, TERMINATED = "shutting-down", "terminated"
ACTIVE = (PENDING, RUNNING)
LIVE = (PENDING, RUNNING, STOPPING, STOPPED)

# What an instance is to the deployment under test.
WORKLOAD = "workload"  # counts for its AZ
IGNORED = "ignored"  # carries the ignore tag
UNMANAGED_AZ = "unmanaged_az"  # in the VPC, in an AZ the deployment does not manage
FOREIGN = "foreign"  # in another VPC
NAT = "nat"  # this deployment's NAT, launched by the reconciler
STRAY_NAT = "stray_nat"  # carries this deployment's NAT tags, launched by someone else
NEIGHBOUR_NAT = "neighbour_nat"  # another deployment's NAT
OURS = (NAT, STRAY_NAT)


@dataclass
class Instance:
    instance_id: str
    kind: str
    az: str
    state: str
    launch_time: float  # simulated time of the last start, as EC2's LaunchTime
    previous_launch_time: float = 0.0  # of the start before: what a stale read still shows
    generation: int = 0  # bumped on every change; a superseded transition is dropped


class Refused(Exception):
    """EC2 refuses the request (the whole request: EC2 checks every instance first)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Delays:
    """How long EC2 takes, in simulated seconds."""

    def __init__(self, rng: random.Random, slow_shutdown_rate: float, faults: Counter):
        self.rng = rng
        self.slow_shutdown_rate = slow_shutdown_rate
        self.faults = faults

    def boot(self) -> float:
        return self.rng.uniform(5, 30)

    def stop(self) -> float:
        return self.rng.uniform(3, 45)

    def shutdown(self) -> float:
        if self.rng.random() < self.slow_shutdown_rate:
            # A shutting-down instance keeps its ENIs: launching a successor fails "in use".
            self.faults["slow_shutdown"] += 1
            return self.rng.uniform(120, 300)
        return self.rng.uniform(10, 90)


Listener = Callable[[Instance, Optional[str]], None]


class Fleet:
    def __init__(self, clock: Clock, raw_ec2, delays: Delays):
        self.clock = clock
        self.raw = raw_ec2
        self.delays = delays
        self.instances: dict[str, Instance] = {}
        # Told of every state change: (instance, previous state or None when launched).
        self.listeners: list[Listener] = []

    def get(self, instance_id: str) -> Instance | None:
        return self.instances.get(instance_id)

    def of_kind(self, *kinds: str, states=LIVE) -> list[Instance]:
        return [i for i in self.instances.values() if i.kind in kinds and i.state in states]

    def launched(self, instance_id: str, kind: str, az: str) -> Instance:
        """Moto already holds the instance (running); EC2 would still be booting it."""
        instance = Instance(instance_id, kind, az, PENDING, self.clock.now)
        self.instances[instance_id] = instance
        self._notify(instance, None)
        self._finish_later(instance, RUNNING, self.delays.boot(), None)
        return instance

    # -- requests, with EC2's rules --------------------------------------------

    def request(self, action: str, instance_ids: list[str]) -> list[tuple[str, str, str]]:
        """Start, stop or terminate: (instance, previous, current) per instance."""
        rule = {
            "StartInstances": self._can_start,
            "StopInstances": self._can_stop,
            "TerminateInstances": self._can_terminate,
        }[action]
        for instance_id in instance_ids:
            if instance_id not in self.instances:
                raise Refused("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
            rule(self.instances[instance_id])
        changes = []
        for instance_id in instance_ids:
            instance = self.instances[instance_id]
            previous = instance.state
            {"StartInstances": self.start, "StopInstances": self.stop, "TerminateInstances": self.terminate}[action](
                instance_id
            )
            changes.append((instance_id, previous, instance.state))
        return changes

    @staticmethod
    def _can_start(instance: Instance) -> None:
        if instance.state not in (STOPPED, PENDING, RUNNING):
            raise Refused(
                "IncorrectInstanceState",
                f"The instance '{instance.instance_id}' is not in a state from which it can be started.",
            )

    @staticmethod
    def _can_stop(instance: Instance) -> None:
        if instance.state not in (RUNNING, STOPPING, STOPPED):
            raise Refused(
                "IncorrectInstanceState",
                f"The instance '{instance.instance_id}' is not in a state from which it can be stopped.",
            )

    @staticmethod
    def _can_terminate(instance: Instance) -> None:
        return None

    # -- transitions -------------------------------------------------------------

    def start(self, instance_id: str) -> None:
        instance = self.instances[instance_id]
        if instance.state != STOPPED:
            return
        instance.previous_launch_time, instance.launch_time = instance.launch_time, self.clock.now
        self._change(instance, PENDING)
        self._finish_later(instance, RUNNING, self.delays.boot(), self.raw.start_instances)

    def stop(self, instance_id: str) -> None:
        instance = self.instances[instance_id]
        if instance.state != RUNNING:
            return
        self._change(instance, STOPPING)
        self._finish_later(instance, STOPPED, self.delays.stop(), self.raw.stop_instances)

    def terminate(self, instance_id: str) -> None:
        instance = self.instances[instance_id]
        if instance.state in (SHUTTING_DOWN, TERMINATED):
            return
        self._change(instance, SHUTTING_DOWN)
        self._finish_later(instance, TERMINATED, self.delays.shutdown(), self.raw.terminate_instances)

    def _change(self, instance: Instance, state: str) -> None:
        previous = instance.state
        instance.state = state
        instance.generation += 1
        self._notify(instance, previous)

    def _finish_later(self, instance: Instance, state: str, delay: float, moto_call) -> None:
        generation = instance.generation

        def finish():
            if instance.generation != generation:
                return  # superseded (for example terminated while stopping)
            if moto_call is not None:
                moto_call(InstanceIds=[instance.instance_id])
            self._change(instance, state)

        self.clock.after(delay, f"{instance.instance_id} {state}", finish)

    def _notify(self, instance: Instance, previous: str | None) -> None:
        for listener in self.listeners:
            listener(instance, previous)
