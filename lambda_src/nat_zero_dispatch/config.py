"""The dispatcher's settings, from its environment variables only.

The tag keys and the reconciler's name suffix are the role's contract with
the reconciler (roles/nat_zero/vars/main.yml, lambda_src/nat_zero/config.py):
every reconciler function is named "<deployment>-nat-zero" and tagged with
its deployment and its VPC.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

DEPLOYMENT_TAG = "nat-zero:deployment"
VPC_TAG = "nat-zero:vpc"
RECONCILER_NAME_SUFFIX = "-nat-zero"
# The key of a dispatched event that carries the instance the dispatcher read
# (lambda_src/nat_zero/events.py reads it instead of reading the instance again).
INSTANCE_KEY = "nat-zero:instance"
# How long a warm container trusts its registry of reconcilers, and how
# often at most an event of a VPC it does not know makes it read again.
DEFAULT_REGISTRY_TTL_SECONDS = 300
DEFAULT_REFRESH_INTERVAL_SECONDS = 10

_ACCOUNT_ID = re.compile(r"^\d{12}$")


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


class Config(NamedTuple):
    region: str
    # None: events of any account are dispatched (the role always sets it).
    account_id: str | None
    registry_ttl_seconds: int
    refresh_interval_seconds: int


def _seconds(environ, key: str, default: int) -> int:
    raw = environ.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"environment variable {key}={raw!r} is not a whole number of seconds")
    return int(raw)


def load_config(environ=None) -> Config:
    environ = os.environ if environ is None else environ
    region = environ.get("NAT_ZERO_REGION") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("environment variable NAT_ZERO_REGION is not set (nor AWS_REGION)")
    account_id = environ.get("NAT_ZERO_ACCOUNT_ID", "").strip() or None
    if account_id and not _ACCOUNT_ID.match(account_id):
        raise ConfigError(f"environment variable NAT_ZERO_ACCOUNT_ID={account_id!r} is not a 12-digit account ID")
    return Config(
        region=region,
        account_id=account_id,
        registry_ttl_seconds=_seconds(environ, "NAT_ZERO_REGISTRY_TTL_SECONDS", DEFAULT_REGISTRY_TTL_SECONDS),
        refresh_interval_seconds=_seconds(
            environ, "NAT_ZERO_REGISTRY_REFRESH_SECONDS", DEFAULT_REFRESH_INTERVAL_SECONDS
        ),
    )
