"""Lambda entry point: resolve the AZ, observe, decide, act, return.

Level-triggered: an event only says "look again". Reserved concurrency 1 makes
this the single writer of the deployment's NATs and EIPs, so what it reads is
changed by nobody but EC2 itself between its read and its write.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from .act import Actor
from .aws import CallCounter, ec2_client, ecs_client, events_client
from .config import ALWAYS_ON, load_config
from .decision import (
    ACTIVE_STATES,
    FORWARDING,
    CreateNat,
    DisableSourceDestCheck,
    PointRoute,
    Snapshot,
    StartNat,
    decide,
    describe_action,
)
from .ecs import TaskTags
from .events import Ignored, Interruption, StateChange, Sweep, TaskStateChange, parse_event
from .metrics import documents as metric_documents
from .observe import Observer, role_of

_counter = CallCounter()
_config_cache = {}


def log(record: dict) -> None:
    """One JSON line on stdout: CloudWatch Logs keeps it, Insights queries it."""
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def now() -> datetime:
    """The time of a look (a test moves it to age a NAT or its report)."""
    return datetime.now(timezone.utc)


def _config():
    # Parsed once per environment: a warm container reuses it. Tests (and the
    # sandbox relay) change the environment between calls, which re-parses it.
    key = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith(("NAT_ZERO_", "AWS_REGION", "AWS_DEFAULT_REGION")))
    )
    if key not in _config_cache:
        _config_cache.clear()
        _config_cache[key] = load_config()
    return _config_cache[key]


def _observed(snapshot: Snapshot) -> dict:
    nat = [
        {
            "id": n.instance_id,
            "state": n.state,
            "eip": n.eip_public_ip,
            **({"dataplane": n.dataplane} if n.dataplane else {}),
        }
        for n in snapshot.nats
    ]
    observed = {"workloads": len(snapshot.workloads), "nats": nat}
    if snapshot.failed_launch is not None:
        observed["failed_launch"] = snapshot.failed_launch.fields()
    if snapshot.eips is not None:
        observed["eips"] = [e.public_ip or e.allocation_id for e in snapshot.eips]
    return observed


def handler(event, context=None):
    started = time.monotonic()
    config = _config()
    _counter.reset()
    summary = {"trigger": None, "zones": []}
    try:
        _reconcile(event, config, summary)
    except (ClientError, BotoCoreError) as exc:
        # Throttling beyond the retries, or an outage: the sweep comes back.
        summary["error"] = f"{type(exc).__name__}: {exc}"[:500]
    summary["aws_calls"] = _counter.summary()
    summary["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    if "error" in summary or not summary["zones"]:
        log({"level": "error" if "error" in summary else "info", **summary})
    if config.metrics:
        for document in metric_documents(config.name, summary, int(time.time() * 1000)):
            log(document)
    return summary


def _reconcile(event, config, summary: dict) -> None:
    request = parse_event(event, config)
    summary["trigger"] = _describe_request(request)
    if isinstance(request, Ignored):
        return
    ec2 = ec2_client(config, _counter)
    observer = Observer(ec2, config, now=now())
    snapshots = _observe(request, config, observer, summary)
    if snapshots is None:
        return
    if not (isinstance(request, TaskStateChange) and request.workload_state):
        snapshots = _without_ignored_tasks(snapshots, config, summary)
    actor = Actor(ec2, config, observer)
    for snapshot in snapshots:
        _reconcile_zone(snapshot, actor, summary)
    _switch_health_rule(request, config, snapshots, summary)


# What makes a NAT live for the health rule: these actions, done.
_BRINGS_A_NAT_UP = ("create_nat", "start_nat")


def health_rule_switch(request, config, snapshots: list[Snapshot], outcomes: list[dict]) -> str | None:
    """ "enable", "disable" or None (leave it). The 1-minute health rule runs
    only while a NAT is live, so an idle deployment pays for no invocation:
    a NAT brought up, or seen running by the 5-minute sweep, turns it on; a
    health run (which proves it is on) that finds no live NAT turns it off.
    always_on keeps it on."""
    if config.health_rule is None:
        return None
    brought_up = any(o.get("action") in _BRINGS_A_NAT_UP and o.get("result") == "done" for o in outcomes)
    live = any(n.state in ACTIVE_STATES for s in snapshots for n in s.nats)
    is_health_run = isinstance(request, Sweep) and request.reason == "health"
    if is_health_run:
        return "disable" if not (live or brought_up or config.mode == ALWAYS_ON) else None
    if brought_up or (isinstance(request, Sweep) and (live or config.mode == ALWAYS_ON)):
        return "enable"
    return None


def _switch_health_rule(request, config, snapshots: list[Snapshot], summary: dict) -> None:
    outcomes = [o for zone in summary["zones"] for o in zone["outcomes"]]
    switch = health_rule_switch(request, config, snapshots, outcomes)
    if switch is None:
        return
    client = events_client(config, _counter)
    call = client.enable_rule if switch == "enable" else client.disable_rule
    try:
        call(Name=config.health_rule)
        summary["health_rule"] = {"switch": switch, "result": "done"}
    except (ClientError, BotoCoreError) as exc:
        # The next sweep or health run tries again; the NATs are unaffected.
        summary["health_rule"] = {"switch": switch, "result": "error", "error": type(exc).__name__}


def _describe_request(request) -> dict:
    if isinstance(request, StateChange):
        return {"kind": "state_change", "instance_id": request.instance_id, "state": request.state}
    if isinstance(request, TaskStateChange):
        return {"kind": "task_state_change", "task_arn": request.task_arn, "state": request.last_status}
    if isinstance(request, Sweep):
        return {"kind": "sweep", "reason": request.reason}
    if isinstance(request, Interruption):
        return {"kind": "spot_interruption", "instance_id": request.instance_id, "action": request.action}
    return {"kind": "ignored", "reason": request.reason}


def _observe(request, config, observer: Observer, summary: dict) -> list[Snapshot] | None:
    if isinstance(request, Sweep):
        return observer.all_snapshots()
    if isinstance(request, Interruption):
        return _observe_interruption(request, config, observer, summary)
    if isinstance(request, TaskStateChange):
        return _observe_task(request, config, observer, summary)
    instance = request.instance if request.instance is not None else observer.instance(request.instance_id)
    if instance is None:
        # EC2 no longer knows it (or not yet): we cannot tell its AZ, so look at all.
        summary["trigger"]["resolved"] = "instance_not_found_sweep"
        return observer.all_snapshots()
    role = role_of(instance, config)
    summary["trigger"]["resolved"] = role.kind
    summary["trigger"]["az"] = role.az
    if role.kind in ("outside_vpc", "ignored", "other_deployment_nat"):
        return None
    if role.az not in config.zones:
        summary["trigger"]["resolved"] = "az_not_managed"
        return None
    return [observer.zone_snapshot(role.az, request, instance)]


def _observe_interruption(request: Interruption, config, observer: Observer, summary: dict) -> list[Snapshot] | None:
    """A warning for one of our NATs: a sweep that judges that NAT unhealthy
    now, two minutes before EC2 takes it (traffic fails over first). Anything
    else is none of ours."""
    instance = observer.instance(request.instance_id)
    role = role_of(instance, config) if instance is not None else None
    if role is None or role.kind != "nat" or role.az not in config.zones:
        summary["trigger"]["resolved"] = "not_our_nat"
        return None
    summary["trigger"]["resolved"] = "nat"
    summary["trigger"]["az"] = role.az
    return observer.all_snapshots({request.instance_id: f"spot interruption ({request.action})"})


def _observe_task(request: TaskStateChange, config, observer: Observer, summary: dict) -> list[Snapshot] | None:
    # The event names the task's subnet: a task anywhere else costs no read.
    az = config.zone_of_subnet(request.subnet_id)
    summary["trigger"]["az"] = az
    if az is None:
        summary["trigger"]["resolved"] = "outside_private_subnets"
        return None
    summary["trigger"]["resolved"] = "task"
    snapshot = observer.task_snapshot(az, request)
    if request.workload_state and _brings_a_nat_up(snapshot):
        # Only a task that would start a NAT pays for its tags; one whose
        # AZ already has its NAT changes nothing, ignored or not.
        tags = TaskTags(ecs_client(config, _counter), config.ignore_tag)
        ignored = tags.task_ignored(request.task_arn, request.cluster_arn, request.service_name)
        _note_ecs_error(tags, summary)
        if ignored:
            summary["trigger"]["resolved"] = "ignored"
            return None
    return [snapshot]


def _brings_a_nat_up(snapshot: Snapshot) -> bool:
    return any(isinstance(a, (CreateNat, StartNat)) for a in decide(snapshot).actions)


def _without_ignored_tasks(snapshots: list[Snapshot], config, summary: dict) -> list[Snapshot]:
    """The snapshots with the AZs' task workloads dropped where tasks alone
    would keep (or start) a NAT and every one of them is ignored. A task's
    ENI carries none of its tags: ECS is read only for such an AZ."""
    if config.mode == ALWAYS_ON:
        return snapshots
    tags = None
    kept = []
    for snapshot in snapshots:
        tasks = [w.instance_id for w in snapshot.workloads if w.kind == "task"]
        if tasks and len(tasks) == len(snapshot.workloads):
            tags = tags or TaskTags(ecs_client(config, _counter), config.ignore_tag)
            if not tags.any_in_use(tasks):
                snapshot = snapshot.replace(workloads=())
        kept.append(snapshot)
    if tags is not None:
        _note_ecs_error(tags, summary)
    return kept


def _note_ecs_error(tags: TaskTags, summary: dict) -> None:
    if tags.error:
        # The tasks counted as in use; the next look reads again.
        summary["ecs_error"] = tags.error


def _reconcile_zone(snapshot: Snapshot, actor: Actor, summary: dict) -> None:
    started = time.monotonic()
    calls_before = sum(_counter.calls.values())
    decision = decide(snapshot)
    outcomes = actor.carry_out(decision) if decision.actions else []
    record = {
        "az": snapshot.az,
        "observed": _observed(snapshot),
        "verdict": decision.verdict,
        "actions": [describe_action(a) for a in decision.actions],
        "outcomes": outcomes,
        "act_calls": sum(_counter.calls.values()) - calls_before,
        "act_ms": round((time.monotonic() - started) * 1000, 1),
    }
    not_forwarding = [n.instance_id for n in snapshot.nats if n.dataplane not in (None, FORWARDING)]
    if not_forwarding:
        # Issue 17's health check acts on this; for now an operator sees it.
        record["not_forwarding"] = not_forwarding
    summary["zones"].append(record)
    for outcome, action in zip(outcomes, decision.actions):
        if isinstance(action, (PointRoute, DisableSourceDestCheck)):
            # One line per repair: what someone (or something) changed by hand.
            log({"level": "warning", "repair": outcome, "az": snapshot.az})
    level = "warning" if not_forwarding or snapshot.failed_launch is not None else "info"
    log({"level": level, "trigger": summary["trigger"], "aws_calls_so_far": _counter.summary(), **record})
