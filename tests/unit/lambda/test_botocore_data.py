"""The reconciler's botocore data directory: generated from the installed
botocore, complete for every call the reconciler makes, and enough for
botocore to resolve real endpoints."""

import ast
import json
import re
from functools import partial
from pathlib import Path

import pytest

from nat_zero import aws
from nat_zero.aws import EC2_OPERATIONS, CallCounter, ec2_client
from nat_zero.config import load_config
from tests.support.lambda_env import GOOD_ENV
from tools import trim_service_model

REPO = Path(__file__).resolve().parents[3]


def test_committed_data_is_what_the_installed_botocore_generates():
    for relative, text in trim_service_model.trimmed_models().items():
        assert (Path(aws.MODEL_DIR) / relative).read_text() == text, f"regenerate {relative}"


def _called_operations():
    """Every self.ec2.<method>( call in the reconciler, as an EC2 operation name."""
    called = set()
    for path in (REPO / "lambda_src" / "nat_zero").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "ec2":
                if node.attr == "get_paginator":
                    continue
                called.add("".join(part.title() for part in node.attr.split("_")))
    return called


def test_every_operation_the_reconciler_calls_is_in_the_model():
    called = _called_operations()
    assert called, "the scan found no EC2 calls"
    assert called <= set(EC2_OPERATIONS)


def test_client_has_exactly_the_trimmed_operations(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws._clients.clear()
    client = ec2_client(load_config(GOOD_ENV), CallCounter())
    assert sorted(client.meta.service_model.operation_names) == sorted(EC2_OPERATIONS)
    assert client.can_paginate("describe_instances")
    aws._clients.clear()


# -- endpoints: the reconciler's client against a full botocore client -------------------------

_TABLE = json.loads(trim_service_model.ENDPOINT_TABLE.read_text())


def test_the_endpoint_table_is_what_a_full_client_of_the_installed_botocore_resolves():
    assert trim_service_model.endpoint_table() == _TABLE, "regenerate: python tools/trim_service_model.py"


@pytest.mark.parametrize("variant", sorted(trim_service_model.VARIANTS))
@pytest.mark.parametrize("partition_id", sorted(_TABLE))
def test_every_region_resolves_the_endpoint_full_botocore_resolves(monkeypatch, partition_id, variant):
    """Against the table of the botocore the data comes from (above: the
    installed one), also when an older botocore runs the reconciler."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2", raising=False)
    for key in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in trim_service_model.VARIANTS[variant].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    expected = _TABLE[partition_id][variant]
    assert expected, partition_id
    differ = {}
    for region, full in expected.items():
        aws._clients.clear()
        config = load_config(dict(GOOD_ENV, NAT_ZERO_REGION=region))
        ours = trim_service_model.resolved_endpoint(partial(ec2_client, config, CallCounter()))
        if ours != full:
            differ[region] = (ours, full)
    aws._clients.clear()
    assert differ == {}


def test_the_table_holds_every_variant():
    """FIPS and dual-stack hosts differ from the plain one: the variants reached the full client."""
    us_east_1 = {variant: _TABLE["aws"][variant]["us-east-1"] for variant in trim_service_model.VARIANTS}
    assert re.match(r"https://ec2\.us-east-1\.amazonaws\.com/?$", us_east_1["plain"])
    assert re.match(r"https://ec2-fips\.us-east-1\.amazonaws\.com/?$", us_east_1["fips"])
    assert re.match(r"https://ec2\.us-east-1\.api\.aws/?$", us_east_1["dualstack"])
    assert re.match(r"https://ec2-fips\.us-east-1\.api\.aws/?$", us_east_1["fips+dualstack"])
