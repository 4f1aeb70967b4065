"""AWS calls and handler CPU per event kind, for AZs of 10, 100 and 1,000 instances.

The task_* kinds are ECS task state changes (NAT_ZERO_WORKLOAD_SOURCES=ec2,ecs;
tasks and their ENIs modelled as in tests.support.ecs_tasks, ECS's answers
about them given on the reconciler's ECS client, as moto knows no awsvpc
task), sweep_ecs the sweep of such a deployment: their rows set against the
instance rows above them show what a task event costs against an instance
event. task_ignored is the PROVISIONING event of a task with the ignore tag in
an AZ without a NAT (its tags read, no NAT started).

The reconciler runs in this process against a moto server in another, so the
CPU time measured here is the handler's own (botocore included), not moto's.
A second AZ holds a fixed 1,000 instances throughout: the cost of an event
must follow the instances of its own AZ, not of the VPC.

    .venv/bin/python benchmarks/reconciler_cost.py [--sizes 10,100,1000] [--repeat 5] [--noise 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

import boto3  # noqa: E402

from playbooks.sandbox.emulator import moto_server  # noqa: E402
from tests.support.ecs_tasks import ecs_api, running_task, start_task  # noqa: E402
from tests.support.world import AMI, IGNORE_TAG, REGION, SWEEP_EVENT, build_world, state_change_event  # noqa: E402

AZ, NOISE_AZ = "us-east-1a", "us-east-1b"
NOISE_INSTANCES = 1000
INSTANCE_KINDS = ("out_of_vpc", "in_vpc_noop", "create", "start", "stop", "eip_attach", "release", "sweep")
TASK_KINDS = ("task_out_of_subnets", "task_noop", "task_create", "task_ignored", "task_stop", "sweep_ecs")
KINDS = INSTANCE_KINDS + TASK_KINDS


def launch(world, az, count, stopped=True):
    ids = []
    while count > 0:
        batch = min(count, 500)
        response = world.ec2.run_instances(
            ImageId=AMI,
            InstanceType="t3.micro",
            MinCount=batch,
            MaxCount=batch,
            SubnetId=world.zones[az].private_subnet_id,
        )
        ids += [i["InstanceId"] for i in response["Instances"]]
        count -= batch
    if stopped and ids:
        world.ec2.stop_instances(InstanceIds=ids)
    return ids


class Bench:
    def __init__(self, size, noise):
        from nat_zero import aws, handler

        self.handler = handler
        self.aws = aws
        aws._clients.clear()
        aws._ecs_clients.clear()
        self.world = build_world(f"bench{size}", ec2=boto3.client("ec2", region_name=REGION))
        for key, value in self.world.env().items():
            os.environ[key] = value
        launch(self.world, AZ, size - 1)  # stopped: read on every event, never workloads
        launch(self.world, NOISE_AZ, noise)
        self.workload = launch(self.world, AZ, 1, stopped=False)[0]
        other = build_world(f"other{size}", ec2=self.world.ec2, cidr_second_octet=1)
        self.stranger = other.launch_workload(AZ)
        self.tasks = []

    def call(self, event):
        with contextlib.redirect_stdout(io.StringIO()):  # the JSON log lines
            started = time.process_time()
            summary = self.handler.handler(event, None)
            cpu_ms = (time.process_time() - started) * 1000
        if "error" in summary:
            raise RuntimeError(summary["error"])
        calls = summary["aws_calls"]
        return cpu_ms, calls["reads"] + calls["writes"], summary

    # Each arrangement puts the AZ in the state the event kind needs, directly
    # through EC2, and returns the event to deliver.
    def nat(self):
        nats = self.world.nats(AZ, states=("pending", "running", "stopping", "stopped"))
        return nats[0]["InstanceId"] if nats else None

    def _set_workload(self, running):
        if running:
            self.world.ec2.start_instances(InstanceIds=[self.workload])
        else:
            self.world.ec2.stop_instances(InstanceIds=[self.workload])

    def _release_all(self):
        for address in self.world.eips(AZ):
            if address.get("AssociationId"):
                self.world.ec2.disassociate_address(AssociationId=address["AssociationId"])
            self.world.ec2.release_address(AllocationId=address["AllocationId"])

    def _converge(self):
        self.call(SWEEP_EVENT)

    def _answer_ecs(self):
        """ECS's answers about the modelled tasks, on the reconciler's ECS client (once)."""
        from nat_zero.config import load_config

        if not self.aws._ecs_clients:
            ecs_api(self.world).install(self.aws.ecs_client(load_config(), self.handler._counter))

    def arrange_task(self, kind):
        """An ECS task event, the AZ's instance workload stopped: tasks alone
        decide. Earlier tasks are stopped first (their ENIs deleted)."""
        os.environ["NAT_ZERO_WORKLOAD_SOURCES"] = "ec2,ecs"
        self._answer_ecs()
        while self.tasks:
            self.tasks.pop().deprovision()
        self._set_workload(False)
        if kind == "task_out_of_subnets":
            return start_task(self.world, AZ, subnet_id=self.world.zones[AZ].public_subnet_id).event()
        if kind in ("task_create", "task_ignored"):
            if self.nat():
                self.world.ec2.terminate_instances(InstanceIds=[self.nat()])
            self._release_all()
            return start_task(self.world, AZ, tags=dict([IGNORE_TAG]) if kind == "task_ignored" else None).event()
        task = running_task(self.world, AZ)
        self.tasks.append(task)
        if kind == "sweep_ecs":
            return SWEEP_EVENT
        self._converge()
        if kind == "task_noop":
            return task.run()
        if kind == "task_stop":
            self.tasks.remove(task)
            return task.deprovision()
        raise ValueError(kind)

    def arrange(self, kind):
        if kind in TASK_KINDS:
            return self.arrange_task(kind)
        os.environ.pop("NAT_ZERO_WORKLOAD_SOURCES", None)
        if kind == "out_of_vpc":
            return state_change_event(self.stranger, "running")
        if kind == "sweep":
            return SWEEP_EVENT
        if kind == "create":
            if self.nat():
                self.world.ec2.terminate_instances(InstanceIds=[self.nat()])
            self._release_all()
            self._set_workload(True)
            return state_change_event(self.workload, "pending")
        self._set_workload(True)
        self._converge()
        nat = self.nat()
        if kind == "in_vpc_noop":
            return state_change_event(self.workload, "running")
        if kind == "eip_attach":
            self._release_all()
            return state_change_event(nat, "running")
        if kind == "stop":
            self._set_workload(False)
            return state_change_event(self.workload, "stopped")
        self.world.ec2.stop_instances(InstanceIds=[nat])
        if kind == "start":
            self._release_all()
            return state_change_event(self.workload, "running")
        if kind == "release":
            self._set_workload(False)
            return state_change_event(nat, "stopped")
        raise ValueError(kind)

    def measure(self, kind, repeat):
        cpu, calls, verdicts = [], set(), set()
        for _ in range(repeat):
            event = self.arrange(kind)
            cpu_ms, call_count, summary = self.call(event)
            cpu.append(cpu_ms)
            calls.add(call_count)
            verdicts.update(z["verdict"] for z in summary["zones"])
        return statistics.median(cpu), max(calls), ",".join(sorted(verdicts)) or summary["trigger"]["resolved"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--noise", type=int, default=NOISE_INSTANCES, help="instances in the other AZ")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with moto_server() as endpoint:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
        )
        for size in sizes:
            bench = Bench(size, args.noise)
            bench.call(SWEEP_EVENT)  # warm the client, as a warm Lambda container would be
            for kind in KINDS:
                results[kind, size] = bench.measure(kind, args.repeat)
    print(
        f"Reconciler cost per event (AZ size = instances in the event's AZ; "
        f"+{args.noise} in another AZ of the VPC; median of {args.repeat})"
    )
    header = "| event kind | verdict | " + " | ".join(f"calls @{s} | CPU ms @{s}" for s in sizes) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(sizes)))
    for kind in KINDS:
        cells = []
        for size in sizes:
            cpu, calls, _ = results[kind, size]
            cells += [str(calls), f"{cpu:.1f}"]
        print(f"| {kind} | {results[kind, sizes[0]][2]} | " + " | ".join(cells) + " |")
    print("targets: out_of_vpc <= 1 call, in_vpc_noop <= 2 calls (reference Go implementation: 8 and 4)")
    print("task events: task_out_of_subnets 0 calls (the event names its subnet), task_noop/task_create as their")
    print("instance kinds less the by-ID read; a task leaving adds one DescribeNetworkInterfaces of its AZ;")
    print("a task that would start a NAT reads its tags (ListTagsForResource, and its service's when not ignored")
    print("by its own); an AZ kept by tasks alone finds them in ECS (ListClusters, ListTasks, DescribeTasks)")


if __name__ == "__main__":
    main()
