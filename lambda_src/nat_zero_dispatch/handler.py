"""Lambda entry point: read the instance once, hand the event to its VPC's reconciler.

EventBridge cannot match EC2 state-change events by VPC, so without this
function every deployment of the region would receive (and read for) every
instance event. Here the instance is read once, and the event goes only to
the reconciler(s) of its VPC, carrying the instance read so the reconciler
does not read it again. Invoked asynchronously (InvocationType Event): each
reconciler keeps its reserved concurrency of 1 and stays its deployment's
single writer; Lambda queues what arrives while it runs.

The dispatcher writes nothing: a lost event costs a reconciler's sweep
period, never a wrong action.
"""

from __future__ import annotations

import json
import os
import sys
import time

from botocore.exceptions import BotoCoreError, ClientError

from .aws import CallCounter, client
from .config import INSTANCE_KEY, load_config
from .events import Ignored, parse_event
from .registry import Registry

_MISSING_INSTANCE_CODES = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")
# Lambda refuses asynchronous payloads over 256 KB; an instance is a few KB.
# Far above that (hundreds of ENIs or tags), the event goes without it and
# the reconciler reads the instance itself.
MAX_CARRIED_BYTES = 200 * 1024
_counter = CallCounter()
_state: dict = {}


def log(record: dict) -> None:
    """One JSON line on stdout: CloudWatch Logs keeps it, Insights queries it."""
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _registry(config) -> Registry:
    # Kept by the warm container; a changed environment (tests) starts afresh.
    key = (config, os.environ.get("AWS_ENDPOINT_URL"))
    if _state.get("key") != key:
        _state.update(key=key, registry=Registry(config.registry_ttl_seconds, config.refresh_interval_seconds))
    return _state["registry"]


def handler(event, context=None):
    started = time.monotonic()
    config = load_config()
    _counter.reset()
    summary = _dispatch(event, config)
    summary["aws_calls"] = _counter.summary()
    summary["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    log({"level": "error" if summary.get("failed") else "info", **summary})
    if summary.get("failed"):
        # Lambda counts the error and delivers the event again.
        raise RuntimeError(f"could not hand the event to {', '.join(summary['failed'])}")
    return summary


def _dispatch(event, config) -> dict:
    request = parse_event(event, config)
    if isinstance(request, Ignored):
        return {"outcome": "ignored", "reason": request.reason}
    summary = {"instance_id": request.instance_id, "state": request.state}
    instance = read_instance(client("ec2", config.region, _counter), request.instance_id)
    if instance is None:
        # A launch's "pending" can come before EC2 answers for the instance;
        # its "running" follows within seconds, and the sweep repairs the rest.
        return {**summary, "outcome": "instance_not_found"}
    vpc_id = instance.get("VpcId")
    summary["vpc_id"] = vpc_id
    if not vpc_id:
        # EC2-Classic leftovers, or a terminated instance EC2 no longer shows
        # in its VPC: its "shutting-down" event was dispatched while it was.
        return {**summary, "outcome": "vpc_unknown"}
    targets = _registry(config).reconcilers(client("resourcegroupstaggingapi", config.region, _counter), vpc_id)
    if not targets:
        return {**summary, "outcome": "no_deployment"}
    payload = dispatched_payload(request.event, instance)
    return {**summary, **_invoke_all(config, targets, payload)}


def read_instance(ec2, instance_id: str) -> dict | None:
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations") or ()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING_INSTANCE_CODES:
            return None
        raise
    found = [i for r in reservations for i in r.get("Instances") or ()]
    return found[0] if found else None


def dispatched_payload(event: dict, instance: dict) -> bytes:
    """The EventBridge event as it came, plus the instance as read (times in ISO 8601)."""
    carried = json.dumps({**event, INSTANCE_KEY: instance}, default=_iso, separators=(",", ":")).encode()
    if len(carried) <= MAX_CARRIED_BYTES:
        return carried
    return json.dumps(event, separators=(",", ":")).encode()


def _iso(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _invoke_all(config, targets: tuple[str, ...], payload: bytes) -> dict:
    lambda_client = client("lambda", config.region, _counter)
    invoked, gone, failed = [], [], []
    for function_arn in targets:
        try:
            lambda_client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)
            invoked.append(function_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                # Deleted since the registry was read: its deployment is gone.
                _registry(config).forget(function_arn)
                gone.append(function_arn)
            else:
                failed.append(function_arn)
        except BotoCoreError:
            failed.append(function_arn)
    result = {"outcome": "dispatched" if invoked else "not_dispatched", "invoked": invoked}
    if gone:
        result["gone"] = gone
    if failed:
        result["failed"] = failed
    return result
