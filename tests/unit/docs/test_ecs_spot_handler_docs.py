"""docs/ecs_spot_handler.md's inputs table and the role's defaults agree with
roles/ecs_spot_handler/meta/argument_specs.yml, and the contract's inputs are all there."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "ecs_spot_handler"
CONTRACT = [
    "name_prefix",
    "function_name",
    "timeout",
    "memory_size",
    "reserved_concurrent_executions",
    "log_level",
    "log_retention_days",
    "rule_name",
    "rule_state",
    "tags",
    "region",
    "state",
]


def spec_options() -> dict:
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


def docs_table() -> dict[str, str]:
    text = (REPO / "docs" / "ecs_spot_handler.md").read_text()
    return dict(re.findall(r"^\| `(ecs_spot_handler_\w+)` \| `([^`]*)` \|", text, re.MULTILINE))


def test_the_argument_spec_holds_exactly_the_contract_inputs():
    assert sorted(spec_options()) == sorted(f"ecs_spot_handler_{name}" for name in CONTRACT)


def test_the_defaults_file_matches_the_argument_spec():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults == {name: option["default"] for name, option in spec_options().items()}


def test_the_docs_table_lists_every_input_with_its_default():
    table = docs_table()
    assert sorted(table) == sorted(spec_options())
    for name, option in spec_options().items():
        shown = option["default"]
        expected = "{}" if shown == {} else '""' if shown == "" else str(shown)
        assert table[name] == expected, name
