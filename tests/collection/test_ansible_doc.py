"""`ansible-doc` is the user's manual: every module and the role's argument
spec render as text, without a warning, with the shared AWS connection options
documented once through the doc fragment."""

from __future__ import annotations

import re

import pytest

from tests.collection.conftest import ansible_env, module_names
from tests.support.runs import BIN, run
from tests.unit.docs.test_ecs_spot_handler_docs import CONTRACT as ECS_SPOT_HANDLER_CONTRACT

CONNECTION_OPTIONS = (
    "region",
    "profile",
    "endpoint_url",
    "access_key",
    "secret_key",
    "session_token",
    "validate_certs",
)


@pytest.fixture(scope="module")
def ansible_doc(checkout_collections, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("ansible-doc")

    def render(*arguments: str):
        result = run(
            [str(BIN / "ansible-doc"), *arguments],
            cwd=scratch,
            env=ansible_env(checkout_collections, {"COLUMNS": "160", "PAGER": "cat"}),
        )
        assert result.returncode == 0, result.output
        return result

    return render


def warnings_in(output: str):
    return [line for line in output.splitlines() if line.startswith(("[WARNING]", "[DEPRECATION WARNING]", "[ERROR]"))]


@pytest.mark.parametrize("module", module_names())
def test_module_renders_without_warnings_with_the_connection_options(ansible_doc, module):
    text = ansible_doc("-t", "module", f"natzero.aws.{module}").output

    assert warnings_in(text) == []
    assert f"natzero.aws.{module}" in text
    for option in CONNECTION_OPTIONS:
        assert f"{option}" in text, option
    assert "EXAMPLES:" in text and "RETURN VALUES:" in text


def test_the_module_list_names_every_module(ansible_doc):
    text = ansible_doc("-t", "module", "--list", "natzero.aws").output

    assert warnings_in(text) == []
    listed = sorted(line.split()[0] for line in text.splitlines() if line.startswith("natzero.aws."))
    assert listed == [f"natzero.aws.{m}" for m in module_names()]


def test_the_role_argument_spec_renders_without_warnings(ansible_doc):
    text = ansible_doc("-t", "role", "natzero.aws.nat_zero").output

    assert warnings_in(text) == []
    assert re.search(r"^ENTRY POINT: \W*main\W", text, re.MULTILINE)
    for option in ("nat_zero_name", "nat_zero_vpc_id", "nat_zero_availability_zones", "nat_zero_state"):
        assert option in text, option


def test_the_ecs_spot_handler_argument_spec_renders_every_contract_input(ansible_doc):
    text = ansible_doc("-t", "role", "natzero.aws.ecs_spot_handler").output

    assert warnings_in(text) == []
    assert re.search(r"^ENTRY POINT: \W*main\W", text, re.MULTILINE)
    for name in ECS_SPOT_HANDLER_CONTRACT:
        assert f"ecs_spot_handler_{name}" in text, name


def test_the_roles_are_listed(ansible_doc):
    text = ansible_doc("-t", "role", "--list", "natzero.aws").output

    assert "natzero.aws.nat_zero" in text
    assert "natzero.aws.ecs_spot_handler" in text
