#!/usr/bin/env python3
"""The whole story on a local AWS emulator, in one command (`make demo`).

Starts a moto server on 127.0.0.1, creates a two-AZ demo VPC with a playbook,
deploys with the real playbooks/site.yml, then plays EventBridge and Lambda
with the relay while workloads come and go, tears down with
playbooks/teardown.yml and checks that nothing of the deployment is left.
Prints a timeline and per-AZ costs; exits 0 only if every step did what it
should. A JSON report goes to build/sandbox/report.json, a picture of the
timeline (workloads, NAT state and EIP per AZ) to build/sandbox/timeline.svg.
The deployment fails over across AZs (nat_zero_failover: cross_az), and one
scene crashes a NAT by hand: the health run finds it, moves its AZ's route to
the other AZ's NAT, replaces it on the same ENIs and puts the route back.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import boto3

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO), str(REPO / "lambda_src")]

import timeline_svg  # noqa: E402
from ecs_tasks import Task, answer_reconciler_ecs_reads, new_task  # noqa: E402
from emulator import SANDBOX_REGION, moto_server, sandbox_environment  # noqa: E402
from inventory import deployment_resources, leftovers, resource_names, zone_status  # noqa: E402
from nat_guard import EmulatedGuard  # noqa: E402
from prices import per_az_costs  # noqa: E402
from relay import Relay, decision_lines  # noqa: E402
from workload import launch  # noqa: E402

from nat_zero.decision import REPLACEMENT_BACKOFF_S, STALE_REPORT_S  # noqa: E402

REGION = SANDBOX_REGION
DEFAULT_WORK_DIR = REPO / "build" / "sandbox"
# The user's environment as it was, before run() replaces it with the sandbox's.
ORIGINAL_ENVIRONMENT = dict(os.environ)
# Addresses moto makes up; marked in the output so nobody takes them for AWS's.
EMULATED = " (emulated)"
# What the 1-minute health rule sends the reconciler.
HEALTH_EVENT = {"action": "health"}
DEFAULT_ROUTE = "0.0.0.0/0"


class Timeline:
    def __init__(self):
        self.rows: list[dict] = []
        self.failed = False

    @staticmethod
    def announce(step: str):
        print(f"\n==> {step}", flush=True)

    def record(
        self,
        step: str,
        ok: bool,
        checks: list[str],
        zones: list[dict],
        aws_calls: int,
        seconds: float,
        fault: str | None = None,
    ):
        self.rows.append(
            {
                "step": step,
                "ok": ok,
                "checks": checks,
                "zones": zones,
                "reconciler_aws_calls": aws_calls,
                "seconds": round(seconds, 1),
                **({"fault": fault} if fault else {}),
            }
        )
        self.failed |= not ok
        mark = "ok " if ok else "FAIL"
        print(f"[{mark}] {step} ({seconds:.1f} s)")
        for check in checks:
            print(f"       {check}")

    def print_table(self):
        width = max([len(row["step"]) for row in self.rows] + [4])
        print("\nTimeline (EIPs marked * are addresses the emulator made up)")
        print(f"{'step':<{width}}  {'AZ':<11} {'NAT':<28} {'EIP':<17} {'reconciler AWS calls':>20}")
        for row in self.rows:
            zones = row["zones"] or [{"az": "-", "nat": "-", "nat_ids": [], "eip": ""}]
            for index, zone in enumerate(zones):
                step = row["step"] if index == 0 else ""
                calls = str(row["reconciler_aws_calls"]) if index == 0 else ""
                nat = zone["nat"] + (f" {zone['nat_ids'][0]}" if len(zone["nat_ids"]) == 1 else "")
                eip = f"{zone['eip']}*" if zone["eip"] else "-"
                print(f"{step:<{width}}  {zone['az']:<11} {nat:<28} {eip:<17} {calls:>20}")


class Demo:
    def __init__(self, endpoint: str, name: str, timeline: Timeline, work_dir: Path):
        self.endpoint = endpoint
        self.work_dir = work_dir
        self.name = name
        self.timeline = timeline
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.ec2 = self.client("ec2")
        self.vars_file = work_dir / f"{name}-vars.yml"
        self.variables: dict = {}
        self.relay: Relay | None = None
        self.guard: EmulatedGuard | None = None
        # Per AZ, the deployed reconciler's NAT_ZERO_ZONES entry (ENIs, route tables).
        self.zone_config: dict[str, dict] = {}
        self.logs: list[Path] = []
        self.workloads: dict[int, str] = {}
        self.task: Task | None = None

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)

    # -- steps ---------------------------------------------------------------

    def playbook(self, playbook: str, *extra: str) -> bool:
        """Run ansible-playbook, showing each task that ran (skipped ones hidden) as progress."""
        env = {
            **sandbox_environment(self.endpoint),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        }
        command = [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{playbook}", *extra]
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output, task = [], None
        for line in process.stdout:
            output.append(line)
            if line.startswith("TASK ["):
                # "TASK [natzero.aws.nat_zero : Reconciler function] ***": the task's own name.
                task = line[6:].split("]")[0].split(" : ")[-1]
            elif task and line.startswith(("ok:", "changed:", "fatal:", "failed:")):
                print(f"       . {task}: {line.split(':')[0]}", flush=True)
                task = None
            elif line.startswith("skipping:"):
                task = None
        process.wait()
        log = self.work_dir / f"{Path(playbook).stem}.log"
        log.write_text("".join(output))
        self.logs.append(log)
        if process.returncode != 0:
            print("".join(output[-40:]))
        return process.returncode == 0

    def zones(self) -> list[dict]:
        """Per AZ: the NAT (state, ID), the EIP on its public ENI, the demo's
        workloads up and, once deployed, the ENIs and where the route goes."""
        workloads = self.workloads_up_by_az()
        zones = zone_status(self.ec2, self.name, self.variables["nat_zero_availability_zones"])
        return [dict(zone, workloads=workloads.get(zone["az"], 0), **self.paths(zone)) for zone in zones]

    def paths(self, zone: dict) -> dict:
        """The AZ's private ENI, the ENIs its NATs are attached to and the ENI
        its private route tables' default route targets ("" when none)."""
        config = self.zone_config.get(zone["az"])
        if not config:
            return {}
        tables = self.ec2.describe_route_tables(RouteTableIds=config["route_table_ids"])["RouteTables"]
        targets = {
            route.get("NetworkInterfaceId", "")
            for table in tables
            for route in table["Routes"]
            if route.get("DestinationCidrBlock") == DEFAULT_ROUTE
        }
        nat_enis = []
        if zone["nat_ids"]:
            reservations = self.ec2.describe_instances(InstanceIds=zone["nat_ids"])["Reservations"]
            nat_enis = sorted(
                e["NetworkInterfaceId"] for r in reservations for i in r["Instances"] for e in i["NetworkInterfaces"]
            )
        return {
            "private_eni": config["private_eni_id"],
            "route_target": ",".join(sorted(targets)),
            "nat_enis": nat_enis,
        }

    def workloads_up_by_az(self) -> dict[str, int]:
        if not self.workloads:
            return {}
        reservations = self.ec2.describe_instances(InstanceIds=list(self.workloads.values()))["Reservations"]
        up = [i for r in reservations for i in r["Instances"] if i["State"]["Name"] in ("pending", "running")]
        return {
            az: sum(1 for i in up if i["Placement"]["AvailabilityZone"] == az)
            for az in {i["Placement"]["AvailabilityZone"] for i in up}
        }

    def step(
        self,
        title: str,
        action: Callable[[], None],
        expect: Callable[[list[dict]], list[str]],
        fault: str | None = None,
    ) -> bool:
        """Run one step; `expect` returns failed checks (empty: all good).
        `fault`: what a human broke in this step (marked in the picture)."""
        self.timeline.announce(title)
        started = time.monotonic()
        calls_before = self._reconciler_calls()
        error = None
        try:
            action()
        except Exception as exc:  # a demo reports, it does not crash
            error = f"{type(exc).__name__}: {exc}"
        zones = self.zones() if self.variables else []
        problems = [error] if error else expect(zones)
        checks = problems or [describe_zone(z, zones) for z in zones]
        self.timeline.record(
            title,
            not problems,
            checks,
            zones,
            self._reconciler_calls() - calls_before,
            time.monotonic() - started,
            fault,
        )
        return not problems

    def _reconciler_calls(self) -> int:
        if not self.relay:
            return 0
        return sum(
            d["summary"].get("aws_calls", {}).get("reads", 0) + d["summary"].get("aws_calls", {}).get("writes", 0)
            for d in self.relay.delivered
        )

    def create_vpc(self):
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.vars_file.unlink(missing_ok=True)
        if not self.playbook(
            "sandbox/vpc.yml", "-e", f"sandbox_name={self.name}", "-e", f"sandbox_vars_file={self.vars_file}"
        ):
            raise RuntimeError("playbooks/sandbox/vpc.yml failed")
        import yaml

        self.variables = yaml.safe_load(self.vars_file.read_text())

    def deploy(self):
        # ECS tasks count too (the Fargate task scene): the task rule and its
        # read. Cross-AZ failover for the crashed-NAT scene.
        options = json.dumps({"nat_zero_workload_sources": ["ec2", "ecs"], "nat_zero_failover": "cross_az"})
        if not self.playbook("site.yml", "-e", f"@{self.vars_file}", "-e", options):
            raise RuntimeError(f"playbooks/site.yml failed (see {self.work_dir / 'site.log'})")
        reconciler_log = self.work_dir / "reconciler.log"
        reconciler_log.write_text("")
        self.logs.append(reconciler_log)
        self.relay = Relay(self.endpoint, f"{self.name}-nat-zero", REGION, reconciler_log)
        # The relay put the deployed function's environment into ours.
        self.zone_config = json.loads(os.environ["NAT_ZERO_ZONES"])
        self.guard = EmulatedGuard(self.ec2, self.name, self.relay.now)
        self.relay.before_invoke = self.guard.report
        answer_reconciler_ecs_reads(
            sys.modules[self.relay.handler.__module__], lambda: [self.task] if self.task else []
        )
        # What the role's explicit reconcile call does in AWS: nothing to do yet.
        self.relay.sweep()

    def launch_workload(self, index: int):
        self.workloads[index] = launch(self.ec2, self.variables, index)
        print(f"       workload {self.workloads[index]} launched", flush=True)
        self.relay.pump()

    def workload_action(self, index: int, action: str):
        """stop, start or terminate the workload of AZ index, then let the reconciler react."""
        getattr(self.ec2, f"{action}_instances")(InstanceIds=[self.workloads[index]])
        print(f"       workload {self.workloads[index]}: {action}", flush=True)
        self.relay.pump()

    def run_task(self, index: int):
        """A Fargate task in the AZ's private subnet, modelled (moto cannot run
        one): ECS's PROVISIONING event, then its ENI, then RUNNING, delivered as
        the task rule would (playbooks/sandbox/ecs_tasks.py)."""
        az = self.variables["nat_zero_availability_zones"][index]
        self.task = new_task(self.ec2, az, self.variables["nat_zero_private_subnets"][index])
        print(f"       task {self.task.task_id[:12]} PROVISIONING in {az}", flush=True)
        self.relay.invoke(self.task.event())
        self.task.provision()
        print(f"       task ENI {self.task.eni_id} created; task RUNNING", flush=True)
        self.relay.invoke(self.task.run())
        self.relay.pump()

    def stop_task(self):
        self.task.stop()
        self.task.deprovision()
        print(f"       task {self.task.task_id[:12]} STOPPED, its ENI deleted", flush=True)
        self.relay.invoke(self.task.event())
        self.relay.pump()

    def health_period_s(self) -> int:
        """Seconds between health runs: the deployed health rule's rate(N minute[s])."""
        rule = self.client("events").describe_rule(Name=resource_names(self.name)["health_rule"])
        count, unit = rule["ScheduleExpression"].removeprefix("rate(").removesuffix(")").split()
        return int(count) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}[unit]

    def health_run(self) -> None:
        """What the 1-minute health rule does: one health event, its decisions printed."""
        for line in decision_lines(self.relay.invoke(HEALTH_EVENT)):
            print(f"       health run: {line}", flush=True)

    def let_nats_run(self, seconds: int) -> None:
        self.relay.skip_time(seconds)
        print(f"       emulated: {seconds} s pass for the reconciler (the sandbox does not wait)", flush=True)
        self.health_run()

    def crash_nat(self, index: int) -> None:
        """A human crashes the AZ's NAT; a health run comes after the heartbeat went stale."""
        nat_id = self.zones()[index]["nat_ids"][0]
        print(f"       on {nat_id} (SSM session): sudo sh -c 'echo c > /proc/sysrq-trigger'", flush=True)
        print("       emulated: the kernel stops, EC2 still says running, its guard's heartbeat stops", flush=True)
        self.guard.hang(nat_id)
        # The latest health run to find it: its report just past stale, plus one period.
        self.let_nats_run(STALE_REPORT_S + self.health_period_s())

    def deliver_events(self) -> None:
        """The relay delivers EC2's state changes until nothing changes, each decision printed."""
        for summary in self.relay.pump():
            for line in decision_lines(summary):
                print(f"       {line}", flush=True)

    def teardown(self):
        if not self.playbook("teardown.yml", "-e", f"@{self.vars_file}"):
            raise RuntimeError(f"playbooks/teardown.yml failed (see {self.work_dir / 'teardown.log'})")


