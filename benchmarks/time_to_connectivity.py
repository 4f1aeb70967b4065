"""Time to connectivity, modelled: workload pending -> NAT running with its EIP usable.

A discrete-event model of the whole flow: EventBridge delivers each state
change after a delay to a single-writer Lambda queue; each invocation makes its
AWS calls one after another; RunInstances and StartInstances set the NAT
booting; the NAT's own state changes become events in turn.

What each invocation calls, and in which order, is not typed in here: it is
recorded by running the real handler against moto for each situation. Only
the component timings are inputs, taken from the reference implementation's
published measurements:

    event delivery ~0.3 s, RunInstances ~1.4 s, boot to running ~5.7 s,
    EIP allocate + associate ~3 s, restart (StartInstances) to running ~5.6 s

Describe* calls have no published figure; they are charged READ_SECONDS each.

"reference" is the reference implementation's order: the EIP is allocated
and associated on the NAT's "running" event. "nat_zero" attaches the EIP in
the same invocation that launches or starts the NAT, while it boots.

"Running" is not "forwarding": the NAT's OS still boots and nat-bootstrap.sh
still runs. On the stock AL2023 minimal image the first boot also installs
nftables with dnf, which needs the way out the NAT is becoming: it starts only
once the EIP is usable, and pays the repository metadata and the install. A
restart does not (nft is on the root volume), and neither does a NAT image
baked with playbooks/bake_ami.yml. These three figures have no published
measurement; they are stated assumptions (AL2023 minimal on a t4g.nano), and
the second table shows how the cold create moves with the install time:

    OS boot, EC2 "running" to nat-zero.service ~8 s,
    dnf install nftables (metadata + ~1 MB of packages) ~25 s

The failure cases (issue 17) time a NAT fault to traffic flowing again,
from the calls the real handler makes on the health run that finds the fault
(recorded the same way). Detection has its own column: the guard reports its
data path every GUARD_PERIOD, the health rule runs the reconciler every
HEALTH_PERIOD, a heartbeat older than STALE_REPORT counts as a hung NAT, and
EC2 runs its status checks every minute; a fault lands anywhere in those
periods, so detection is given on average and at worst. With cross_az, traffic
flows again once ReplaceRoute takes effect (ROUTE_PROPAGATION, an assumption);
without, once the replacement forwards: the old NAT terminates
(TERMINATION, an assumption: the ENIs are exclusive), the terminated event
launches the new one on the same ENIs, which keep the EIP.

A Fargate task (NAT_ZERO_WORKLOAD_SOURCES with ecs) is a workload from its
PROVISIONING event, which names its subnet before ECS has created its ENI:
the reconciler starts the NAT while ECS provisions the ENI. The task's image
pull (from a public registry, or ECR without VPC endpoints) needs the way out
and begins in PENDING, once the ENI is attached; ECS publishes no figure for
that, TASK_ENI_ATTACH is an assumption (ENI attachment "under 10 s" is the
normal Fargate figure practitioners report). What the PROVISIONING invocation
calls is recorded like the rest (for a service's task: its tags and its
service's, the ignore tag, then the launch). A pull that starts before the NAT
forwards does not fail at once: its connection's SYNs are dropped and
retransmitted (Linux: first after 1 s, doubling, given up after
tcp_syn_retries=6, 127 s), so the pull begins at the first retransmission
after the NAT forwards; past 127 s it would fail (CannotPullContainerError).

The bootstrap itself (its first line to forwarding and masquerade, metadata
lookups included) is measured: benchmarks/bootstrap_time.py, BOOTSTRAP_SECONDS.
With a static EIP (NAT_ZERO_EIP_MODE=static) the address stays on the public
ENI while the NAT is stopped: a restart is the recorded restart without its
EIP calls, and the address is usable once the NAT runs.

    .venv/bin/python benchmarks/time_to_connectivity.py
"""

from __future__ import annotations

import contextlib
import heapq
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

from moto import mock_aws  # noqa: E402

