"""ECS tasks in the simulated account (seeds whose deployment has ecs among
its workload sources).

A task is placed in a managed AZ's private subnet (PROVISIONING, no ENI yet),
ECS creates its ENI a few seconds later (PENDING), it runs, and when stopped
it leaves (DEACTIVATING) and its ENI is deleted before it is STOPPED. Every
change publishes its "ECS Task State Change" through the same EventBridge
model as instance changes: lost, duplicated, late, reordered. Some tasks carry
the ignore tag: they need no NAT, and must neither start nor keep one.
"""

from __future__ import annotations

import random
from typing import Callable

from tests.simulation.clock import Clock
from tests.simulation.delivery import EventDelivery, Invocation
from tests.support.ecs_tasks import Task, ecs_api, start_task
from tests.support.world import IGNORE_TAG, World

TASKS_PER_AZ = 2
# The share of tasks started with the ignore tag.
IGNORED_SHARE = 0.25


class SimulatedTasks:
    def __init__(self, clock: Clock, rng: random.Random, world: World, delivery: EventDelivery, trace: Callable):
        self.clock = clock
        self.rng = rng
        self.world = world
        self.delivery = delivery
        self.trace = trace
        self.tasks: list[Task] = []
        self.ignored: set[str] = set()  # ARNs of the tasks with the ignore tag

    def running(self, az: str) -> list[Task]:
        """The AZ's tasks that need the NAT: ECS wants them running, and
        they do not carry the ignore tag."""
        return [t for t in self.tasks if t.az == az and t.desired_status == "RUNNING" and t.arn not in self.ignored]

    def choices(self):
        """(weight, label, action) for the tenants' next move."""
        choices = []
        if len([t for t in self.tasks if t.desired_status == "RUNNING"]) < TASKS_PER_AZ * len(self.world.zones):
            az = self.rng.choice(sorted(self.world.zones))
            choices.append((2, f"run a task in {az}", lambda: self.launch(az)))
        stoppable = [t for t in self.tasks if t.last_status == "RUNNING" and t.desired_status == "RUNNING"]
        if stoppable:
            task = self.rng.choice(stoppable)
            choices.append((1.5, f"stop task {task.task_id[:8]}", lambda: self.stop(task)))
        return choices

    def launch(self, az: str) -> None:
        task = start_task(self.world, az, rng=self.rng)
        # Drawn from the task's own ID, not self.rng: the seeds' scenarios stay as they were.
        if random.Random(task.task_id).random() < IGNORED_SHARE:
            ecs_api(self.world).tag_task(task, dict([IGNORE_TAG]))
            self.ignored.add(task.arn)
        self.tasks.append(task)
        self._publish(task, task.event())
        self.clock.after(self.rng.uniform(2, 20), f"task {task.task_id[:8]} ENI", lambda: self._provision(task))

    def _provision(self, task: Task) -> None:
        self._publish(task, task.provision())
        self.clock.after(self.rng.uniform(5, 40), f"task {task.task_id[:8]} running", lambda: self._run(task))

    def _run(self, task: Task) -> None:
        self._publish(task, task.run())

    def stop(self, task: Task) -> None:
        self._publish(task, task.stop())
        self.clock.after(self.rng.uniform(5, 30), f"task {task.task_id[:8]} stopped", lambda: self._stopped(task))

    def _stopped(self, task: Task) -> None:
        self._publish(task, task.deprovision())
        self.tasks.remove(task)

    def _publish(self, task: Task, event: dict) -> None:
        label = f"task {task.task_id[:8]} {task.last_status} in {task.az}"
        self.trace(label)
        self.delivery.publish(Invocation(event, label, self.clock.now))
