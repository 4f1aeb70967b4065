"""How many forced deployments the ECS Spot handler makes for interruption
waves, against a handler that forces one per event (the Terraform module's
behaviour), on moto's ECS with ECS's real deployment behaviour.

The handler runs in this process against in-process moto, so the milliseconds
per event include moto's own work; they compare scenarios, not clouds.

    .venv/bin/python benchmarks/ecs_spot_dedup.py [--seed 16]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

from moto import mock_aws  # noqa: E402

from ecs_spot_handler import aws as handler_aws  # noqa: E402
from ecs_spot_handler.handler import handler  # noqa: E402
from playbooks.sandbox.ecs_emulation import age_deployments, real_ecs_deployments  # noqa: E402
from tests.support.ecs_world import ACCOUNT, CLUSTER, REGION, EcsWorld  # noqa: E402

# (name, services, tasks per service, events per task, waves, seconds between waves)
SCENARIOS = [
    ("1 service, 50 tasks, warning only", 1, 50, 1, 1, 0),
    ("1 service, 50 tasks, warning + stop", 1, 50, 2, 1, 0),
    ("5 services, 10 tasks each, warning + stop", 5, 10, 2, 1, 0),
    ("1 service, 2 waves 5 min apart, 20 tasks", 1, 20, 2, 2, 300),
    ("20 services, 5 tasks each, warning + stop", 20, 5, 2, 1, 0),
]


def wave_events(world: EcsWorld, services: list[str], tasks: int, per_task: int, start: datetime, first_task: int):
    events = []
    for s, service in enumerate(services):
        for t in range(tasks):
            number = first_task + s * tasks + t
            # Warnings of one wave spread over 90 s, as a capacity pool is reclaimed.
            stopping_at = start + timedelta(seconds=90 * t / max(tasks - 1, 1))
            warning = world.interruption_event(service, task=number, stopping_at=stopping_at)
            events.append(warning)
            if per_task == 2:
                stopped = world.interruption_event(service, task=number, stopping_at=stopping_at)
                stopped["detail"].update(lastStatus="STOPPED", stoppedAt=stopped["time"])
                events.append(stopped)
    return events


def run_scenario(name, services, tasks, per_task, waves, gap, rng) -> dict:
    with mock_aws(), real_ecs_deployments():
        world = EcsWorld()
        names = [f"svc-{n}" for n in range(services)]
        for service in names:
            world.create_service(service, desired_count=tasks)
        calls = Counter()
        client = handler_aws.ecs_client(REGION)
        count = lambda model, **_: calls.update([model.name])  # noqa: E731
        client.meta.events.register("before-call.ecs.*", count)
        outcomes, elapsed, delivered = Counter(), 0.0, 0
        for w in range(waves):
            if w:
                # `gap` seconds pass between waves: what ECS did so far moves into the past.
                for service in names:
                    age_deployments(ACCOUNT, REGION, CLUSTER, service, timedelta(seconds=gap))
            # The wave's warnings end about now, so a deployment forced during it follows them.
            start = datetime.now(timezone.utc) - timedelta(seconds=95)
            events = wave_events(world, names, tasks, per_task, start, w * 10_000)
            rng.shuffle(events)
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                for event in events:
                    outcomes[handler(event)["outcome"]] += 1
            elapsed += time.perf_counter() - started
            delivered += len(events)
        client.meta.events.unregister("before-call.ecs.*", count)
        deployments = sum(len(world.deployments(s)) - 1 for s in names)
    return {
        "scenario": name,
        "events": delivered,
        "per_event": delivered,
        "ours": calls["UpdateService"],
        "new_deployments": deployments,
        "skipped": outcomes["skipped"],
        "describe": calls["DescribeServices"],
        "ms": 1000 * elapsed / delivered,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=16, help="shuffle of the event order")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        ECS_SPOT_HANDLER_REGION=REGION,
        ECS_SPOT_HANDLER_ACCOUNT_ID=ACCOUNT,
        ECS_SPOT_HANDLER_LOG_LEVEL="INFO",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    rng = random.Random(args.seed)
    rows = [run_scenario(*scenario, rng) for scenario in SCENARIOS]
    header = (
        f"| {'scenario':<44} | events | UpdateService per-event | UpdateService ours "
        "| new deployments | skipped | DescribeServices | ms/event (incl. moto) |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['scenario']:<44} | {r['events']:>6} | {r['per_event']:>23} | {r['ours']:>18} "
            f"| {r['new_deployments']:>15} | {r['skipped']:>7} | {r['describe']:>16} | {r['ms']:>21.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