from nat_zero.decision import HEALTH_RULE_PERIOD_S, HEARTBEAT_PERIOD_S, STALE_REPORT_S  # noqa: E402
from tests.support.world import REGION, build_world, state_change_event  # noqa: E402

EVENT_DELIVERY = 0.3
BOOT_TO_RUNNING = 5.7
RESTART_TO_RUNNING = 5.6
READ_SECONDS = 0.1
CALL_SECONDS = {"RunInstances": 1.4, "AllocateAddress": 1.5, "AssociateAddress": 1.5, "StartInstances": 0.0}
EIP_CALLS = ("DescribeAddresses", "AllocateAddress", "AssociateAddress")
OS_BOOT_TO_SERVICE = 8.0
BOOTSTRAP_SECONDS = 0.09  # measured: benchmarks/bootstrap_time.py, both ENIs at boot, quiet run (README)
NFTABLES_INSTALL = 25.0
INSTALL_SENSITIVITY = (10.0, 25.0, 60.0, 240.0)  # 240 s: one attempt's limit (NAT_INSTALL_SECONDS)
PUBLISHED_REFERENCE = {"cold create": 10.7, "restart": 8.5}
TARGETS = {"cold create": 8.0, "restart": 6.3}


GUARD_PERIOD = float(HEARTBEAT_PERIOD_S)  # nat-zero-guard.timer, OnUnitActiveSec
HEALTH_PERIOD = float(HEALTH_RULE_PERIOD_S)  # the health rule, rate(1 minute)
STALE_REPORT = float(STALE_REPORT_S)  # the reconciler's limit for a heartbeat's age
STATUS_CHECK_PERIOD = 60.0
ROUTE_PROPAGATION = 2.0
TERMINATION = 30.0
SPOT_WARNING_AHEAD = 120.0
COMPARED = {"HA NAT instance design, route failover": "~60 s", "alterNAT (+ a NAT Gateway's cost)": "10-20 s"}
TARGET_AFTER_DETECTION = 30.0
TARGET_DETECTION = 120.0  # issue 17: an unhealthy NAT is detected within 2 minutes


TASK_ENI_ATTACH = 10.0  # PROVISIONING -> PENDING (ENI attached), an assumption: see the docstring
SYN_RETRANSMISSIONS = (0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0)  # Linux, initial RTO 1 s, tcp_syn_retries 6
SYN_GIVE_UP = 127.0


def call_seconds(operation: str) -> float:
    # ECS's List* reads (the ignore tag of a task) are charged as EC2's Describe* are.
    return READ_SECONDS if operation.startswith(("Describe", "List")) else CALL_SECONDS.get(operation, 0.2)


# -- recording the real handler's calls ----------------------------------------


def record_call_sequences() -> dict[str, list[str]]:
    """Operation names, in order, of one invocation in each situation."""
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from nat_zero import aws, handler
    from nat_zero.config import load_config

    sequences = {}
    with mock_aws():
        aws._clients.clear()
        world = build_world("ttc")
        os.environ.update(world.env())
        client = aws.ec2_client(load_config(), handler._counter)
        calls: list[str] = []
        client.meta.events.register("before-call.ec2.*", lambda model, **_: calls.append(model.name))

        def invoke(name, event):
            calls.clear()
            with contextlib.redirect_stdout(io.StringIO()):
                summary = handler.handler(event, None)
            sequences[name] = list(calls)
            return summary

        workload = world.launch_workload("us-east-1a")
        invoke("create_with_eip", state_change_event(workload, "pending"))
        nat = world.nats("us-east-1a")[0]["InstanceId"]
        invoke("nat_running_with_eip", state_change_event(nat, "running"))
        for address in world.eips("us-east-1a"):
            world.ec2.disassociate_address(AssociationId=address["AssociationId"])
            world.ec2.release_address(AllocationId=address["AllocationId"])
        invoke("nat_running_attach_eip", state_change_event(nat, "running"))
        world.ec2.stop_instances(InstanceIds=[workload])
        invoke("workload_stopped", state_change_event(workload, "stopped"))
        invoke("nat_stopped_release_eip", state_change_event(nat, "stopped"))
        world.ec2.start_instances(InstanceIds=[workload])
        invoke("start_with_eip", state_change_event(workload, "pending"))
    aws._clients.clear()
    return sequences


