"""The handler's settings, from its environment variables only."""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """The function's environment is not one the role would have set."""


class Config(NamedTuple):
    region: str
    # Empty: events of any account are handled (the role always sets it).
    account_id: str
    log_level: int


def load_config(environ=None) -> Config:
    environ = os.environ if environ is None else environ
    region = environ.get("ECS_SPOT_HANDLER_REGION") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("ECS_SPOT_HANDLER_REGION is not set (nor AWS_REGION)")
    account_id = environ.get("ECS_SPOT_HANDLER_ACCOUNT_ID", "")
    if account_id and not (len(account_id) == 12 and account_id.isdigit()):
        raise ConfigError(f"ECS_SPOT_HANDLER_ACCOUNT_ID {account_id!r} is not a 12-digit account ID")
    level_name = environ.get("ECS_SPOT_HANDLER_LOG_LEVEL", "INFO").upper()
    if level_name not in LOG_LEVELS:
        raise ConfigError(f"ECS_SPOT_HANDLER_LOG_LEVEL {level_name!r} is not one of {', '.join(LOG_LEVELS)}")
    return Config(region=region, account_id=account_id, log_level=getattr(logging, level_name))
