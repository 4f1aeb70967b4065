"""Run natzero.aws modules in-process against moto's mock_aws.

tests/unit/conftest.py makes `ansible_collections.natzero.aws...` importable.
"""

from __future__ import annotations

import json
import os

import botocore.session
import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from moto import mock_aws

from ansible_collections.natzero.aws.plugins.module_utils import aws as aws_utils

REGION = "us-east-1"


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(json.dumps(result, default=str))
        self.result = result


class ModuleFail(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


@pytest.fixture(scope="module", autouse=True)
def shared_botocore_loader():
    """Every module run builds a fresh boto3 session; one shared data loader
    spares each of them parsing the service models again (seconds over the suite)."""
    original = botocore.session.create_loader
    loader = original()
    botocore.session.create_loader = lambda *args, **kwargs: loader
    yield
    botocore.session.create_loader = original


@pytest.fixture
def aws(monkeypatch):
    """An empty moto account in us-east-1; retries and waits do not sleep."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "EC2_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(aws_utils, "sleep", lambda seconds: None)
    with mock_aws():
        yield


@pytest.fixture
def run_module(aws, monkeypatch):
    """run_module(module, args, check_mode=False, diff=False) -> result; raises ModuleFail on failure."""

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleFail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            try:
                module.main()
            except ModuleExit as exc:
                return exc.result
        raise AssertionError("the module neither exited nor failed")

    return run


@pytest.fixture
def fails(run_module):
    """fails(module, args, **kw) -> the failure result; the run must fail."""

    def run(module, args, **kwargs):
        with pytest.raises(ModuleFail) as info:
            run_module(module, args, **kwargs)
        return info.value.result

    return run


@pytest.fixture
def ec2(aws):
    import boto3

    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def vpc(ec2):
    """A VPC with a public and a private subnet and a private route table in us-east-1a (and a subnet in 1b)."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def subnet(cidr, az):
        return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]

    return dict(
        vpc_id=vpc_id,
        az="us-east-1a",
        public_subnet_id=subnet("10.0.0.0/24", "us-east-1a"),
        private_subnet_id=subnet("10.0.1.0/24", "us-east-1a"),
        private_cidr="10.0.1.0/24",
        other_az_subnet_id=subnet("10.0.2.0/24", "us-east-1b"),
        route_table_id=ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"],
    )