def record_task_sequences() -> dict[str, list[str]]:
    """Operation names of the invocation a Fargate task's PROVISIONING event
    makes: for a cold create, and for a restart of the AZ's stopped NAT."""
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from nat_zero import aws, handler
    from nat_zero.config import load_config
    from tests.support.ecs_tasks import ecs_api, start_task

    sequences = {}
    with mock_aws():
        aws._clients.clear()
        aws._ecs_clients.clear()
        world = build_world("ttc")
        os.environ.update(world.env(), NAT_ZERO_WORKLOAD_SOURCES="ec2,ecs")
        calls: list[str] = []
        for client in (
            aws.ec2_client(load_config(), handler._counter),
            aws.ecs_client(load_config(), handler._counter),
        ):
            client.meta.events.register("before-call.*", lambda model, **_: calls.append(model.name))
        ecs_api(world).install(aws.ecs_client(load_config(), handler._counter))

        def invoke(name, event):
            calls.clear()
            with contextlib.redirect_stdout(io.StringIO()):
                handler.handler(event, None)
            sequences[name] = list(calls)

        task = start_task(world, "us-east-1a")
        invoke("task_create_with_eip", task.event())
        nat = world.nats("us-east-1a")[0]["InstanceId"]
        task.provision()
        task.run()
        invoke("task_leaves", task.stop())
        invoke("task_nat_stopped", state_change_event(nat, "stopped"))
        invoke("task_start_with_eip", start_task(world, "us-east-1a").event())
    aws._clients.clear()
    aws._ecs_clients.clear()
    os.environ.pop("NAT_ZERO_WORKLOAD_SOURCES")
    return sequences


def record_failure_sequences() -> dict[str, list[str]]:
    """Operation names of the health run that finds AZ a's NAT sick, with and
    without cross_az, and of the run that launches its replacement."""
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sequences = {}
    for failover in ("cross_az", "none"):
        with mock_aws():
            sequences.update(record_sick_nat(failover))
        os.environ.pop("NAT_ZERO_FAILOVER")
    return sequences


def record_sick_nat(failover: str) -> dict[str, list[str]]:
    from nat_zero import aws, handler
    from nat_zero.config import load_config
    from tests.support.ec2_fidelity import Ec2Fidelity

    aws._clients.clear()
    world = build_world("ttc")
    os.environ.update(world.env(), NAT_ZERO_FAILOVER=failover)
    os.environ["NAT_ZERO_ZONES"] = json.dumps(routed_zones(world))
    client = aws.ec2_client(load_config(), handler._counter)
    fidelity = Ec2Fidelity(client, raw_client=world.ec2, hold_terminations=True)
    calls: list[str] = []
    client.meta.events.register("before-call.ec2.*", lambda model, **_: calls.append(model.name))

    def invoke(event):
        calls.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            handler.handler(event, None)
        return list(calls)

    for az in world.zones:
        invoke(state_change_event(world.launch_workload(az), "pending"))
    nat = world.nats("us-east-1a")[0]["InstanceId"]
    fidelity.impair(nat)
    found = invoke({"action": "health"})
    fidelity.finish_shutdowns()
    replaced = invoke(state_change_event(nat, "terminated"))
    fidelity.uninstall()
    aws._clients.clear()
    return {f"health_finds_sick_nat_{failover}": found, f"replacement_{failover}": replaced}