def expect_nats(wanted: dict[int, str]):
    """wanted: AZ index -> "active" (one running NAT with an associated EIP) or
    "idle" (NAT stopped or absent, no EIP)."""

    def check(zones: list[dict]) -> list[str]:
        problems = []
        for index, zone in enumerate(zones):
            state = wanted.get(index)
            if state == "active" and not (
                zone["nat"] == "running" and zone["eip_count"] == 1 and zone["eip_associated"]
            ):
                problems.append(
                    f"{zone['az']}: expected one running NAT with its EIP, found NAT {zone['nat']}, EIP {zone['eip'] or 'none'}"
                )
            if state == "idle" and not (zone["nat"] in ("stopped", "none") and zone["eip_count"] == 0):
                problems.append(
                    f"{zone['az']}: expected NAT stopped or absent and no EIP, found NAT {zone['nat']}, EIP {zone['eip'] or 'none'}"
                )
        return problems

    return check


def describe_zone(zone: dict, zones: list[dict]) -> str:
    nats = ", ".join(zone["nat_ids"])
    eip = f"{zone['eip']}{EMULATED}" if zone["eip"] else "none"
    return f"{zone['az']}: NAT {zone['nat']}{f' ({nats})' if nats else ''}, EIP {eip}{describe_route(zone, zones)}"


