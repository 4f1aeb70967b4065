"""EventBridge and Lambda's asynchronous invocation of a function with
reserved concurrency 1.

EventBridge delivers each EC2 state change, usually within seconds, sometimes
minutes late, sometimes twice, and now and then not at all. Lambda queues the
asynchronous invocations and, with one concurrent execution, runs them one at
a time, not strictly in arrival order. An invocation that fails is retried
twice, about one and two minutes later (the role's maximum_retry_attempts);
after that, or once the event is older than its maximum age, it is dropped.
The scheduled sweep comes through the same queue.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable

from tests.simulation.clock import Clock
from tests.simulation.ec2_model import simulated_time
from tests.simulation.faults import FaultPlan
from tests.support.world import SWEEP_EVENT, state_change_event

MAX_RETRIES = 2
MAX_EVENT_AGE = 3600.0
SWEEP_PERIOD = 300.0  # rate(5 minutes)


@dataclass(frozen=True)
class Invocation:
    event: dict
    label: str
    published: float
    attempt: int = 0


class EventDelivery:
    def __init__(
        self, clock: Clock, rng: random.Random, plan: FaultPlan, faults: Counter, trace: Callable[[str], None]
    ):
        self.clock = clock
        self.rng = rng
        self.plan = plan
        self.faults = faults
        self.trace = trace
        self.queue: list[Invocation] = []
        self.sweeping = False

    # -- EventBridge ---------------------------------------------------------------------

    def state_changed(self, instance, previous: str | None) -> None:
        event = state_change_event(instance.instance_id, instance.state)
        event["id"] = str(uuid.UUID(int=self.rng.getrandbits(128)))
        event["time"] = simulated_time(self.clock.now).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.publish(Invocation(event, f"{instance.state} {instance.instance_id} ({instance.kind})", self.clock.now))

    def publish(self, invocation: Invocation) -> None:
        if self.rng.random() < self.plan.rate("event_lost"):
            self.faults["event_lost"] += 1
            self.trace(f"event lost: {invocation.label}")
            return
        copies = 1
        if self.rng.random() < self.plan.rate("event_duplicated"):
            self.faults["event_duplicated"] += 1
            copies = 2
        for _ in range(copies):
            if self.rng.random() < self.plan.rate("event_late"):
                self.faults["event_late"] += 1
                delay = self.rng.uniform(30, 300)
            else:
                delay = self.rng.uniform(0.3, 4)
            self._enqueue_after(delay, invocation)

    def _enqueue_after(self, delay: float, invocation: Invocation) -> None:
        self.clock.after(delay, f"deliver {invocation.label}", lambda: self.queue.append(invocation))

    # -- the scheduled sweep ---------------------------------------------------------------

    def schedule_sweeps(self, first: float) -> None:
        self.sweeping = True
        self.clock.at(first, "sweep schedule", self._scheduled_sweep)

    def _scheduled_sweep(self) -> None:
        if not self.sweeping:
            return
        self.sweep()
        self.clock.after(SWEEP_PERIOD, "sweep schedule", self._scheduled_sweep)

    def sweep(self) -> None:
        self._enqueue_after(self.rng.uniform(0.1, 1), Invocation(dict(SWEEP_EVENT), "sweep", self.clock.now))

    # -- Lambda's async queue ------------------------------------------------------------------

    def take(self) -> Invocation | None:
        if not self.queue:
            return None
        index = 0
        if len(self.queue) > 1 and self.rng.random() < self.plan.rate("event_reordered"):
            self.faults["event_reordered"] += 1
            index = self.rng.randrange(1, len(self.queue))
        return self.queue.pop(index)

    def failed(self, invocation: Invocation) -> None:
        age = self.clock.now - invocation.published
        if invocation.attempt >= MAX_RETRIES or age > MAX_EVENT_AGE:
            self.faults["event_dropped_after_retries"] += 1
            self.trace(f"dropped after {invocation.attempt} retries: {invocation.label}")
            return
        self.faults["lambda_retry"] += 1
        delay = 60.0 * (invocation.attempt + 1) + self.rng.uniform(0, 30)
        self._enqueue_after(delay, replace(invocation, attempt=invocation.attempt + 1))
