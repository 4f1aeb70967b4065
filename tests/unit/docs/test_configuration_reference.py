"""docs/configuration.md and the role's defaults agree with meta/argument_specs.yml."""

from pathlib import Path

import yaml

from tools import config_reference

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "nat_zero"


def _options():
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


def test_configuration_reference_matches_argument_spec():
    current = config_reference.DOC.read_text()
    assert config_reference.rendered_document(current) == current, "run: python tools/config_reference.py"


def test_every_option_is_documented_with_its_default():
    table = (REPO / "docs" / "configuration.md").read_text()
    for name, option in _options().items():
        assert f"| `{name}` |" in table
        if not option.get("required"):
            assert name in table


def test_role_defaults_equal_argument_spec_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for name, option in _options().items():
        if option.get("required"):
            assert name not in defaults, f"{name} is required and must have no default"
        else:
            assert defaults.get(name) == option.get("default"), name


def test_design_contract_variables_are_all_in_the_spec():
    contract = {
        "nat_zero_name",
        "nat_zero_vpc_id",
        "nat_zero_availability_zones",
        "nat_zero_public_subnets",
        "nat_zero_private_subnets",
        "nat_zero_private_route_table_ids",
        "nat_zero_private_subnets_cidr_blocks",
        "nat_zero_region",
        "nat_zero_tags",
        "nat_zero_instance_type",
        "nat_zero_market_type",
        "nat_zero_ami_id",
        "nat_zero_ami_name_pattern",
        "nat_zero_ami_owner",
        "nat_zero_block_device_size",
        "nat_zero_block_device_iops",
        "nat_zero_block_device_throughput",
        "nat_zero_encrypt_root_volume",
        "nat_zero_nat_tag_key",
        "nat_zero_nat_tag_value",
        "nat_zero_ignore_tag_key",
        "nat_zero_ignore_tag_value",
        "nat_zero_lambda_memory_size",
        "nat_zero_enable_logging",
        "nat_zero_log_retention_days",
        "nat_zero_state",
    }
    assert contract <= set(_options())
