"""The ECS client, created once per container and region."""

from __future__ import annotations

import boto3
from botocore.config import Config as BotocoreConfig

# At most 3 retries (4 attempts): botocore's standard mode retries throttling,
# 5xx and connection errors with full-jitter exponential backoff
# (random(0, 1) * 2**attempt seconds, capped at 20 s). Three retries cost at
# most about 7 s, well inside the default 60 s timeout; beyond that the
# invocation fails and Lambda's asynchronous retry takes over.
MAX_ATTEMPTS = 4
CLIENT_CONFIG = BotocoreConfig(
    # total_max_attempts counts the first call; retries' max_attempts would not.
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=5,
    read_timeout=10,
)

_clients = {}


def ecs_client(region: str):
    client = _clients.get(region)
    if client is None:
        client = boto3.session.Session().client("ecs", region_name=region, config=CLIENT_CONFIG)
        _clients[region] = client
    return client