def routed_zones(world) -> dict:
    """NAT_ZERO_ZONES with each AZ's private route table, 0.0.0.0/0 -> its private ENI, as the role leaves it."""
    zones = json.loads(world.env()["NAT_ZERO_ZONES"])
    for az, zone in world.zones.items():
        table = world.ec2.create_route_table(VpcId=world.vpc_id)["RouteTable"]["RouteTableId"]
        world.ec2.create_route(
            RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=zone.private_eni_id
        )
        zones[az]["route_table_ids"] = [table]
    return zones


# -- the discrete-event model --------------------------------------------------


def simulate(flow: str, start: str, sequences: dict[str, list[str]], trigger: str = "") -> tuple[float, float]:
    """Seconds from the workload's pending event (a task's PROVISIONING event
    with trigger "task_") to the NAT running, and to its EIP usable."""
    if start == "start_static":  # the EIP never left the ENI: no EIP step
        first = [op for op in sequences[f"{trigger}start_with_eip"] if op not in EIP_CALLS]
        running_at, _ = simulate_calls(first, [])
        return running_at, 0.0
    with_eip = {"create": sequences[f"{trigger}create_with_eip"], "start": sequences[f"{trigger}start_with_eip"]}[start]
    if flow == "reference":  # the same launch, without the EIP, which waits for "running"
        first = [op for op in with_eip if op not in EIP_CALLS]
        on_nat_running = sequences["nat_running_attach_eip"]
    else:
        first = with_eip
        on_nat_running = sequences["nat_running_with_eip"]
    return simulate_calls(first, on_nat_running)


def simulate_calls(first: list[str], on_nat_running: list[str]) -> tuple[float, float]:
    queue = [(EVENT_DELIVERY, 0, "invoke", first)]
    lambda_free_at, order = 0.0, 1
    nat_running_at = eip_at = None
    while queue:
        now, _, kind, payload = heapq.heappop(queue)
        if kind == "nat_running":
            nat_running_at = now
            heapq.heappush(queue, (now + EVENT_DELIVERY, order, "invoke", on_nat_running))
            order += 1
            continue
        clock = max(now, lambda_free_at)  # reserved concurrency 1: one invocation at a time
        for operation in payload:
            started, clock = clock, clock + call_seconds(operation)
            if operation == "RunInstances":
                heapq.heappush(queue, (clock + BOOT_TO_RUNNING, order, "nat_running", None))
            elif operation == "StartInstances":
                heapq.heappush(queue, (started + RESTART_TO_RUNNING, order, "nat_running", None))
            elif operation == "AssociateAddress":
                eip_at = clock
            order += 1
        lambda_free_at = clock
    return nat_running_at, eip_at


def usable(running_at: float, eip_at: float) -> float:
    """NAT running with its EIP usable (the reference's published measure)."""
    return max(running_at, eip_at)


def forwarding(running_at: float, eip_at: float, install_seconds: float) -> float:
    """The data plane forwarding: after the OS boots, and on a stock image
    after dnf, which starts once the EIP gives it a way out."""
    ready = running_at + OS_BOOT_TO_SERVICE
    if install_seconds:
        ready = max(ready, eip_at) + install_seconds
    return max(ready + BOOTSTRAP_SECONDS, eip_at)


def detection() -> dict[str, tuple[float, float]]:
    """Seconds from each fault to the health run that sees it: (average, worst).
    A fault lands uniformly within the periods it waits for."""
    half_guard, half_health = GUARD_PERIOD / 2, HEALTH_PERIOD / 2
    return {
        "data path broken (guard: not-forwarding)": (half_guard + half_health, GUARD_PERIOD + HEALTH_PERIOD),
        "NAT hung (heartbeat stops)": (STALE_REPORT - half_guard + half_health, STALE_REPORT + HEALTH_PERIOD),
        "status check impaired": (STATUS_CHECK_PERIOD / 2 + half_health, STATUS_CHECK_PERIOD + HEALTH_PERIOD),
    }


def seconds_until(calls: list[str], operation: str) -> float:
    """Seconds of an invocation's calls up to the end of `operation`."""
    return sum(call_seconds(op) for op in calls[: calls.index(operation) + 1])


