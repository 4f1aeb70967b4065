#!/usr/bin/env python3
"""The whole story on a local AWS emulator, in one command (`make demo`).

Starts a moto server on 127.0.0.1, creates a two-AZ demo VPC with a playbook,
deploys with the real playbooks/site.yml, then plays EventBridge and Lambda
with the relay while workloads come and go, tears down with
playbooks/teardown.yml and checks that nothing of the deployment is left.
Prints a timeline and per-AZ costs; exits 0 only if every step did what it
should. A JSON report goes to build/sandbox/report.json.
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
sys.path[:0] = [str(HERE), str(REPO)]

from emulator import moto_server  # noqa: E402
from inventory import deployment_resources, leftovers  # noqa: E402
from prices import per_az_costs  # noqa: E402
from relay import Relay  # noqa: E402

REGION = "us-east-1"
DEFAULT_WORK_DIR = REPO / "build" / "sandbox"


class Timeline:
    def __init__(self):
        self.rows: list[dict] = []
        self.failed = False

    def record(self, step: str, ok: bool, checks: list[str], zones: list[dict], aws_calls: int, seconds: float):
        self.rows.append(
            {
                "step": step,
                "ok": ok,
                "checks": checks,
                "zones": zones,
                "aws_calls": aws_calls,
                "seconds": round(seconds, 1),
            }
        )
        self.failed |= not ok
        mark = "ok " if ok else "FAIL"
        print(f"[{mark}] {step} ({seconds:.1f} s)")
        for check in checks:
            print(f"       {check}")

    def print_table(self):
        print("\nTimeline")
        print(f"{'step':<46} {'AZ':<11} {'NAT':<10} {'EIP':<16} {'AWS calls':>9}")
        for row in self.rows:
            zones = row["zones"] or [{"az": "-", "nat": "-", "eip": "-"}]
            for index, zone in enumerate(zones):
                step = row["step"][:45] if index == 0 else ""
                calls = str(row["aws_calls"]) if index == 0 else ""
                print(f"{step:<46} {zone['az']:<11} {zone['nat']:<10} {zone['eip'] or '-':<16} {calls:>9}")


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

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)

    # -- steps ---------------------------------------------------------------

    def playbook(self, playbook: str, *extra: str) -> bool:
        """Run ansible-playbook, showing each task as progress."""
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        }
        env.pop("AWS_PROFILE", None)
        command = [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{playbook}", *extra]
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("TASK ["):
                print(f"       . {line[6:].split(']')[0]}", flush=True)
        process.wait()
        if process.returncode != 0:
            print("".join(output[-40:]))
        (self.work_dir / f"{Path(playbook).stem}.log").write_text("".join(output))
        return process.returncode == 0

    def zones(self) -> list[dict]:
        """Per AZ: the NAT's state and the EIP on its public ENI."""
        rows = []
        for az in self.variables["nat_zero_availability_zones"]:
            filters = [
                {"Name": "tag:nat-zero:deployment", "Values": [self.name]},
                {"Name": "availability-zone", "Values": [az]},
                {
                    "Name": "instance-state-name",
                    "Values": ["pending", "running", "stopping", "stopped", "shutting-down"],
                },
            ]
            nats = [i for r in self.ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
            addresses = self.ec2.describe_addresses(
                Filters=[
                    {"Name": "tag:nat-zero:deployment", "Values": [self.name]},
                    {"Name": "tag:nat-zero:az", "Values": [az]},
                ]
            )["Addresses"]
            rows.append(
                {
                    "az": az,
                    "nat": ",".join(n["State"]["Name"] for n in nats) or "none",
                    "nat_count": len(nats),
                    "eip": ",".join(a["PublicIp"] for a in addresses),
                    "eip_count": len(addresses),
                    "eip_associated": all(a.get("AssociationId") for a in addresses),
                }
            )
        return rows

    def step(self, title: str, action: Callable[[], None], expect: Callable[[list[dict]], list[str]]) -> bool:
        """Run one step; `expect` returns failed checks (empty: all good)."""
        started = time.monotonic()
        calls_before = self._reconciler_calls()
        error = None
        try:
            action()
        except Exception as exc:  # a demo reports, it does not crash
            error = f"{type(exc).__name__}: {exc}"
        zones = self.zones() if self.variables else []
        problems = [error] if error else expect(zones)
        checks = problems or [f"{z['az']}: NAT {z['nat']}, EIP {z['eip'] or 'none'}" for z in zones]
        self.timeline.record(
            title, not problems, checks, zones, self._reconciler_calls() - calls_before, time.monotonic() - started
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
        if not self.playbook("site.yml", "-e", f"@{self.vars_file}"):
            raise RuntimeError(f"playbooks/site.yml failed (see {self.work_dir / 'site.log'})")
        (self.work_dir / "reconciler.log").write_text("")
        self.relay = Relay(self.endpoint, f"{self.name}-nat-zero", REGION, self.work_dir / "reconciler.log")
        # What the role's explicit reconcile call does in AWS: nothing to do yet.
        self.relay.sweep()

    def launch_workload(self, index: int) -> str:
        image = self.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = self.ec2.run_instances(
            ImageId=image,
            InstanceType="t4g.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=self.variables["nat_zero_private_subnets"][index],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"workload-{index}"}]}],
        )["Instances"][0]["InstanceId"]
        self.relay.pump()
        return instance

    def terminate(self, instance_id: str):
        self.ec2.terminate_instances(InstanceIds=[instance_id])
        self.relay.pump()

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


def run(name: str, work_dir: Path) -> int:
    timeline = Timeline()
    # Emulator credentials for everything in this process (the relay, the
    # reconciler); real ones are never needed and never read.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    with moto_server() as endpoint:
        print(f"Local AWS emulator (moto) on {endpoint}; nothing leaves this machine.\n")
        demo = Demo(endpoint, name, timeline, work_dir)
        steps_ok = demo.step("Create the demo VPC (playbooks/sandbox/vpc.yml)", demo.create_vpc, lambda z: [])
        steps_ok = steps_ok and demo.step(
            "Deploy with playbooks/site.yml", demo.deploy, expect_nats({0: "idle", 1: "idle"})
        )
        workloads = {}
        if steps_ok:
            az = demo.variables["nat_zero_availability_zones"]
            plan = [
                (
                    f"Launch a workload in {az[0]}",
                    lambda: workloads.__setitem__(0, demo.launch_workload(0)),
                    {0: "active", 1: "idle"},
                ),
                (
                    f"Launch a workload in {az[1]}",
                    lambda: workloads.__setitem__(1, demo.launch_workload(1)),
                    {0: "active", 1: "active"},
                ),
                (f"Terminate the workload in {az[0]}", lambda: demo.terminate(workloads[0]), {0: "idle", 1: "active"}),
                (f"Terminate the workload in {az[1]}", lambda: demo.terminate(workloads[1]), {0: "idle", 1: "idle"}),
            ]
            for title, action, wanted in plan:
                if not demo.step(title, action, expect_nats(wanted)):
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
    costs = per_az_costs()
    print("\nCost per AZ per month (us-east-1 list prices, before data transfer; playbooks/sandbox/prices.py)")
    print(
        f"  managed NAT Gateway        idle ${costs['nat_gateway']['idle']:6.2f}   active ${costs['nat_gateway']['active']:6.2f}"
    )
    print(
        f"  always-on NAT instance     idle ${costs['always_on_nat_instance']['idle']:6.2f}   active ${costs['always_on_nat_instance']['active']:6.2f}"
    )
    print(
        f"  natzero.aws                idle ${costs['nat_zero']['idle']:6.2f}   active ${costs['nat_zero_active_hour']:.4f}/hour + EBS"
    )
    report = {"ok": not timeline.failed and len(timeline.rows) == 7, "steps": timeline.rows, "costs": costs}
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "report.json").write_text(json.dumps(report, indent=2))
    print(
        f"\n{'All steps did what they should.' if report['ok'] else 'Some steps FAILED.'} Report: {work_dir / 'report.json'}"
    )
    return 0 if report["ok"] else 1


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
