"""The EC2 client, created once per container, with a per-invocation call count."""

from __future__ import annotations

from collections import Counter

import botocore.session
from botocore.config import Config as BotocoreConfig

from .config import Config

# Standard mode retries throttling and transient errors with jittered
# exponential backoff; the sweep repairs whatever still fails after that.
_CLIENT_CONFIG = BotocoreConfig(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=15,
)


class CallCounter:
    """Counts the AWS API calls an invocation makes (retries not included)."""

    def __init__(self):
        self.calls = Counter()

    def reset(self):
        self.calls.clear()

    def on_call(self, model, **_):
        self.calls[model.name] += 1

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("Describe"))

    @property
    def writes(self) -> int:
        return sum(self.calls.values()) - self.reads

    def summary(self) -> dict:
        return {"reads": self.reads, "writes": self.writes, "by_operation": dict(sorted(self.calls.items()))}


_clients = {}


def ec2_client(config: Config, counter: CallCounter):
    """One client per region and counter, reused across warm invocations."""
    key = (config.region, id(counter))
    client = _clients.get(key)
    if client is None:
        session = botocore.session.get_session()
        client = session.create_client("ec2", region_name=config.region, config=_CLIENT_CONFIG)
        client.meta.events.register("before-call.ec2.*", counter.on_call)
        _clients[key] = client
    return client