def traffic_again_after_detection(sequences: dict[str, list[str]], install_seconds: float) -> dict[str, float]:
    """From the health run that sees the fault to traffic flowing: route moved, or replacement forwarding."""
    moved = seconds_until(sequences["health_finds_sick_nat_cross_az"], "ReplaceRoute") + ROUTE_PROPAGATION
    terminated = seconds_until(sequences["health_finds_sick_nat_none"], "TerminateInstances") + TERMINATION
    launched = terminated + EVENT_DELIVERY + seconds_until(sequences["replacement_none"], "RunInstances")
    running = launched + BOOT_TO_RUNNING
    # The EIP stays on the persistent public ENI: usable as soon as the NAT runs.
    return {"cross_az": moved, "none": forwarding(running, running, install_seconds)}


def print_failure_cases(sequences: dict[str, list[str]]) -> None:
    print(
        f"\nFrom a NAT fault to traffic flowing again (guard {GUARD_PERIOD:.0f} s, health rule "
        f"{HEALTH_PERIOD:.0f} s, heartbeat stale after {STALE_REPORT:.0f} s, route change {ROUTE_PROPAGATION} s, "
        f"termination {TERMINATION:.0f} s; average / worst)"
    )
    baked = traffic_again_after_detection(sequences, 0.0)
    stock = traffic_again_after_detection(sequences, NFTABLES_INSTALL)
    print(
        "| fault | detection | cross_az: traffic again | of which after detection | "
        "none: replacement forwarding (baked image) | none: (stock image) |"
    )
    print("|---|---|---|---|---|---|")
    for fault, (average, worst) in detection().items():
        print(
            f"| {fault} | {average:.0f} / {worst:.0f} s | {average + baked['cross_az']:.0f} / "
            f"{worst + baked['cross_az']:.0f} s | {baked['cross_az']:.1f} s | {average + baked['none']:.0f} / "
            f"{worst + baked['none']:.0f} s | {average + stock['none']:.0f} / {worst + stock['none']:.0f} s |"
        )
    moved_ahead = SPOT_WARNING_AHEAD - EVENT_DELIVERY - baked["cross_az"]
    print(
        f"| spot interruption warning | {EVENT_DELIVERY} s (EC2 warns {SPOT_WARNING_AHEAD:.0f} s ahead) | "
        f"0 s: moved {moved_ahead:.0f} s before the NAT goes | {baked['cross_az']:.1f} s | - | - |"
    )
    slowest = max(worst for _, worst in detection().values())
    verdict = "met" if slowest <= TARGET_DETECTION else "NOT met"
    print(f"detection at worst {slowest:.0f} s: target within {TARGET_DETECTION:.0f} s: {verdict}")
    verdict = "met" if baked["cross_az"] < TARGET_AFTER_DETECTION else "NOT met"
    print(f"cross_az after detection: target under {TARGET_AFTER_DETECTION:.0f} s: {verdict}")
    print("Compared: " + "; ".join(f"{name} {figure}" for name, figure in COMPARED.items()))


def image_pull_begins(forwarding_at: float) -> float | None:
    """When the task's image pull gets through: its first SYN (retransmission)
    once the ENI is attached and the NAT forwards; None past the give-up."""
    for retransmission in SYN_RETRANSMISSIONS:
        if TASK_ENI_ATTACH + retransmission >= forwarding_at:
            return TASK_ENI_ATTACH + retransmission
    return None


