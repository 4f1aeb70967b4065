"""One seeded, randomized run of the reconciler against a simulated account.

    result = run_seed(42)

A seed fixes everything: the AZs, the fault rates, what the tenants do and
when, every delay, loss and crash, and moto's resource IDs. The run has three
phases: chaos (tenants act, faults fire, the sweep runs every five minutes),
calm (the tenants stop, faults stop, in-flight events and transitions play
out) and one final sweep, after which every AZ must have converged.

The reconciler is the real handler, called in-process under moto's mock_aws,
one invocation at a time, on its own (hooked) client; see ec2_model.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import random
import time
import types
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import boto3
import botocore.endpoint
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.moto_api._internal import mock_random

from nat_zero import act as nat_zero_act
from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.simulation.clock import Clock
from tests.simulation.delivery import EventDelivery, Invocation
from tests.simulation.ec2_model import SimulatedCrash, SimulatedEc2, simulated_time
from tests.simulation.faults import FaultPlan
from tests.simulation.fleet import FOREIGN, NEIGHBOUR_NAT, UNMANAGED_AZ, Delays, Fleet
from tests.simulation.invariants import Invariants, MotoView, foreign_intact
from tests.simulation.scenario import GameDay, Tenants
from tests.simulation.tasks import SimulatedTasks
from tests.support.ecs_tasks import ecs_api
from tests.support.world import AMI, AZS, NAT_TAG, REGION, build_world

MAX_STEPS = 3000  # per phase; a run that does not calm down within them fails
# One session for every seed's own client: it loads EC2's service model once.
_SESSION = boto3.session.Session()
REPLAY = "NAT_ZERO_SIM_SEED={seed} .venv/bin/python -m pytest tests/simulation -k replay -s"


@dataclass
class SeedResult:
    seed: int
    azs: int = 0
    plan: str = ""
    steps: int = 0
    invocations: int = 0
    simulated_seconds: float = 0.0
    wall_seconds: float = 0.0
    checks: int = 0
    faults: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.leaks

    def report(self, trace_lines: int = 60) -> str:
        lines = [
            f"seed {self.seed}: {len(self.violations)} violation(s), {len(self.leaks)} leak(s) "
            f"({self.azs} AZs, faults: {self.plan or 'none'})"
        ]
        lines += [f"  violation: {v}" for v in self.violations[:10]]
        lines += [f"  leak: {leak}" for leak in self.leaks[:10]]
        lines.append(f"  replay: {REPLAY.format(seed=self.seed)}")
        if trace_lines:
            lines.append(f"  last {trace_lines} steps of the trace:")
            lines += [f"    {line}" for line in self.trace[-trace_lines:]]
        return "\n".join(lines)


def run_seed(seed: int) -> SeedResult:
    started = time.perf_counter()
    result = SeedResult(seed)
    with sandbox(seed):
        Simulation(seed, result).run()
    result.wall_seconds = time.perf_counter() - started
    return result


def run_seeds(seeds: Iterable[int], workers: int = 1) -> list[SeedResult]:
    """Run seeds in this process, or spread over `workers` forked processes
    (each seed builds its own moto world, so they share nothing)."""
    seeds = list(seeds)
    if workers <= 1 or len(seeds) <= 1:
        return [run_seed(seed) for seed in seeds]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_run_in_worker, seeds, chunksize=1)


def _run_in_worker(seed: int) -> SeedResult:
    result = run_seed(seed)
    if result.ok:
        result.trace = []  # nobody reads it; spare the pipe
    return result


@contextlib.contextmanager
def sandbox(seed: int):
    """mock_aws, credentials, seeded randomness (moto's IDs, botocore's retry
    jitter), all restored afterwards."""
    saved_env = dict(os.environ)
    saved_random = random.getstate()
    saved_time = botocore.endpoint.time
    saved_now = nat_zero_handler.now
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    # Moto would load thousands of public AMIs into every fresh backend; the
    # simulation launches from one ID, which moto does not check.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    random.seed(seed)
    nat_zero_aws._clients.clear()
    nat_zero_aws._ecs_clients.clear()
    try:
        with mock_aws():
            # A fresh backend draws IDs for its defaults (default VPC...), and
            # whether mock_aws made it already depends on earlier runs: make
            # it now, then seed, so the IDs of a seed are always the same.
            _ = ec2_backends[DEFAULT_ACCOUNT_ID][REGION]
            mock_random.seed(seed)
            yield
    finally:
        nat_zero_aws._clients.clear()
        nat_zero_aws._ecs_clients.clear()
        botocore.endpoint.time = saved_time
        nat_zero_handler.now = saved_now
        random.setstate(saved_random)
        os.environ.clear()
        os.environ.update(saved_env)


class Simulation:
    def __init__(self, seed: int, result: SeedResult):
        self.rng = random.Random(seed)
        self.result = result
        self.faults = result.faults
        self.clock = Clock()
        self.plan = FaultPlan(self.rng)
        result.plan = self.plan.describe()

    def trace(self, text: str) -> None:
        self.result.trace.append(f"{self.clock.now:8.2f}s {text}")

    # -- setting up --------------------------------------------------------------------

    def run(self) -> None:
        raw = _SESSION.client("ec2", region_name=REGION)
        azs = AZS[: self.rng.choice((2, 3))]
        self.result.azs = len(azs)
        self.world = build_world("sim", azs=azs, ec2=raw)
        os.environ.update(self.world.env())
        self.route_tables = self._route_tables(raw)
        subnets = self._others(raw, azs)
        self.view = MotoView()
        self.fleet = Fleet(self.clock, raw, Delays(self.rng, self.plan.rate("slow_shutdown"), self.faults))
        self.invariants = Invariants(self.world, self.fleet, self.view, self.clock, self.route_tables)
        self.delivery = EventDelivery(self.clock, self.rng, self.plan, self.faults, self.trace)
        self.fleet.listeners.append(self.delivery.state_changed)
        client = nat_zero_aws.ec2_client(load_config(), nat_zero_handler._counter)
        self.ec2 = SimulatedEc2(client, raw, self.fleet, self.clock, self.rng, self.plan, self.faults, self.invariants)
        botocore.endpoint.time = types.SimpleNamespace(sleep=self.clock.advance)  # retry backoff
        nat_zero_act.time = types.SimpleNamespace(sleep=self.clock.advance)  # settling pauses
        nat_zero_handler.now = lambda: simulated_time(self.clock.now)  # a NAT's age, a report's age
        self.tenants = Tenants(
            self.clock,
            self.rng,
            self.fleet,
            raw,
            self.world,
            subnets,
            self.plan,
            self.faults,
            self.trace,
            self._change_config,
            GameDay(self.rng, self.fleet, raw, self.world, self.route_tables, self.ec2, self.faults, self.trace),
        )
        self.clock.after_each = lambda label: self.invariants.step()
        self._tasks(random.Random(f"ecs-tasks-{self.result.seed}"))
        self._neighbour(raw, azs[0])
        self.foreign_eips = self._foreign_eips(raw, azs[0])
        self._play()
        self.result.checks = self.invariants.checks
        self.result.violations = self.invariants.violations
        self.result.simulated_seconds = self.clock.now
        self.faults["eni_in_use"] += self.ec2.eni_conflicts

    def _route_tables(self, raw) -> dict[str, str]:
        """Each AZ's private route table, 0.0.0.0/0 -> its private ENI, in the
        reconciler's environment as the role writes it."""
        tables = {}
        zones = json.loads(os.environ["NAT_ZERO_ZONES"])
        for az, zone in self.world.zones.items():
            table = raw.create_route_table(VpcId=self.world.vpc_id)["RouteTable"]["RouteTableId"]
            raw.create_route(
                RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=zone.private_eni_id
            )
            zones[az]["route_table_ids"] = [table]
            tables[az] = table
        os.environ["NAT_ZERO_ZONES"] = json.dumps(zones, sort_keys=True)
        return tables

    def _tasks(self, rng: random.Random) -> None:
        """Half the seeds have ECS tasks join the fleet. Their own generator
        leaves the draws of seeds without tasks as they were."""
        if rng.random() >= 0.5:
            return
        os.environ["NAT_ZERO_WORKLOAD_SOURCES"] = "ec2,ecs"
        self.faults["ecs_tasks"] += 1
        # ECS answers the reconciler's reads about the tasks (moto knows none).
        ecs_api(self.world).install(nat_zero_aws.ecs_client(load_config(), nat_zero_handler._counter))
        tasks = SimulatedTasks(self.clock, rng, self.world, self.delivery, self.trace)
        self.tenants.tasks = self.invariants.tasks = tasks

    def _others(self, raw, azs) -> dict[str, tuple]:
        """Subnets for the instances that must never count: one in an AZ the
        deployment does not manage (when it manages only two), one in another VPC."""
        subnets = {}
        if len(azs) < len(AZS):
            subnet = raw.create_subnet(VpcId=self.world.vpc_id, CidrBlock="10.0.200.0/24", AvailabilityZone=AZS[-1])
            subnets[UNMANAGED_AZ] = (AZS[-1], subnet["Subnet"]["SubnetId"])
        self.other_vpc = raw.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnet = raw.create_subnet(VpcId=self.other_vpc, CidrBlock="10.1.0.0/24", AvailabilityZone=azs[0])
        subnets[FOREIGN] = (azs[0], subnet["Subnet"]["SubnetId"])
        return subnets

    def _neighbour(self, raw, az: str) -> None:
        """Another deployment's NAT in the same VPC: never ours to touch."""
        tags = [{"Key": NAT_TAG[0], "Value": NAT_TAG[1]}, {"Key": "nat-zero:deployment", "Value": "neighbour"}]
        response = raw.run_instances(
            ImageId=AMI,
            InstanceType="t4g.nano",
            MinCount=1,
            MaxCount=1,
            SubnetId=self.world.zones[az].public_subnet_id,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        self.neighbour_nat = response["Instances"][0]["InstanceId"]
        self.fleet.launched(self.neighbour_nat, NEIGHBOUR_NAT, az)

    def _foreign_eips(self, raw, az: str) -> dict[str, str | None]:
        """EIPs that are not ours (allocation -> ENI): another deployment's in
        this VPC (one on its NAT, one free), another VPC's, an untagged one."""

        def allocate(deployment: str | None, vpc_id: str) -> str:
            spec = {}
            if deployment:
                tags = {
                    NAT_TAG[0]: NAT_TAG[1],
                    "nat-zero:deployment": deployment,
                    "nat-zero:vpc": vpc_id,
                    "nat-zero:az": az,
                }
                spec = {
                    "TagSpecifications": [
                        {"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                    ]
                }
            return raw.allocate_address(Domain="vpc", **spec)["AllocationId"]

        on_neighbour = allocate("neighbour", self.world.vpc_id)
        raw.associate_address(AllocationId=on_neighbour, InstanceId=self.neighbour_nat)
        allocate("neighbour", self.world.vpc_id)
        allocate(self.world.name, self.other_vpc)  # a namesake deployment in another VPC
        allocate(None, "")
        return {a.allocation_id: a.eni_id for a in self.view.addresses()}

    def _change_config(self) -> None:
        # The role was updated: new launch template version, new function environment.
        self.world.config_version = "v2"
        os.environ["NAT_ZERO_CONFIG_VERSION"] = "v2"
        self.trace("role updated: configuration v2")

    # -- playing -------------------------------------------------------------------------

    def _play(self) -> None:
        chaos = self.rng.uniform(90, 240)
        self.tenants.begin(until=chaos)
        self.delivery.schedule_sweeps(first=self.rng.uniform(30, 150))
        self._run(until=chaos)

        self.trace("--- calm: tenants and faults stop, in-flight events and transitions play out")
        self.tenants.stop_acting()
        self.delivery.sweeping = False
        self.plan.calm()
        self.ec2.stale_states.clear()
        self.ec2.hidden.clear()
        self.ec2.throttles.clear()
        self._run(until=None)

        self.trace("--- one sweep")
        self.delivery.sweep()
        self._run(until=None)
        self.result.leaks = self.invariants.converged()
        moved = foreign_intact(self.view, self.foreign_eips)
        self.invariants.check(not moved, f"EIPs of others released or moved: {moved}")

    def _run(self, until: float | None) -> None:
        for _ in range(MAX_STEPS):
            invocation = self.delivery.take()
            if invocation is not None:
                self._invoke(invocation)
            else:
                when = self.clock.next_time()
                if when is None or (until is not None and when > until):
                    return
                self.clock.run_next()
            self.result.steps += 1
        self.invariants.check(False, f"no calm after {MAX_STEPS} steps")

    def _invoke(self, invocation: Invocation) -> None:
        self.result.invocations += 1
        crash_after = self.rng.randint(1, 3) if self.rng.random() < self.plan.rate("crash") else None
        race = None
        if self.rng.random() < self.plan.rate("race"):
            race = lambda: self.tenants.act(workloads_only=True)  # noqa: E731
        self.ec2.begin_invocation(crash_after, race)
        self.clock.advance(self.rng.uniform(0.005, 0.05))  # Lambda picks it up
        retry = f" (retry {invocation.attempt})" if invocation.attempt else ""
        self.trace(f"invoke: {invocation.label}{retry}")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                summary = nat_zero_handler.handler(invocation.event, None)
        except SimulatedCrash as crash:
            self.trace(f"  crashed: {crash}")
            self.delivery.failed(invocation)
            self.invariants.step()
            return
        except Exception as exc:  # the handler must never raise: a bug
            self.invariants.check(False, f"handler raised {type(exc).__name__}: {exc}")
            self.delivery.failed(invocation)
            return
        self.trace("  " + _describe(summary))
        self.invariants.invocation(summary, self.ec2.observed)
        self.invariants.step()


def _describe(summary: dict) -> str:
    trigger = summary.get("trigger") or {}
    parts = [str(trigger.get("resolved") or trigger.get("reason") or trigger.get("kind"))]
    for zone in summary.get("zones", ()):
        observed = zone["observed"]
        nats = ",".join(f"{n['id']}:{n['state']}{'+eip' if n['eip'] else ''}" for n in observed["nats"])
        outcomes = ",".join(f"{o['action']}={o['result']}" for o in zone["outcomes"])
        parts.append(f"{zone['az']}[w={observed['workloads']} nats={nats or '-'}] {zone['verdict']} {outcomes}")
    if "error" in summary:
        parts.append(f"error={summary['error'][:80]}")
    return " | ".join(parts)
