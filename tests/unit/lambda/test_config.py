"""A bad or missing setting fails with a message naming the variable."""

import json

import pytest

from nat_zero.config import ConfigError, load_config
from tests.support.lambda_env import GOOD_ENV


def test_good_environment_loads():
    config = load_config(GOOD_ENV)
    assert config.vpc_id == "vpc-0123456789abcdef0"
    assert config.nat_tag == ("nat-zero:managed", "true")
    assert config.ignore_tag == ("nat-zero:ignore", "true")
    assert set(config.zones) == {"us-east-1a"}
    assert config.zones["us-east-1a"].public_eni_id == "eni-0123456789abcdef0"


def test_region_falls_back_to_lambda_runtime_variable():
    env = {k: v for k, v in GOOD_ENV.items() if k != "NAT_ZERO_REGION"}
    env["AWS_REGION"] = "eu-west-1"
    assert load_config(env).region == "eu-west-1"


def test_users_tags_are_stored_as_aws_stores_them_and_go_on_every_nat():
    env = {**GOOD_ENV, "NAT_ZERO_TAGS": json.dumps({"CostCenter": 42, "owner": None, "Name": "mine"})}
    tags = load_config(env).nat_instance_tags("us-east-1a")
    assert tags["CostCenter"] == "42" and tags["owner"] == ""
    # The deployment's own tags win over the user's.
    assert tags["Name"] != "mine" and tags["nat-zero:managed"] == "true"


def test_workload_sources_default_to_instances_only():
    assert load_config(GOOD_ENV).workload_sources == ("ec2",)


def test_ecs_tasks_are_placed_by_the_private_subnets_of_each_zone():
    zones = json.loads(GOOD_ENV["NAT_ZERO_ZONES"])
    zones["us-east-1a"]["private_subnet_ids"] = ["subnet-0123456789abcdef0"]
    env = {**GOOD_ENV, "NAT_ZERO_ZONES": json.dumps(zones), "NAT_ZERO_WORKLOAD_SOURCES": "ec2,ecs"}
    config = load_config(env)
    assert config.workload_sources == ("ec2", "ecs")
    assert config.zone_of_subnet("subnet-0123456789abcdef0") == "us-east-1a"
    assert config.zone_of_subnet("subnet-0fffffffffffffff0") is None


def test_malformed_private_subnet_ids_name_the_variable():
    zones = json.loads(GOOD_ENV["NAT_ZERO_ZONES"])
    zones["us-east-1a"]["private_subnet_ids"] = "subnet-0123456789abcdef0"
    with pytest.raises(ConfigError, match=r"NAT_ZERO_ZONES\['us-east-1a'\].private_subnet_ids"):
        load_config({**GOOD_ENV, "NAT_ZERO_ZONES": json.dumps(zones)})


def test_users_tags_are_optional():
    assert load_config(GOOD_ENV).user_tags == {}


BROKEN = [
    ("NAT_ZERO_NAME", None),
    ("NAT_ZERO_NAME", "has spaces"),
    ("NAT_ZERO_VPC_ID", None),
    ("NAT_ZERO_VPC_ID", "vpc-XYZ"),
    ("NAT_ZERO_CONFIG_VERSION", ""),
    ("NAT_ZERO_ZONES", None),
    ("NAT_ZERO_ZONES", "{not json"),
    ("NAT_ZERO_ZONES", "[]"),
    ("NAT_ZERO_ZONES", json.dumps({"moon-1a": {}})),
    ("NAT_ZERO_ZONES", json.dumps({"us-east-1a": {"launch_template_id": "lt-0123456789abcdef0"}})),
    ("NAT_ZERO_REGION", None),
    ("NAT_ZERO_ACCOUNT_ID", "12345"),
    ("NAT_ZERO_TAGS", "{not json"),
    ("NAT_ZERO_TAGS", "[]"),
    ("NAT_ZERO_TAGS", json.dumps({"team": {"nested": "no"}})),
    ("NAT_ZERO_MODE", "always"),
    ("NAT_ZERO_FAILOVER", "cross-az"),
    ("NAT_ZERO_EIP_MODE", "fixed"),
    ("NAT_ZERO_EIP_ALLOCATIONS", "{not json"),
    ("NAT_ZERO_EIP_ALLOCATIONS", json.dumps(["eipalloc-0123456789abcdef0"])),
    ("NAT_ZERO_EIP_ALLOCATIONS", json.dumps({"us-east-1a": "eip-1"})),
    ("NAT_ZERO_EIP_ALLOCATIONS", json.dumps({"us-east-1b": "eipalloc-0123456789abcdef0"})),
    ("NAT_ZERO_HEALTH_RULE", "has spaces"),
    ("NAT_ZERO_WORKLOAD_SOURCES", "ec2,lambda"),
    ("NAT_ZERO_WORKLOAD_SOURCES", "ec2,ec2"),
    ("NAT_ZERO_WORKLOAD_SOURCES", "ec2,"),
    # ecs places a task by its subnet: the zones must name their private subnets.
    ("NAT_ZERO_WORKLOAD_SOURCES", "ec2,ecs"),
]


def _zones_with(**extra):
    zones = json.loads(GOOD_ENV["NAT_ZERO_ZONES"])
    zones["us-east-1a"].update(extra)
    return json.dumps(zones)


def test_missing_issue_17_settings_mean_the_old_behaviour():
    config = load_config(GOOD_ENV)
    assert (config.mode, config.failover, config.eip_mode) == ("scale_to_zero", "none", "ephemeral")
    assert config.eip_allocations == {} and config.health_rule is None
    assert config.zones["us-east-1a"].route_table_ids == ()


def test_issue_17_settings_are_read():
    env = {
        **GOOD_ENV,
        "NAT_ZERO_MODE": "always_on",
        "NAT_ZERO_FAILOVER": "cross_az",
        "NAT_ZERO_EIP_MODE": "static",
        "NAT_ZERO_EIP_ALLOCATIONS": json.dumps({"us-east-1a": "eipalloc-0123456789abcdef0"}),
        "NAT_ZERO_HEALTH_RULE": "demo-nat-zero-health",
        "NAT_ZERO_ZONES": _zones_with(route_table_ids=["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"]),
    }
    config = load_config(env)
    assert (config.mode, config.failover, config.eip_mode) == ("always_on", "cross_az", "static")
    assert config.eip_allocations == {"us-east-1a": "eipalloc-0123456789abcdef0"}
    assert config.health_rule == "demo-nat-zero-health"
    assert config.zones["us-east-1a"].route_table_ids == ("rtb-0123456789abcdef0", "rtb-0123456789abcdef1")


@pytest.mark.parametrize("route_table_ids", ["rtb-0123456789abcdef0", ["rtb-nope"], [7]])
def test_bad_route_table_ids_name_the_field(route_table_ids):
    env = {**GOOD_ENV, "NAT_ZERO_ZONES": _zones_with(route_table_ids=route_table_ids)}
    with pytest.raises(ConfigError, match=r"NAT_ZERO_ZONES\['us-east-1a'\]\.route_table_ids"):
        load_config(env)


@pytest.mark.parametrize("key,value", BROKEN)
def test_bad_setting_names_the_variable(key, value):
    env = dict(GOOD_ENV)
    if value is None:
        env.pop(key)
    else:
        env[key] = value
    with pytest.raises(ConfigError, match=key):
        load_config(env)
