"""Which faults a seed injects, and how often.

Each seed draws a rate per kind: off, low or high, so that some seeds are
calm and others stack every fault at once. When the chaos ends the plan is
calmed: events are delivered once and on time, reads are consistent, calls
succeed, and the deployment must converge.
"""

from __future__ import annotations

import random

# kind: (low, high) probability, per event, read, call or invocation as the kind says.
RATES = {
    "event_lost": (0.03, 0.12),  # per event published
    "event_duplicated": (0.05, 0.2),  # per event published
    "event_late": (0.05, 0.2),  # per event delivered: minutes instead of seconds
    "event_reordered": (0.15, 0.5),  # per invocation: not the oldest queued event
    "stale_read": (0.15, 0.5),  # per state change: the old state for a few reads
    "hidden_from_filtered_read": (0.2, 0.6),  # per launch: missing from filtered reads
    "throttled": (0.02, 0.08),  # per call: RequestLimitExceeded, sometimes beyond retries
    "api_error": (0.01, 0.05),  # per call: an error EC2 can answer to it
    "crash": (0.05, 0.2),  # per invocation: dies after its k-th mutating call
    "race": (0.05, 0.25),  # per invocation: the world changes between read and write
    "slow_shutdown": (0.1, 0.4),  # per termination: minutes in shutting-down
    "stray_nat": (0.15, 0.4),  # per seed: an instance with our NAT tags appears
    "config_change": (0.15, 0.4),  # per seed: the role is updated mid-run
    # per tenants' action: instead, a human or EC2 breaks the NAT's setup
    # (scenario.GAME_DAY: NAT stopped, terminated, rebooted, impaired; EIP
    # disassociated or released; route deleted or redirected; source/dest check on)
    "game_day": (0.1, 0.3),
}


class FaultPlan:
    def __init__(self, rng: random.Random):
        self.rates: dict[str, float] = {}
        for kind, (low, high) in RATES.items():
            self.rates[kind] = rng.choices((0.0, low, high), weights=(25, 45, 30))[0]

    def rate(self, kind: str) -> float:
        return self.rates[kind]

    def calm(self) -> None:
        self.rates = dict.fromkeys(self.rates, 0.0)

    def describe(self) -> str:
        return " ".join(f"{kind}={rate:g}" for kind, rate in sorted(self.rates.items()) if rate)
