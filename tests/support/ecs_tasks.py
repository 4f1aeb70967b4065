"""ECS tasks in a test world (the model: playbooks/sandbox/ecs_tasks.py)."""

from __future__ import annotations

from playbooks.sandbox.ecs_tasks import Task, new_task
from tests.support.world import World

__all__ = ["Task", "new_task", "running_task", "start_task"]


def start_task(world: World, az: str, subnet_id: str | None = None, **kwargs) -> Task:
    """A task ECS has just placed in the AZ's private subnet (or subnet_id)."""
    return new_task(world.ec2, az, subnet_id or world.zones[az].private_subnet_id, **kwargs)


def running_task(world: World, az: str, **kwargs) -> Task:
    """A task already running, its ENI in place (no event delivered)."""
    task = start_task(world, az, **kwargs)
    task.provision()
    task.run()
    return task
