"""Run natzero.aws modules in-process against moto's mock_aws.

tests/unit/conftest.py makes `ansible_collections.natzero.aws...` importable.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

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
def hook_module_clients(aws, monkeypatch):
    """hook_module_clients(service, install): install(client) runs on each client
    of service a module creates, to add the AWS behaviour moto lacks (botocore
    event hooks, as tests/support/ec2_fidelity.py does)."""
    installers = {}
    original = aws_utils.AWSModule.client

    def client(self, service):
        created = service not in self._clients
        result = original(self, service)
        if created:
            for install in installers.get(service, ()):
                install(result)
        return result

    monkeypatch.setattr(aws_utils.AWSModule, "client", client)
    return lambda service, install: installers.setdefault(service, []).append(install)


LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def lam(aws):
    import boto3

    return boto3.client("lambda", region_name=REGION)


@pytest.fixture
def function_arn(lam):
    """A function prod-nat-zero that does nothing, for modules that act on one."""
    import boto3

    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    pass\n")
    return lam.create_function(
        FunctionName="prod-nat-zero",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]


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
    """A VPC with a public subnet (routed to an internet gateway), a private subnet and a private route
    table in us-east-1a (and a subnet in 1b)."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def subnet(cidr, az):
        return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]

    public_subnet_id = subnet("10.0.0.0/24", "us-east-1a")
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.associate_route_table(RouteTableId=public_route_table_id, SubnetId=public_subnet_id)
    return dict(
        vpc_id=vpc_id,
        az="us-east-1a",
        public_subnet_id=public_subnet_id,
        public_route_table_id=public_route_table_id,
        internet_gateway_id=igw_id,
        private_subnet_id=subnet("10.0.1.0/24", "us-east-1a"),
        private_cidr="10.0.1.0/24",
        other_az_subnet_id=subnet("10.0.2.0/24", "us-east-1b"),
        route_table_id=ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"],
    )