def describe_route(zone: dict, zones: list[dict]) -> str:
    """ ", route via eni-... (private ENI of <AZ>)", or "" before the deployment exists."""
    target = zone.get("route_target")
    if target is None:
        return ""
    owner = next((z["az"] for z in zones if z.get("private_eni") == target), "no NAT of this deployment")
    return f", route via {target or 'none'} (private ENI of {owner})"


def restarted_nat(wanted: dict[int, str], index: int, stopped: dict[str, list[str]]):
    """expect_nats, and AZ index's NAT is the one stopped before (`stopped["ids"]`),
    started again: the fast path, not a new launch."""
    expected = expect_nats(wanted)

    def check(zones: list[dict]) -> list[str]:
        problems = expected(zones)
        if not problems and zones[index]["nat_ids"] != stopped["ids"]:
            problems.append(
                f"{zones[index]['az']}: expected the stopped NAT {stopped['ids']} started again, "
                f"found {zones[index]['nat_ids']}"
            )
        return problems

    return check


def remembering_nat(wanted: dict[int, str], index: int, stopped: dict[str, list[str]]):
    """expect_nats, and remember AZ index's (stopped) NAT for restarted_nat."""
    expected = expect_nats(wanted)

    def check(zones: list[dict]) -> list[str]:
        stopped["ids"] = zones[index]["nat_ids"]
        return expected(zones)

    return check


