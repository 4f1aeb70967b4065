"""The EC2 client, created once per container, with a per-invocation call count."""

from __future__ import annotations

import os
from collections import Counter

import botocore.session
from botocore.config import Config as BotocoreConfig
from botocore.loaders import Loader

from .config import Config

# The EC2 operations the reconciler calls (DescribeNetworkInterfaces: the
# ENIs of ECS tasks, with NAT_ZERO_WORKLOAD_SOURCES including ecs), and the only ones in the trimmed
# service model it ships (tools/trim_service_model.py). Decoding the full
# model is most of botocore's cold start.
EC2_OPERATIONS = (
    "AllocateAddress",
    "AssociateAddress",
    "CreateRoute",
    "CreateTags",
    "DeleteTags",
    "DescribeAddresses",
    "DescribeInstanceStatus",
    "DescribeInstances",
    "DescribeNetworkInterfaces",
    "DescribeRouteTables",
    "DisassociateAddress",
    "ModifyNetworkInterfaceAttribute",
    "ReleaseAddress",
    "ReplaceRoute",
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "TerminateInstances",
)
EC2_PAGINATORS = ("DescribeInstances", "DescribeNetworkInterfaces")
MUTATING_OPERATIONS = tuple(op for op in EC2_OPERATIONS if not op.startswith("Describe"))
MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "botocore_data")

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
        return sum(n for op, n in self.calls.items() if op.startswith(("Describe", "List")))

    @property
    def writes(self) -> int:
        return sum(self.calls.values()) - self.reads

    def summary(self) -> dict:
        return {"reads": self.reads, "writes": self.writes, "by_operation": dict(sorted(self.calls.items()))}


class TrimmedDataLoader(Loader):
    """Searches only MODEL_DIR, and counts it as botocore's own data.

    botocore feeds the EC2 endpoint rule set the legacy endpoints.json lookup
    whenever endpoints.json comes from outside its package (args.py:
    compute_endpoint_resolver_builtin_defaults), and that lookup differs from
    the rule set (dual-stack in the ISO partitions, for one). MODEL_DIR holds
    unchanged copies of botocore's rule set and partitions.json, so the rule
    set resolves every endpoint exactly as a full botocore client does."""

    def __init__(self):
        super().__init__(extra_search_paths=[MODEL_DIR], include_default_search_paths=False)

    def is_builtin_path(self, path):
        return os.path.abspath(path).startswith(MODEL_DIR + os.sep) or super().is_builtin_path(path)


_clients = {}


def ec2_client(config: Config, counter: CallCounter):
    """One client per region and counter, reused across warm invocations."""
    key = (config.region, id(counter))
    client = _clients.get(key)
    if client is None:
        session = botocore.session.get_session()
        # The only data directory searched: botocore neither lists nor decodes
        # the data of the services the reconciler never calls.
        session.register_component("data_loader", TrimmedDataLoader())
        client = session.create_client("ec2", region_name=config.region, config=_CLIENT_CONFIG)
        client.meta.events.register("before-call.ec2.*", counter.on_call)
        _clients[key] = client
    return client


_events_clients = {}


def events_client(config: Config, counter: CallCounter):
    """EventBridge, for the health rule only: called when a NAT comes or goes,
    never on a steady run, so its model is read from botocore's own data (the
    runtime's) instead of being shipped trimmed."""
    key = (config.region, id(counter))
    client = _events_clients.get(key)
    if client is None:
        client = botocore.session.get_session().create_client(
            "events", region_name=config.region, config=_CLIENT_CONFIG
        )
        client.meta.events.register("before-call.events.*", counter.on_call)
        _events_clients[key] = client
    return client


_ecs_clients = {}


def ecs_client(config: Config, counter: CallCounter):
    """ECS, for the ignore tag of tasks only: read when a task would start a
    NAT or be all that keeps one running, so, as for EventBridge, its model
    comes from the runtime's botocore data instead of being shipped trimmed."""
    key = (config.region, id(counter))
    client = _ecs_clients.get(key)
    if client is None:
        client = botocore.session.get_session().create_client("ecs", region_name=config.region, config=_CLIENT_CONFIG)
        client.meta.events.register("before-call.ecs.*", counter.on_call)
        _ecs_clients[key] = client
    return client
