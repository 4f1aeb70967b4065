"""The reconciler's botocore data directory: generated from the installed
botocore, complete for every call the reconciler makes, and enough for
botocore to resolve real endpoints."""

import ast
import re
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse

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


@pytest.mark.parametrize(
    "region,host",
    [
        ("us-east-1", "ec2.us-east-1.amazonaws.com"),
        ("eu-west-1", "ec2.eu-west-1.amazonaws.com"),
        ("cn-north-1", "ec2.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "ec2.us-gov-west-1.amazonaws.com"),
    ],
)
def test_real_endpoints_resolve_from_the_trimmed_data(monkeypatch, region, host):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws._clients.clear()
    client = ec2_client(load_config(dict(GOOD_ENV, NAT_ZERO_REGION=region)), CallCounter())
    sent = []

    class Body:
        def stream(self, **_):
            yield b"<DescribeAddressesResponse><addressesSet/></DescribeAddressesResponse>"

    def capture(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 200, {}, Body())

    client.meta.events.register_first("before-send.ec2", capture)
    client.describe_addresses()
    aws._clients.clear()
    assert re.match(rf"https://{re.escape(host)}/?$", sent[0])