def routes_via(owners: dict[int, int]):
    """owners: AZ index -> the AZ index whose private ENI its default route targets."""

    def check(zones: list[dict]) -> list[str]:
        problems = []
        for index, owner in owners.items():
            zone, wanted = zones[index], zones[owner]["private_eni"]
            if zone["route_target"] != wanted:
                problems.append(
                    f"{zone['az']}: expected its route via {wanted} (private ENI of {zones[owner]['az']}), "
                    f"found {zone['route_target'] or 'none'}"
                )
        return problems

    return check


def all_of(*checks: Callable[[list[dict]], list[str]]):
    return lambda zones: [problem for check in checks for problem in check(zones)]


def remembering_zone(index: int, memory: dict, expected: Callable[[list[dict]], list[str]]):
    """expected, and remember AZ index's zone as it was (memory["zone"])."""

    def check(zones: list[dict]) -> list[str]:
        memory["zone"] = zones[index]
        return expected(zones)

    return check


def crashed_nat_gone(index: int, memory: dict):
    """The NAT remembered for AZ index no longer runs (it is being replaced)."""

    def check(zones: list[dict]) -> list[str]:
        crashed = memory["zone"]["nat_ids"]
        if zones[index]["nat_ids"] == crashed and zones[index]["nat"] == "running":
            return [f"{zones[index]['az']}: the crashed NAT {crashed} still runs"]
        return []

    return check


