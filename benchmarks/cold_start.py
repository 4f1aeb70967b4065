"""Cold start: the reconciler against a naive boto3 handler, fresh process each time.

Each run is a new Python process that imports a handler, creates its EC2
client and handles one in-VPC event that needs no action (two DescribeInstances
calls) against a local moto server. "naive" is what a first Python version
would do: `import boto3; boto3.client("ec2")`, the same two reads. The time is
measured inside the child, from its first line to the handled event (the
interpreter's own start-up, equal for both, excluded); peak RSS is the child's.
"floor" only runs `import botocore.session`, which any Python handler that
talks to AWS pays: the distance from it is what the reconciler itself costs.

    .venv/bin/python benchmarks/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

import boto3  # noqa: E402

from playbooks.sandbox.emulator import moto_server, sandbox_credentials  # noqa: E402
from plugins.module_utils.package import build_zip, source_files  # noqa: E402
from tests.support.world import REGION, build_world, state_change_event  # noqa: E402

CHILD = r"""
import time
started = time.perf_counter()
import json, os, sys
event = json.loads(os.environ["BENCH_EVENT"])
if sys.argv[1] == "floor":
    import botocore.session
    result = {}
elif sys.argv[1] == "naive":
    import boto3
    ec2 = boto3.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[event["detail"]["instance-id"]])["Reservations"][0]["Instances"][0]
    filters = [{"Name": "vpc-id", "Values": [os.environ["NAT_ZERO_VPC_ID"]]},
               {"Name": "availability-zone", "Values": [instance["Placement"]["AvailabilityZone"]]}]
    found = [i for page in ec2.get_paginator("describe_instances").paginate(Filters=filters)
             for r in page["Reservations"] for i in r["Instances"]]
    result = {"instances": len(found)}
else:
    sys.path.insert(0, sys.argv[2])
    import contextlib, io
    from nat_zero.handler import handler
    with contextlib.redirect_stdout(io.StringIO()):
        summary = handler(event, None)
    assert summary["zones"][0]["verdict"] == "steady", summary
    assert summary["aws_calls"]["reads"] == 2, summary
    result = {"verdict": summary["zones"][0]["verdict"]}
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at fork.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"ms": elapsed * 1000, "rss_mb": peak_kb / 1024, **result}))
"""


def package_size() -> tuple:
    """Size of the zip the role deploys, built by the lambda_function module's own code."""
    data = build_zip(str(ROOT / "lambda_src"))
    return len(data), len(source_files(str(ROOT / "lambda_src")))


def run_child(mode: str, env: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(ROOT / "lambda_src")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with moto_server() as endpoint:
        env = {**os.environ, **sandbox_credentials(endpoint, REGION)}
        os.environ.update(env)
        world = build_world("coldstart", ec2=boto3.client("ec2", region_name=REGION))
        env.update(world.env())
        os.environ.update(world.env())
        workload = world.launch_workload("us-east-1a")
        from nat_zero.handler import handler

        handler(state_change_event(workload, "pending"), None)  # the NAT and its EIP: later events are no-ops
        env["BENCH_EVENT"] = json.dumps(state_change_event(workload, "running"))
        results = {"floor": [], "naive": [], "nat_zero": []}
        for _ in range(args.runs):  # interleaved, so all see the same machine load
            for mode, runs in results.items():
                runs.append(run_child(mode, env))
    zip_bytes, zip_files = package_size()
    median = {mode: statistics.median(r["ms"] for r in runs) for mode, runs in results.items()}
    rss = {mode: max(r["rss_mb"] for r in runs) for mode, runs in results.items()}
    print(f"Cold start: import + client + one in-VPC no-op event, fresh process, median of {args.runs}")
    print("| handler | median ms | peak RSS MB |")
    print("|---|---|---|")
    print(f"| naive (import boto3; boto3.client('ec2')) | {median['naive']:.0f} | {rss['naive']:.0f} |")
    print(f"| nat_zero.handler | {median['nat_zero']:.0f} | {rss['nat_zero']:.0f} |")
    print(f"| floor (import botocore.session only) | {median['floor']:.0f} | {rss['floor']:.0f} |")
    print(
        f"ratio nat_zero/naive: {median['nat_zero'] / median['naive']:.2f} (target <= 0.5, accepted at about "
        f"the floor: floor/naive {median['floor'] / median['naive']:.2f}); "
        f"nat_zero/floor {median['nat_zero'] / median['floor']:.2f}; "
        f"peak RSS {rss['nat_zero']:.0f} MB (target <= 40)"
    )
    print(f"deployed zip: {zip_bytes / 1024:.1f} KiB, {zip_files} files")


if __name__ == "__main__":
    main()
