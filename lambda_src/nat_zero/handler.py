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

from botocore.exceptions import BotoCoreError, ClientError

from .act import Actor
from .aws import CallCounter, ec2_client
from .config import load_config
from .decision import FORWARDING, Snapshot, decide, describe_action
from .events import Ignored, StateChange, Sweep, parse_event
from .metrics import documents as metric_documents
from .observe import Observer, role_of

_counter = CallCounter()
_config_cache = {}


def log(record: dict) -> None:
    """One JSON line on stdout: CloudWatch Logs keeps it, Insights queries it."""
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


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
    observer = Observer(ec2, config)
    snapshots = _observe(request, config, observer, summary)
    if snapshots is None:
        return
    actor = Actor(ec2, config, observer)
    for snapshot in snapshots:
        _reconcile_zone(snapshot, actor, summary)


def _describe_request(request) -> dict:
    if isinstance(request, StateChange):
        return {"kind": "state_change", "instance_id": request.instance_id, "state": request.state}
    if isinstance(request, Sweep):
        return {"kind": "sweep", "reason": request.reason}
    return {"kind": "ignored", "reason": request.reason}


def _observe(request, config, observer: Observer, summary: dict) -> list[Snapshot] | None:
    if isinstance(request, Sweep):
        return observer.all_snapshots()
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
    level = "warning" if not_forwarding or snapshot.failed_launch is not None else "info"
    log({"level": level, "trigger": summary["trigger"], "aws_calls_so_far": _counter.summary(), **record})
