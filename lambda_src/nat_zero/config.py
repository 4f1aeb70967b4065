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
# On a user's own Elastic IP (bring-your-own): never released by anything of ours.
EIP_OWNER_TAG = "nat-zero:eip-owner"
EIP_OWNER_USER = "user"

SCALE_TO_ZERO = "scale_to_zero"
ALWAYS_ON = "always_on"
MODES = (SCALE_TO_ZERO, ALWAYS_ON)
NO_FAILOVER = "none"
CROSS_AZ = "cross_az"
FAILOVERS = (NO_FAILOVER, CROSS_AZ)
EPHEMERAL = "ephemeral"
STATIC = "static"
EIP_MODES = (EPHEMERAL, STATIC)
# Tags of ours the reconciler never adds or removes on its own resources when it retags them.
RESERVED_TAG_PREFIXES = ("aws:", "nat-zero:")
# The key under which the region's dispatcher hands over the instance it read
# (lambda_src/nat_zero_dispatch/config.py INSTANCE_KEY, the same string).
DISPATCHED_INSTANCE_KEY = "nat-zero:instance"

_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
_LAUNCH_TEMPLATE_ID = re.compile(r"^lt-[0-9a-f]{8,17}$")
_AZ_NAME = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d[a-z]$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8,17}$")
_ALLOCATION_ID = re.compile(r"^eipalloc-[0-9a-f]{8,17}$")
# An EventBridge rule name.
_RULE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
# Where workloads come from (NAT_ZERO_WORKLOAD_SOURCES): EC2 instances, and
# with "ecs" also ECS tasks with awsvpc networking (Fargate or EC2 launch type).
WORKLOAD_SOURCES = ("ec2", "ecs")


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


class Zone(Record):
    az: str
    launch_template_id: str
    public_eni_id: str
    private_eni_id: str
    # Every private route table of the AZ (its 0.0.0.0/0 goes to private_eni_id).
    route_table_ids: tuple[str, ...] = ()
    # The AZ's private subnets: an ECS task event names its subnet, so a task
    # elsewhere is told apart without a read. Optional (older deployments).
    private_subnet_ids: tuple[str, ...] = ()


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
    mode: str = SCALE_TO_ZERO
    failover: str = NO_FAILOVER
    eip_mode: str = EPHEMERAL
    # Bring-your-own Elastic IPs, one allocation per AZ (static EIP mode).
    eip_allocations: dict[str, str] | None = None
    # The 1-minute EventBridge rule that sends {"action": "health"}; None: no health rule.
    health_rule: str | None = None
    workload_sources: tuple[str, ...] = ("ec2",)

    def zone_of_subnet(self, subnet_id: str) -> str | None:
        """The AZ whose private subnets include subnet_id, or None."""
        for az, zone in self.zones.items():
            if subnet_id in zone.private_subnet_ids:
                return az
        return None

    def eip_tags(self, az: str) -> dict[str, str]:
        return {
            **(self.user_tags or {}),
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
        zones[az] = Zone(
            az,
            zone["launch_template_id"],
            zone["public_eni_id"],
            zone["private_eni_id"],
            _route_table_ids(az, zone.get("route_table_ids")),
            _private_subnet_ids(az, zone.get("private_subnet_ids", [])),
        )
    return zones


def _route_table_ids(az: str, raw) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(r, str) and _ROUTE_TABLE_ID.match(r) for r in raw):
        raise ConfigError(
            f"environment variable NAT_ZERO_ZONES[{az!r}].route_table_ids={raw!r} is not a list of route table IDs"
        )
    return tuple(raw)


def _choice(env, key: str, choices: tuple[str, ...]) -> str:
    value = env.get(key, "").strip()
    if not value:
        return choices[0]
    if value not in choices:
        raise ConfigError(f"environment variable {key}={value!r} is not one of {', '.join(choices)}")
    return value


