"""Invocations and EC2 reads per instance event with N deployments in one
account and region: every reconciler on the EC2 state-change rule (before),
against the region's dispatcher handing each event to its VPC's reconciler
(after).

A burst of launches in one VPC (each launch sends "pending" then
"running") is delivered, in in-process moto, to the real handlers: before,
each event to every deployment's reconciler, as one EventBridge rule per
deployment does (a rule cannot match by VPC); after, each event to the
dispatcher, which invokes the owning reconciler asynchronously (run
in-process here, see tests/support/fleet.py).

    .venv/bin/python benchmarks/fleet_dispatch.py [--sizes 1,10,50] [--launches 200]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from nat_zero import aws as reconciler_aws  # noqa: E402
from nat_zero_dispatch import aws as dispatch_aws  # noqa: E402
from nat_zero_dispatch import handler as dispatch_handler  # noqa: E402
from tests.support.fleet import ACCOUNT, Fleet, InProcessLambda, environment, run_reconciler  # noqa: E402
from tests.support.world import AMI, REGION, state_change_event  # noqa: E402

DESCRIBE = "DescribeInstances"


def burst(fleet: Fleet, launches: int) -> list[dict]:
    """`launches` workloads started at once in the first deployment's VPC, and their events."""
    world = next(iter(fleet.worlds.values()))
    zone = next(iter(world.zones.values()))
    response = fleet.ec2.run_instances(
        ImageId=AMI, InstanceType="t3.micro", MinCount=launches, MaxCount=launches, SubnetId=zone.private_subnet_id
    )
    ids = [i["InstanceId"] for i in response["Instances"]]
    return [state_change_event(i, s, account=ACCOUNT) for s in ("pending", "running") for i in ids]


def before(fleet: Fleet, events: list[dict]) -> dict:
    invocations, reads = 0, 0
    for event in events:
        for world in fleet.worlds.values():
            summary = run_reconciler(world, event)
            invocations += 1
            reads += summary["aws_calls"]["by_operation"].get(DESCRIBE, 0)
    return {"invocations": invocations, "reads": reads, "other": Counter()}


def after(fleet: Fleet, events: list[dict]) -> dict:
    lambda_stand_in = InProcessLambda(fleet)
    dispatcher_calls = Counter()
    env = {"NAT_ZERO_REGION": REGION, "NAT_ZERO_ACCOUNT_ID": ACCOUNT}
    with environment(env):
        lambda_stand_in.install(dispatch_aws.client("lambda", REGION, dispatch_handler._counter))
        for event in events:
            with contextlib.redirect_stdout(io.StringIO()):
                summary = dispatch_handler.handler(event, None)
            dispatcher_calls.update(summary["aws_calls"])
    reads = dispatcher_calls[f"ec2:{DESCRIBE}"] + lambda_stand_in.reconciler_calls[DESCRIBE]
    other = Counter({"GetResources": dispatcher_calls["resourcegroupstaggingapi:GetResources"]})
    return {"invocations": len(events) + len(lambda_stand_in.invocations), "reads": reads, "other": other}


def measure(size: int, launches: int) -> dict:
    with mock_aws():
        reconciler_aws._clients.clear()
        dispatch_aws._clients.clear()
        dispatch_handler._state.clear()
        fleet = Fleet(size)
        events = burst(fleet, launches)
        # One look first, as a deployed NAT would have had: the burst then
        # finds its NAT already there or starting, in both runs alike.
        run_reconciler(next(iter(fleet.worlds.values())), {"action": "reconcile"})
        rows = {"events": len(events), "before": before(fleet, events)}
        rows["after"] = after(fleet, events)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50", help="deployments in the region, comma-separated")
    parser.add_argument("--launches", type=int, default=200, help="instances launched at once in one VPC")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    boto3.setup_default_session()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"Burst of {args.launches} launches in one VPC (pending + running each); per instance event:")
    header = (
        "| deployments N | events | invocations/event before | DescribeInstances/event before "
        "| invocations/event after | DescribeInstances/event after | GetResources/event after |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for size in sizes:
        rows = measure(size, args.launches)
        n, b, a = rows["events"], rows["before"], rows["after"]
        print(
            f"| {size:>13} | {n:>6} | {b['invocations'] / n:>24.2f} | {b['reads'] / n:>30.2f} "
            f"| {a['invocations'] / n:>23.2f} | {a['reads'] / n:>29.2f} | {a['other']['GetResources'] / n:>23.3f} |"
        )
    print("after: 1 dispatcher invocation + 1 reconciler invocation per event; reads = dispatcher's 1 + reconciler's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
