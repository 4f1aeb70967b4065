"""The reconciler's botocore data directory: generated from the installed
botocore, complete for every call the reconciler makes, and enough for
botocore to resolve real endpoints."""

import ast
import re
from functools import partial
from pathlib import Path

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError

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

_VARIANTS = {
    "plain": {},
    "fips": {"AWS_USE_FIPS_ENDPOINT": "true"},
    "dualstack": {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
    "fips+dualstack": {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
}
_FULL_BOTOCORE = botocore.session.get_session()
_PARTITIONS = {p["id"]: p for p in _FULL_BOTOCORE.get_component("data_loader").load_data("partitions")["partitions"]}


def _regions(partition_id: str) -> list:
    """Every region the installed botocore knows in the partition: the rule
    set's list and the legacy endpoints.json's."""
    legacy = _FULL_BOTOCORE.get_component("data_loader").load_data("endpoints")["partitions"]
    regions = set(_PARTITIONS[partition_id]["regions"])
    regions |= {r for p in legacy if p["partition"] == partition_id for r in p.get("regions", {})}
    return sorted(regions)


def _endpoint(make_client) -> str:
    """The URL a new client sends DescribeAddresses to, or botocore's refusal
    (at client creation or at the call) of a variant the region lacks."""
    sent = []

    def capture(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 200, {}, _EmptyAddresses())

    try:
        client = make_client()
        client.meta.events.register_first("before-send.ec2", capture)
        client.describe_addresses()
    except BotoCoreError as refused:
        return f"refused: {type(refused).__name__}: {refused}"
    return sent[0]


class _EmptyAddresses:
    def stream(self, **_):
        yield b"<DescribeAddressesResponse><addressesSet/></DescribeAddressesResponse>"


@pytest.mark.parametrize("variant", sorted(_VARIANTS))
@pytest.mark.parametrize("partition_id", sorted(_PARTITIONS))
def test_every_region_resolves_the_endpoint_full_botocore_resolves(monkeypatch, partition_id, variant):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2", raising=False)
    for key in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in _VARIANTS[variant].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    regions = _regions(partition_id)
    assert regions, partition_id
    differ = {}
    for region in regions:
        aws._clients.clear()
        config = load_config(dict(GOOD_ENV, NAT_ZERO_REGION=region))
        ours = _endpoint(partial(ec2_client, config, CallCounter()))
        full = _endpoint(partial(_FULL_BOTOCORE.create_client, "ec2", region_name=region))
        if ours != full:
            differ[region] = (ours, full)
    aws._clients.clear()
    assert differ == {}


def test_the_comparison_sees_the_variants(monkeypatch):
    """The settings reach both clients: FIPS and dual-stack hosts differ from the plain one."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    aws._clients.clear()
    ours = _endpoint(lambda: ec2_client(load_config(GOOD_ENV), CallCounter()))
    aws._clients.clear()
    assert re.match(r"https://ec2\.us-east-1\.api\.aws/?$", ours)