def _optional_json(env, key: str):
    """The variable's JSON value, or {} when it is not set."""
    raw = env.get(key, "").strip()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable {key} is not valid JSON: {exc}") from None


def _private_subnet_ids(az: str, value) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) and _SUBNET_ID.match(s) for s in value):
        raise ConfigError(
            f"environment variable NAT_ZERO_ZONES[{az!r}].private_subnet_ids={value!r} is not a list of subnet IDs"
        )
    return tuple(value)


def _workload_sources(env, zones: dict[str, Zone]) -> tuple[str, ...]:
    raw = env.get("NAT_ZERO_WORKLOAD_SOURCES", "").strip() or "ec2"
    sources = tuple(s.strip() for s in raw.split(","))
    if not sources or any(s not in WORKLOAD_SOURCES for s in sources) or len(set(sources)) != len(sources):
        raise ConfigError(
            f"environment variable NAT_ZERO_WORKLOAD_SOURCES={raw!r} must be a comma list of {', '.join(WORKLOAD_SOURCES)}"
        )
    missing = [az for az, zone in zones.items() if not zone.private_subnet_ids]
    if "ecs" in sources and missing:
        # A task is placed by its subnet: without them every task would be ignored.
        raise ConfigError(
            f"environment variable NAT_ZERO_WORKLOAD_SOURCES includes ecs but NAT_ZERO_ZONES{missing!r} "
            "have no private_subnet_ids"
        )
    return sources


def _eip_allocations(env, zones: dict[str, Zone]) -> dict[str, str]:
    data = _optional_json(env, "NAT_ZERO_EIP_ALLOCATIONS")
    if not isinstance(data, dict):
        raise ConfigError("environment variable NAT_ZERO_EIP_ALLOCATIONS must be a JSON object keyed by AZ")
    for az, allocation_id in data.items():
        if az not in zones or not isinstance(allocation_id, str) or not _ALLOCATION_ID.match(allocation_id):
            raise ConfigError(
                f"environment variable NAT_ZERO_EIP_ALLOCATIONS[{az!r}]={allocation_id!r} is not an allocation ID "
                "of one of the deployment's AZs"
            )
    return dict(data)


def _health_rule(env) -> str | None:
    value = env.get("NAT_ZERO_HEALTH_RULE", "").strip()
    if value and not _RULE_NAME.match(value):
        raise ConfigError(f"environment variable NAT_ZERO_HEALTH_RULE={value!r} is not an EventBridge rule name")
    return value or None


def _user_tags(env) -> dict[str, str]:
    tags = _optional_json(env, "NAT_ZERO_TAGS")
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
    zones = _zones(env)
    return Config(
        name=_matching(env, "NAT_ZERO_NAME", _NAME, "deployment name"),
        vpc_id=_matching(env, "NAT_ZERO_VPC_ID", _VPC_ID, "VPC ID"),
        region=region,
        zones=zones,
        config_version=_required(env, "NAT_ZERO_CONFIG_VERSION"),
        nat_tag=(env.get("NAT_ZERO_NAT_TAG_KEY") or "nat-zero:managed", env.get("NAT_ZERO_NAT_TAG_VALUE") or "true"),
        ignore_tag=(
            env.get("NAT_ZERO_IGNORE_TAG_KEY") or "nat-zero:ignore",
            env.get("NAT_ZERO_IGNORE_TAG_VALUE") or "true",
        ),
        account_id=account_id,
        user_tags=_user_tags(env),
        metrics=env.get("NAT_ZERO_METRICS", "").strip().lower() == "true",
        mode=_choice(env, "NAT_ZERO_MODE", MODES),
        failover=_choice(env, "NAT_ZERO_FAILOVER", FAILOVERS),
        eip_mode=_choice(env, "NAT_ZERO_EIP_MODE", EIP_MODES),
        eip_allocations=_eip_allocations(env, zones),
        health_rule=_health_rule(env),
        workload_sources=_workload_sources(env, zones),
    )