def replaced_nat(index: int, memory: dict):
    """AZ index runs a new NAT on the crashed one's ENIs, with its EIP."""

    def check(zones: list[dict]) -> list[str]:
        before, zone = memory["zone"], zones[index]
        problems = []
        if zone["nat_ids"] == before["nat_ids"]:
            problems.append(f"{zone['az']}: expected a new NAT, found the crashed {before['nat_ids']}")
        if zone["nat_enis"] != before["nat_enis"]:
            problems.append(f"{zone['az']}: expected the NAT on ENIs {before['nat_enis']}, found {zone['nat_enis']}")
        if zone["eip"] != before["eip"]:
            problems.append(f"{zone['az']}: expected EIP {before['eip']} carried over, found {zone['eip'] or 'none'}")
        return problems

    return check


def failure_steps(demo: Demo) -> list[tuple]:
    """A NAT crashed by hand: detected by its stale heartbeat, traffic moved
    to the other AZ's NAT, the NAT replaced on the same ENIs (same EIP), the
    route restored by the next health run (routes are read by health runs
    and sweeps, not on state changes). The NATs have run past
    REPLACEMENT_BACKOFF_S first: a NAT that fails younger than that is not
    replaced but backed off."""
    a, b = demo.variables["nat_zero_availability_zones"][:2]
    crashed: dict = {}
    uptime = REPLACEMENT_BACKOFF_S + demo.health_period_s()
    both = expect_nats({0: "active", 1: "active"})
    return [
        (
            f"Both NATs run {uptime // 60} minutes, their guards report forwarding: the health run finds them healthy",
            lambda: demo.let_nats_run(uptime),
            remembering_zone(0, crashed, all_of(both, routes_via({0: 0, 1: 1}))),
            None,
        ),
        (
            f"Crash the NAT in {a} by hand: the health run finds its heartbeat stale, "
            f"moves {a}'s route to {b}'s NAT and terminates it",
            lambda: demo.crash_nat(0),
            all_of(crashed_nat_gone(0, crashed), routes_via({0: 1, 1: 1})),
            f"NAT in {a} crashed by hand",
        ),
        (
            f"EC2 reports it terminated: a new NAT in {a} on the same ENIs and EIP",
            demo.deliver_events,
            all_of(both, replaced_nat(0, crashed), routes_via({0: 1, 1: 1})),
            None,
        ),
        (
            f"The next health run finds the new NAT forwarding: {a}'s route restored",
            lambda: demo.let_nats_run(demo.health_period_s()),
            all_of(both, replaced_nat(0, crashed), routes_via({0: 0, 1: 1})),
            None,
        ),
    ]


