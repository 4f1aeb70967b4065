"""Metrics as CloudWatch Embedded Metric Format (EMF) log lines.

CloudWatch Logs turns each such line into metric data points: no PutMetricData
call, no agent. Opt-in (NAT_ZERO_METRICS=true): every metric name and
dimension set written in a month is a custom metric at about $0.30 a month,
so five metrics in two AZs cost more than the whole idle deployment.

Per AZ (dimensions Deployment, AZ): NatRunning (0/1), Workloads, Actions and
one Actions.<kind> per kind taken. Per invocation (dimension Deployment):
Errors and Duration.
"""

from __future__ import annotations

NAMESPACE = "NatZero"
RUNNING = "running"


def _document(timestamp_ms: int, dimensions: dict, metrics: dict, units: dict) -> dict:
    """One EMF document: the _aws metadata, then every dimension and metric as a top-level member."""
    directive = {
        "Namespace": NAMESPACE,
        "Dimensions": [sorted(dimensions)],
        "Metrics": [{"Name": name, "Unit": units.get(name, "Count")} for name in sorted(metrics)],
    }
    return {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive]}, **dimensions, **metrics}


def zone_document(deployment: str, zone: dict, timestamp_ms: int) -> dict:
    """The metrics of one AZ's record (handler._reconcile_zone) of an invocation."""
    observed = zone["observed"]
    actions = [a["action"] for a in zone["actions"]]
    metrics = {
        "NatRunning": int(any(nat["state"] == RUNNING for nat in observed["nats"])),
        "Workloads": observed["workloads"],
        "Actions": len(actions),
    }
    for kind in sorted(set(actions)):
        metrics[f"Actions.{kind}"] = actions.count(kind)
    return _document(timestamp_ms, {"Deployment": deployment, "AZ": zone["az"]}, metrics, {})


def invocation_document(deployment: str, summary: dict, timestamp_ms: int) -> dict:
    metrics = {"Errors": int("error" in summary), "Duration": summary["duration_ms"]}
    return _document(timestamp_ms, {"Deployment": deployment}, metrics, {"Duration": "Milliseconds"})


def documents(deployment: str, summary: dict, timestamp_ms: int) -> list[dict]:
    """Every EMF document of one invocation's summary: one per AZ looked at, one for the invocation."""
    zones = [zone_document(deployment, zone, timestamp_ms) for zone in summary["zones"]]
    return [*zones, invocation_document(deployment, summary, timestamp_ms)]
