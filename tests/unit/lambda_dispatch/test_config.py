"""The dispatcher's environment, and the names it shares with the reconciler and the role."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nat_zero import config as reconciler_config
from nat_zero_dispatch import config as dispatch_config
from nat_zero_dispatch.config import ConfigError, load_config

ROLE_VARS = Path(__file__).resolve().parents[3] / "roles/nat_zero/vars/main.yml"


def test_tag_keys_and_instance_key_are_the_reconciler_s_and_the_role_s():
    role_vars = yaml.safe_load(ROLE_VARS.read_text())

    assert (
        dispatch_config.DEPLOYMENT_TAG == reconciler_config.DEPLOYMENT_TAG == role_vars["nat_zero__deployment_tag_key"]
    )
    assert dispatch_config.VPC_TAG == reconciler_config.VPC_TAG == role_vars["nat_zero__vpc_tag_key"]
    assert dispatch_config.INSTANCE_KEY == reconciler_config.DISPATCHED_INSTANCE_KEY


def test_reconciler_name_suffix_is_the_role_s():
    role_vars = yaml.safe_load(ROLE_VARS.read_text())

    assert role_vars["nat_zero__function_name"] == "{{ nat_zero_name }}" + dispatch_config.RECONCILER_NAME_SUFFIX


def test_defaults():
    config = load_config({"AWS_REGION": "eu-west-1"})

    assert config.region == "eu-west-1"
    assert config.account_id is None
    assert config.registry_ttl_seconds == dispatch_config.DEFAULT_REGISTRY_TTL_SECONDS


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "NAT_ZERO_REGION"),
        ({"NAT_ZERO_REGION": "us-east-1", "NAT_ZERO_ACCOUNT_ID": "12345"}, "NAT_ZERO_ACCOUNT_ID"),
        ({"NAT_ZERO_REGION": "us-east-1", "NAT_ZERO_REGISTRY_TTL_SECONDS": "-5"}, "NAT_ZERO_REGISTRY_TTL_SECONDS"),
        (
            {"NAT_ZERO_REGION": "us-east-1", "NAT_ZERO_REGISTRY_REFRESH_SECONDS": "soon"},
            "NAT_ZERO_REGISTRY_REFRESH_SECONDS",
        ),
    ],
)
def test_bad_environment_names_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named):
        load_config(environ)
