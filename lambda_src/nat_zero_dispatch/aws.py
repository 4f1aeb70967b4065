"""The dispatcher's clients, created once per container, with a per-invocation call count."""

from __future__ import annotations

from collections import Counter

import boto3
from botocore.config import Config as BotocoreConfig

# Standard mode retries throttling and transient errors with jittered
# exponential backoff; what still fails fails the invocation, and Lambda's
# asynchronous retry delivers the event again.
CLIENT_CONFIG = BotocoreConfig(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=5,
    read_timeout=10,
)
SERVICES = ("ec2", "lambda", "resourcegroupstaggingapi")


class CallCounter:
    """Counts the AWS API calls of an invocation, by service and operation (retries not included)."""

    def __init__(self):
        self.calls = Counter()

    def reset(self) -> None:
        self.calls.clear()

    def on_call(self, model, **_) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def summary(self) -> dict:
        return dict(sorted(self.calls.items()))


_clients: dict = {}


def client(service: str, region: str, counter: CallCounter):
    """One client per service, region and counter, reused across warm invocations."""
    key = (service, region, id(counter))
    found = _clients.get(key)
    if found is None:
        found = boto3.session.Session().client(service, region_name=region, config=CLIENT_CONFIG)
        found.meta.events.register(f"before-call.{found.meta.service_model.service_id.hyphenize()}", counter.on_call)
        _clients[key] = found
    return found