def print_task_case(sequences: dict[str, list[str]]) -> None:
    print(
        f"\nA Fargate task in a private subnet: PROVISIONING event -> NAT -> image pull (ENI attached, PENDING, "
        f"at {TASK_ENI_ATTACH:.0f} s, an assumption; SYNs retransmitted at +{', +'.join(f'{s:.0f}' for s in SYN_RETRANSMISSIONS[1:])} s)"
    )
    print("| NAT | image | NAT running + EIP | NAT forwarding | image pull begins | task's wait for the NAT |")
    print("|---|---|---|---|---|---|")
    rows = (
        ("cold create", "create", "stock AL2023 minimal", NFTABLES_INSTALL),
        ("cold create", "create", "baked (bake_ami.yml)", 0.0),
        ("restart", "start", "either", 0.0),
        ("restart, static EIP", "start_static", "either", 0.0),
    )
    for label, start, image, install in rows:
        running_at, eip_at = simulate("nat_zero", start, sequences, trigger="task_")
        forwards = forwarding(running_at, eip_at, install)
        pull = image_pull_begins(forwards)
        pull_text = f"{pull:.1f} s" if pull is not None else f"fails (SYNs given up at {SYN_GIVE_UP:.0f} s)"
        wait = f"{pull - TASK_ENI_ATTACH:.1f} s" if pull is not None else "-"
        print(f"| {label} | {image} | {usable(running_at, eip_at):.1f} s | {forwards:.1f} s | {pull_text} | {wait} |")


def main():
    sequences = record_call_sequences()
    sequences.update(record_task_sequences())
    sequences.update(record_failure_sequences())
    print("Invocations recorded from the real handler against moto:")
    for name, calls in sequences.items():
        print(f"  {name:<24} {len(calls)} calls: {', '.join(calls)}")
    print(
        f"\nTime to connectivity, modelled (event {EVENT_DELIVERY} s, RunInstances {CALL_SECONDS['RunInstances']} s, "
        f"boot {BOOT_TO_RUNNING} s, EIP {CALL_SECONDS['AllocateAddress'] + CALL_SECONDS['AssociateAddress']} s, "
        f"restart {RESTART_TO_RUNNING} s, Describe {READ_SECONDS} s)"
    )
    print(
        "| start | reference flow (EIP after running) | published reference | nat_zero | ratio to reference | target |"
    )
    print("|---|---|---|---|---|---|")
    timings = {
        label: simulate("nat_zero", start, sequences)
        for label, start in (("cold create", "create"), ("restart", "start"), ("restart, static EIP", "start_static"))
    }
    for label, start in (("cold create", "create"), ("restart", "start")):
        reference = usable(*simulate("reference", start, sequences))
        ours = usable(*timings[label])
        verdict = "met" if ours <= TARGETS[label] else "NOT met"
        print(
            f"| {label} | {reference:.1f} s | {PUBLISHED_REFERENCE[label]} s | {ours:.1f} s | "
            f"{ours / reference:.2f} | <= {TARGETS[label]} s: {verdict} |"
        )
    print(
        f"\nTo forwarding (OS boot {OS_BOOT_TO_SERVICE} s, bootstrap {BOOTSTRAP_SECONDS} s measured, "
        f"dnf install nftables {NFTABLES_INSTALL} s; assumptions, see the docstring)"
    )
    print("| start | image | NAT running + EIP | data plane forwarding | of which installing nftables |")
    print("|---|---|---|---|---|")
    rows = (
        ("cold create", "stock AL2023 minimal", NFTABLES_INSTALL),
        ("cold create", "baked (bake_ami.yml)", 0.0),
        ("restart", "either (nft already installed)", 0.0),
        ("restart, static EIP", "either (no EIP step)", 0.0),
    )
    for label, image, install in rows:
        print(
            f"| {label} | {image} | {usable(*timings[label]):.1f} s | "
            f"{forwarding(*timings[label], install):.1f} s | {install:.0f} s |"
        )
    print("\nCold create to forwarding on the stock image, by install time:")
    print("| dnf install nftables | forwarding | baked image saves |")
    print("|---|---|---|")
    baked = forwarding(*timings["cold create"], 0.0)
    for install in INSTALL_SENSITIVITY:
        stock = forwarding(*timings["cold create"], install)
        print(f"| {install:.0f} s | {stock:.1f} s | {stock - baked:.1f} s |")
    print_task_case(sequences)
    print_failure_cases(sequences)


if __name__ == "__main__":
    main()
