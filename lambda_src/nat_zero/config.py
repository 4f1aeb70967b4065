"""Run-time configuration, read from the function's environment only.

The role writes these variables; a test can read the deployed function's
environment, set it, and call the handler in-process.
"""

from __future__ import annotations

import json
import os
import re

from .record import Record

# Tag keys shared by the role and the reconciler (one name, everywhere).
DEPLOYMENT_TAG = "nat-zero:deployment"
VPC_TAG = "nat-zero:vpc"
AZ_TAG = "nat-zero:az"
CONFIG_VERSION_TAG = "nat-zero:config-version"
# Written by the NAT itself (nat-bootstrap.sh): "<status> <UTC time>".
DATAPLANE_TAG = "nat-zero:dataplane"
# The key under which the region's dispatcher hands over the instance it read
# (lambda_src/nat_zero_dispatch/config.py INSTANCE_KEY, the same string).
DISPATCHED_INSTANCE_KEY = "nat-zero:instance"

_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
_LAUNCH_TEMPLATE_ID = re.compile(r"^lt-[0-9a-f]{8,17}$")
_AZ_NAME = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d[a-z]$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


class Zone(Record):
    az: str
    launch_template_id: str
    public_eni_id: str
    private_eni_id: str


class Config(Record):
    name: str
    vpc_id: str
    region: str
    zones: dict[str, Zone]
    config_version: str
    nat_tag: tuple[str, str]
    ignore_tag: tuple[str, str]
    account_id: str | None = None
    # The user's own tags (nat_zero_tags), for cost allocation: RunInstances
    # tags replace the launch template's, so the reconciler sends them too.
    user_tags: dict[str, str] | None = None
    # Write CloudWatch EMF metric lines (metrics.py); each metric costs money, so off unless asked.
    metrics: bool = False

    def eip_tags(self, az: str) -> dict[str, str]:
        return {
            "Name": f"{self.name}-nat-{az}",
            self.nat_tag[0]: self.nat_tag[1],
            DEPLOYMENT_TAG: self.name,
            VPC_TAG: self.vpc_id,
            AZ_TAG: az,
        }

    def nat_instance_tags(self, az: str) -> dict[str, str]:
        return {
            **(self.user_tags or {}),
            "Name": f"{self.name}-nat-{az}",
            self.nat_tag[0]: self.nat_tag[1],
            DEPLOYMENT_TAG: self.name,
            AZ_TAG: az,
            CONFIG_VERSION_TAG: self.config_version,
        }


def _required(env, key: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigError(f"environment variable {key} is required but not set")
    return value


def _matching(env, key: str, pattern, what: str) -> str:
    value = _required(env, key)
    if not pattern.match(value):
        raise ConfigError(f"environment variable {key}={value!r} is not a valid {what}")
    return value


def _zones(env) -> dict[str, Zone]:
    raw = _required(env, "NAT_ZERO_ZONES")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable NAT_ZERO_ZONES is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError("environment variable NAT_ZERO_ZONES must be a non-empty JSON object keyed by AZ")
    zones = {}
    for az, zone in data.items():
        if not _AZ_NAME.match(str(az)) or not isinstance(zone, dict):
            raise ConfigError(f"environment variable NAT_ZERO_ZONES has a malformed entry for {az!r}")
        checks = (
            ("launch_template_id", _LAUNCH_TEMPLATE_ID),
            ("public_eni_id", _ENI_ID),
            ("private_eni_id", _ENI_ID),
        )
        for field_name, pattern in checks:
            if not pattern.match(str(zone.get(field_name, ""))):
                raise ConfigError(
                    f"environment variable NAT_ZERO_ZONES[{az!r}].{field_name}="
                    f"{zone.get(field_name)!r} is not a valid ID"
                )
        zones[az] = Zone(az, zone["launch_template_id"], zone["public_eni_id"], zone["private_eni_id"])
    return zones


def _user_tags(env) -> dict[str, str]:
    raw = env.get("NAT_ZERO_TAGS", "").strip()
    if not raw:
        return {}
    try:
        tags = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable NAT_ZERO_TAGS is not valid JSON: {exc}") from None
    if not isinstance(tags, dict) or any(isinstance(v, (dict, list)) for v in tags.values()):
        raise ConfigError("environment variable NAT_ZERO_TAGS must be a JSON object of tag keys and scalar values")
    # As the role's modules store them (module_utils/tags.py normalize_tags).
    return {k: "" if v is None else str(v) for k, v in tags.items()}


def load_config(env=None) -> Config:
    env = os.environ if env is None else env
    region = env.get("NAT_ZERO_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("environment variable NAT_ZERO_REGION (or AWS_REGION) is required but not set")
    account_id = env.get("NAT_ZERO_ACCOUNT_ID", "").strip() or None
    if account_id and not _ACCOUNT_ID.match(account_id):
        raise ConfigError(f"environment variable NAT_ZERO_ACCOUNT_ID={account_id!r} is not a 12-digit account ID")
    return Config(
        name=_matching(env, "NAT_ZERO_NAME", _NAME, "deployment name"),
        vpc_id=_matching(env, "NAT_ZERO_VPC_ID", _VPC_ID, "VPC ID"),
        region=region,
        zones=_zones(env),
        config_version=_required(env, "NAT_ZERO_CONFIG_VERSION"),
        nat_tag=(env.get("NAT_ZERO_NAT_TAG_KEY") or "nat-zero:managed", env.get("NAT_ZERO_NAT_TAG_VALUE") or "true"),
        ignore_tag=(
            env.get("NAT_ZERO_IGNORE_TAG_KEY") or "nat-zero:ignore",
            env.get("NAT_ZERO_IGNORE_TAG_VALUE") or "true",
        ),
        account_id=account_id,
        user_tags=_user_tags(env),
        metrics=env.get("NAT_ZERO_METRICS", "").strip().lower() == "true",
    )
