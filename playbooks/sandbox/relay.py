#!/usr/bin/env python3
"""Stand in for EventBridge and Lambda on a local AWS emulator.

The emulator stores the deployed reconciler function but cannot run it. The
relay watches the emulator's instance states and, for every change, delivers
EventBridge-shaped "EC2 Instance State-change Notification" events, in order
and one at a time (reserved concurrency 1), to the deployed reconciler:
imported from lambda_src/ by its Handler setting and configured from the
deployed function's own environment. It also fires the scheduled sweep.

    relay.py --function play-nat-zero          # endpoint from AWS_ENDPOINT_URL (`make sandbox`)

then launch, stop and start instances against the same endpoint
(playbooks/sandbox/workload.py) and watch the reconciler react: one line per
decision (`us-east-1a: create_nat -> launched i-...`), or the summaries as
JSON with --json. The reconciler's own JSON log lines go to --log
(build/sandbox/reconciler.log by default).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import sys
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import boto3
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
LAMBDA_SRC = REPO / "lambda_src"
DEFAULT_LOG = REPO / "build" / "sandbox" / "reconciler.log"
SWEEP_EVENT = {"action": "reconcile"}

# EC2's instance lifecycle: the relay fills in the states a poll jumped over,
# as EventBridge would have delivered each of them.
_NEXT_STATES = {
    None: ("pending",),
    "pending": ("running", "shutting-down", "stopping"),
    "running": ("stopping", "shutting-down"),
    "stopping": ("stopped", "shutting-down"),
    "stopped": ("pending", "shutting-down"),
    "shutting-down": ("terminated",),
    "terminated": (),
}


def transition_path(old: str | None, new: str) -> list[str]:
    """The states an instance passed through from `old` to `new` (new included)."""
    if old == new:
        return []
    queue, seen = deque([(old, [])]), {old}
    while queue:
        state, path = queue.popleft()
        for following in _NEXT_STATES.get(state, ()):
            if following == new:
                return path + [new]
            if following not in seen:
                seen.add(following)
                queue.append((following, path + [following]))
    return [new]


def state_change_event(instance_id: str, state: str, region: str, account: str) -> dict:
    return {
        "version": "0",
        "id": f"relay-{time.monotonic_ns()}",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def load_handler(function_configuration: dict) -> Callable:
    """The deployed function's handler, imported from lambda_src/."""
    module_name, _, attribute = function_configuration["Handler"].rpartition(".")
    if str(LAMBDA_SRC) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC))
    return getattr(importlib.import_module(module_name), attribute)


class Relay:
    def __init__(self, endpoint: str, function_name: str, region: str = "us-east-1", log_path: Path | None = None):
        self.endpoint = endpoint
        self.region = region
        self.ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
        configuration = boto3.client("lambda", region_name=region, endpoint_url=endpoint).get_function_configuration(
            FunctionName=function_name
        )
        self.account = configuration["FunctionArn"].split(":")[4]
        # Exactly what Lambda would give the function, pointed at the emulator.
        os.environ.update(configuration.get("Environment", {}).get("Variables", {}))
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        os.environ.setdefault("AWS_REGION", region)
        self.handler = load_handler(configuration)
        self.log_path = log_path
        self.known: dict[str, str] = self._states()
        self.delivered: list[dict] = []
        # Runs before each invocation (the demo's stand-in for the NATs' guard).
        self.before_invoke: Callable[[], None] | None = None
        # Emulated time the sandbox skipped instead of waiting (skip_time).
        self.skipped = timedelta(0)

    def now(self) -> datetime:
        """The reconciler's clock: the wall clock plus the time skipped."""
        return datetime.now(timezone.utc) + self.skipped

    def skip_time(self, seconds: float) -> None:
        """Let `seconds` pass for the reconciler without waiting: its next
        look finds every NAT and data-plane report that much older."""
        self.skipped += timedelta(seconds=seconds)
        sys.modules[self.handler.__module__].now = self.now

    def _states(self) -> dict[str, str]:
        states = {}
        for page in self.ec2.get_paginator("describe_instances").paginate():
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    states[instance["InstanceId"]] = instance["State"]["Name"]
        return states

    def poll(self) -> list[dict]:
        """Events for every state change since the last poll, in lifecycle order."""
        current = self._states()
        events = []
        for instance_id in sorted(current):
            for state in transition_path(self.known.get(instance_id), current[instance_id]):
                events.append(state_change_event(instance_id, state, self.region, self.account))
        self.known = current
        return events

    def invoke(self, event: dict) -> dict:
        """One invocation, as the single-writer Lambda would run it."""
        if self.before_invoke:
            self.before_invoke()
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            summary = self.handler(event, None)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(captured.getvalue())
        self.delivered.append({"event": event, "summary": summary})
        return summary

    def sweep(self) -> dict:
        return self.invoke(SWEEP_EVENT)

    def pump(self, max_rounds: int = 25) -> list[dict]:
        """Deliver events until EC2 stops changing (the reconciler's own actions
        cause more events). Returns the summaries of this pump."""
        summaries = []
        for _ in range(max_rounds):
            events = self.poll()
            if not events:
                return summaries
            summaries += [self.invoke(event) for event in events]
        raise RuntimeError(f"instance states still changing after {max_rounds} rounds")

    def run(self, interval: float, sweep_every: float, duration: float | None = None, as_json: bool = False) -> None:
        started = last_sweep = time.monotonic()
        while duration is None or time.monotonic() - started < duration:
            summaries = self.pump()
            if time.monotonic() - last_sweep >= sweep_every:
                summaries.append(self.sweep())
                last_sweep = time.monotonic()
            for summary in summaries:
                lines = [json.dumps(_brief(summary))] if as_json else decision_lines(summary)
                for line in lines:
                    print(line, flush=True)
            time.sleep(interval)