def workload_steps(demo: Demo) -> list[tuple]:
    """Workloads come and go: a cold NAT launch in each AZ, the failure scene
    while both run, a stopped NAT restarted when its AZ's workload starts
    again, everything idle at the end. Each: (title, action, expect, fault)."""
    a, b = demo.variables["nat_zero_availability_zones"][:2]
    stopped: dict[str, list[str]] = {"ids": []}
    both_up = [
        (
            f"Launch a workload in {a}: its NAT is launched",
            lambda: demo.launch_workload(0),
            expect_nats({0: "active", 1: "idle"}),
        ),
        (
            f"Launch a workload in {b}: its NAT is launched",
            lambda: demo.launch_workload(1),
            expect_nats({0: "active", 1: "active"}),
        ),
    ]
    after = [
        (
            f"Stop the workload in {a}: its NAT stops, its EIP is released",
            lambda: demo.workload_action(0, "stop"),
            remembering_nat({0: "idle", 1: "active"}, 0, stopped),
        ),
        (
            f"Start the workload in {a} again: the same NAT restarts",
            lambda: demo.workload_action(0, "start"),
            restarted_nat({0: "active", 1: "active"}, 0, stopped),
        ),
        (
            f"Terminate the workload in {a}",
            lambda: demo.workload_action(0, "terminate"),
            expect_nats({0: "idle", 1: "active"}),
        ),
        (
            f"Terminate the workload in {b}",
            lambda: demo.workload_action(1, "terminate"),
            expect_nats({0: "idle", 1: "idle"}),
        ),
        (
            f"Run a Fargate task in {a}: its NAT starts before the image pull",
            lambda: demo.run_task(0),
            expect_nats({0: "active", 1: "idle"}),
        ),
        (
            f"Stop the Fargate task in {a}: its NAT stops",
            demo.stop_task,
            expect_nats({0: "idle", 1: "idle"}),
        ),
    ]
    return both_up + failure_steps(demo) + after


# Create, deploy, the workload steps with the failure scene, teardown.
STEP_COUNT = 2 + 12 + 1


def run(name: str, work_dir: Path) -> int:
    timeline = Timeline()
    # A report of an earlier, interrupted run must not pass for this one's.
    (work_dir / "report.json").unlink(missing_ok=True)
    (work_dir / "timeline.svg").unlink(missing_ok=True)
    with moto_server() as endpoint:
        # The relay and the reconciler run in this process: the same scrubbed
        # environment as every child (no user profile, region or endpoint).
        os.environ.clear()
        os.environ.update(sandbox_environment(endpoint, base=ORIGINAL_ENVIRONMENT))
        print(f"Local AWS emulator (moto) on {endpoint}; nothing leaves this machine.")
        demo = Demo(endpoint, name, timeline, work_dir)
        steps_ok = demo.step("Create the demo VPC (playbooks/sandbox/vpc.yml)", demo.create_vpc, lambda z: [])
        steps_ok = steps_ok and demo.step(
            "Deploy with playbooks/site.yml", demo.deploy, expect_nats({0: "idle", 1: "idle"})
        )
        if steps_ok:
            for step in workload_steps(demo):
                if not demo.step(*step):
                    break
        demo.step(
            "Tear down with playbooks/teardown.yml",
            demo.teardown,
            lambda zones: [
                f"left behind: {kind} {ids}"
                for kind, ids in leftovers(
                    deployment_resources(demo.client, name, demo.variables.get("nat_zero_vpc_id", "vpc-none"))
                ).items()
            ],
        )
    timeline.print_table()
    print_costs(per_az_costs())
    report = {
        "ok": not timeline.failed and len(timeline.rows) == STEP_COUNT,
        "steps": timeline.rows,
        "costs": per_az_costs(),
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "report.json").write_text(json.dumps(report, indent=2))
    (work_dir / "timeline.svg").write_text(timeline_svg.render(timeline.rows))
    print("\nFiles")
    for path in [*demo.logs, demo.vars_file, work_dir / "report.json", work_dir / "timeline.svg"]:
        print(f"  {path}")
    print(f"\n{'All steps did what they should.' if report['ok'] else 'Some steps FAILED.'}")
    return 0 if report["ok"] else 1


def print_costs(costs: dict) -> None:
    print("\nCost per AZ per month (us-east-1 list prices, before data transfer; playbooks/sandbox/prices.py)")
    nat_gateway, always_on = costs["nat_gateway"], costs["always_on_nat_instance"]
    print(f"  managed NAT Gateway        idle ${nat_gateway['idle']:6.2f}   active ${nat_gateway['active']:6.2f}")
    print(f"  always-on NAT instance     idle ${always_on['idle']:6.2f}   active ${always_on['active']:6.2f}")
    print(
        f"  natzero.aws                idle ${costs['nat_zero']['idle']:6.2f}   "
        f"active ${costs['nat_zero_active_hour']:.4f}/hour + EBS"
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="demo", help="deployment name")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="logs, vars file and report.json")
    args = parser.parse_args()
    # Ctrl-C or a TERM still stops the emulator (the `with` block's finally).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args.name, args.work_dir.resolve())
    except KeyboardInterrupt:
        print("\ninterrupted; emulator stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
