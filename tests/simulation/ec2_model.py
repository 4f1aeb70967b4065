"""The EC2 the reconciler talks to in the simulation: moto, with the fleet's
true states and EC2's faults layered on its own client.

On top of Ec2Fidelity (stale and hidden reads, ENI exclusivity, throttling):
- reads show the fleet's true state and LaunchTime (EC2 moves LaunchTime on
  every start), then the stale and hidden distortions;
- StartInstances, StopInstances and TerminateInstances are answered at the
  HTTP layer from the fleet, with EC2's rules (a stopping instance cannot be
  started), and the fleet applies them to moto once EC2 would be done;
- an ENI is in use until the instance holding it is terminated (truly);
- every call takes simulated time, so the world moves on between the
  reconciler's read and its write; some calls are throttled or fail, and an
  invocation can die right after its k-th mutating call.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol
from urllib.parse import parse_qs

from nat_zero.aws import MUTATING_OPERATIONS
from tests.simulation.clock import Clock
from tests.simulation.faults import FaultPlan
from tests.simulation.fleet import NAT, PENDING, STOPPED, TERMINATED, Fleet, Refused
from tests.support.ec2_fidelity import (
    STATE_CODES,
    Ec2Fidelity,
    answered,
    client_error,
    ec2_error_response,
    ec2_xml_response,
)

# Simulated time 0; EventBridge's "time" and EC2's LaunchTime count from it.
EPOCH = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)

MUTATING = frozenset(MUTATING_OPERATIONS)
LIFECYCLE = frozenset({"StartInstances", "StopInstances", "TerminateInstances"})
# Errors EC2 answers that botocore does not retry, per operation.
_ERRORS = {
    "RunInstances": "InsufficientInstanceCapacity",
    "StartInstances": "InsufficientInstanceCapacity",
    "AllocateAddress": "AddressLimitExceeded",
}


class SimulatedCrash(Exception):
    """The invocation dies (timeout, out of memory, lost sandbox): Lambda retries it."""


def simulated_time(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


class Monitor(Protocol):
    """What the invariants hear about as calls happen (invariants.Invariants)."""

    def mutation(self, operation: str, params: dict) -> None: ...

    def lifecycle(self, operation: str, instance_ids: list[str], observed: dict[str, str]) -> None: ...


class SimulatedEc2(Ec2Fidelity):
    def __init__(
        self,
        client,
        raw_client,
        fleet: Fleet,
        clock: Clock,
        rng: random.Random,
        plan: FaultPlan,
        faults: Counter,
        monitor: Monitor,
    ):
        super().__init__(client, raw_client=raw_client)
        self.fleet = fleet
        self.clock = clock
        self.rng = rng
        self.plan = plan
        self.faults = faults
        self.monitor = monitor
        # Per invocation: what its reads returned (instance -> state), and its faults.
        self.observed: dict[str, str] = {}
        self._mutations = 0
        self._crash_after: int | None = None
        self._race: Callable[[], None] | None = None
        self._stale_launch_times: dict[str, float] = {}
        client.meta.events.register("before-call.ec2.*", self._before_call)
        client.meta.events.register("before-send.ec2", self._answer_lifecycle)
        client.meta.events.register("after-call.ec2.*", self._after_call)
        fleet.listeners.append(self._on_change)

    def begin_invocation(self, crash_after: int | None, race: Callable[[], None] | None) -> None:
        self.observed = {}
        self._mutations = 0
        self._crash_after = crash_after
        self._race = race

    # -- the true world behind moto ------------------------------------------------

    def _on_change(self, instance, previous: str | None) -> None:
        # EC2's reads lag behind: a launch may be missing from filtered reads,
        # a state change may read as the state before it for a few calls.
        if previous is None:
            if self.rng.random() < self.plan.rate("hidden_from_filtered_read"):
                self.hide_from_filtered_reads(instance.instance_id, reads=self.rng.randint(1, 3))
        elif self.rng.random() < self.plan.rate("stale_read"):
            self.serve_stale_state(instance.instance_id, previous, reads=self.rng.randint(1, 3))
            started = previous == STOPPED and instance.state == PENDING
            self._stale_launch_times[instance.instance_id] = (
                instance.previous_launch_time if started else instance.launch_time
            )

    def _view(self, instance: dict, filtered: bool) -> dict | None:
        iid = instance["InstanceId"]
        true = self.fleet.get(iid)
        if true is not None:
            instance["State"] = {"Code": STATE_CODES[true.state], "Name": true.state}
            instance["LaunchTime"] = simulated_time(int(true.launch_time))  # EC2 keeps whole seconds
        if filtered and self.hidden.get(iid, 0) > 0:
            self.faults["hidden_from_filtered_read"] += 1
        elif (self.stale_states.get(iid) or (None, 0))[1] > 0:
            self.faults["stale_read"] += 1
            instance["LaunchTime"] = simulated_time(int(self._stale_launch_times.get(iid, 0)))
        viewed = super()._view(instance, filtered)
        if viewed is not None:
            self.observed[iid] = viewed["State"]["Name"]
        return viewed

    def _holds_enis(self, instance_id: str) -> bool:
        true = self.fleet.get(instance_id)
        if true is None:
            return super()._holds_enis(instance_id)
        return true.state != TERMINATED

    # -- hooks -------------------------------------------------------------------------

    def _before_call(self, model, **_):
        operation = model.name
        self.clock.advance(self.rng.uniform(0.02, 0.12))  # the call's round trip
        if operation in MUTATING:
            self.monitor.mutation(operation, self._last_params.get(operation, {}))
            if self._race is not None:
                race, self._race = self._race, None
                self.faults["race"] += 1
                race()
        if self.rng.random() < self.plan.rate("throttled"):
            attempts = self.rng.choice((1, 2, 3, 5))  # botocore makes 5 attempts
            self.throttle_next(operation, attempts)
            self.faults["throttled"] += 1
            if attempts >= 5:
                self.faults["throttled_beyond_retries"] += 1
        if self.rng.random() < self.plan.rate("api_error"):
            self.faults["api_error"] += 1
            raise client_error(operation, _ERRORS.get(operation, "Unavailable"))

    def _answer_lifecycle(self, request, **_):
        body = request.body or b""
        params = parse_qs(body.decode() if isinstance(body, bytes) else body)
        operation = params.get("Action", [""])[0]
        if operation not in LIFECYCLE:
            return None
        instance_ids = [params[key][0] for key in sorted(params) if key.startswith("InstanceId.")]
        self.monitor.lifecycle(operation, instance_ids, self.observed)
        url = answered(request)
        try:
            changes = self.fleet.request(operation, instance_ids)
        except Refused as refused:
            self.faults[f"refused_{refused.code}"] += 1
            return ec2_error_response(url, refused.code, refused.message, status=400)
        return ec2_xml_response(url, _state_change_xml(operation, changes))

    def _after_call(self, http_response, parsed, model, **_):
        operation = model.name
        if http_response.status_code >= 300 or operation not in MUTATING:
            return
        if operation == "RunInstances":
            for instance in parsed.get("Instances", ()):
                self.fleet.launched(instance["InstanceId"], NAT, instance["Placement"]["AvailabilityZone"])
        self._mutations += 1
        if self._mutations == self._crash_after:
            self._crash_after = None
            self.faults["crash"] += 1
            raise SimulatedCrash(f"invocation died after its mutating call #{self._mutations} ({operation})")


def _state_change_xml(operation: str, changes: list[tuple[str, str, str]]) -> str:
    def state(tag: str, name: str) -> str:
        return f"<{tag}><code>{STATE_CODES[name]}</code><name>{name}</name></{tag}>"

    items = "".join(
        f"<item><instanceId>{iid}</instanceId>{state('currentState', current)}{state('previousState', previous)}</item>"
        for iid, previous, current in changes
    )
    return (
        f'<{operation}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>simulation</requestId><instancesSet>{items}</instancesSet></{operation}Response>"
    )