def _brief(summary: dict) -> dict:
    return {
        "trigger": summary.get("trigger"),
        "zones": [{"az": z["az"], "verdict": z["verdict"]} for z in summary.get("zones", ())],
        "aws_calls": summary.get("aws_calls", {}).get("by_operation"),
        **({"error": summary["error"]} if "error" in summary else {}),
    }


def _outcome_text(outcome: dict) -> str:
    """`create_nat -> launched i-...`, `release_eip -> done`, `start_nat -> wait (eni_in_use)`."""
    name, result = outcome.get("action", "?"), outcome.get("result", "?")
    if outcome.get("instance_id") and name == "create_nat" and result == "done":
        return f"{name} -> launched {outcome['instance_id']}"
    target = outcome.get("instance_id") or outcome.get("allocation_id") or ""
    reason = outcome.get("reason") or outcome.get("error") or ""
    return " ".join(part for part in (name, target, "->", result, f"({reason})" if reason else "") if part)


def decision_lines(summary: dict) -> list[str]:
    """One human line per AZ the reconciler decided about, and one for an error."""
    trigger = summary.get("trigger") or {}
    cause = f"{trigger.get('instance_id')} {trigger.get('state')}" if trigger.get("kind") == "state_change" else "sweep"
    lines = []
    for zone in summary.get("zones", ()):
        done = ", ".join(_outcome_text(o) for o in zone.get("outcomes") or ()) or "nothing to do"
        lines.append(f"{zone['az']}: {zone['verdict']}: {done}   [{cause}]")
    if "error" in summary:
        lines.append(f"reconciler error: {summary['error']}   [{cause}]")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="Deliver EC2 state-change events from an emulator to the reconciler.")
    parser.add_argument(
        "--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"), help="emulator URL (AWS_ENDPOINT_URL)"
    )
    parser.add_argument("--function", required=True, help="deployed reconciler, e.g. play-nat-zero")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--sweep-every", type=float, default=300.0, help="seconds between scheduled sweeps")
    parser.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    parser.add_argument(
        "--log", type=Path, default=DEFAULT_LOG, help=f"append the reconciler's JSON log lines here ({DEFAULT_LOG})"
    )
    parser.add_argument("--json", action="store_true", help="print each invocation's summary as JSON")
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("--endpoint (or AWS_ENDPOINT_URL) is required: the relay only talks to an emulator")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    try:
        relay = Relay(args.endpoint, args.function, args.region, args.log)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        print(
            f"relay: no function {args.function} in {args.region} at {args.endpoint}. Deploy first "
            "(ansible-playbook playbooks/site.yml -e @<vars file>); the function is <nat_zero_name>-nat-zero.",
            file=sys.stderr,
        )
        return 2
    print(
        f"relay: {args.endpoint} -> {args.function} ({args.region}), polling every {args.interval:g} s, "
        f"sweep every {args.sweep_every:g} s; reconciler log: {args.log}. Ctrl-C stops.",
        flush=True,
    )
    try:
        relay.run(args.interval, args.sweep_every, args.duration, args.json)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
