"""N deployments in one account and region, in moto: one VPC and one
reconciler function (named and tagged as the role names and tags it) per
deployment, and Lambda's asynchronous Invoke answered by running the named
reconciler in-process with its own environment, as Lambda would.

Moto cannot run a function without Docker; a before-call hook on the
caller's Lambda client stands in for Lambda: it checks what Lambda checks
(the function exists, the asynchronous payload is at most 256 KB), runs the
reconciler and answers 202 as Lambda does for InvocationType Event. Shared by
the dispatcher's unit tests and benchmarks/fleet_dispatch.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections import Counter

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tests.support.world import REGION, World, build_world

ACCOUNT = "123456789012"
# Lambda's limit for an asynchronous invocation's payload (Invoke API reference).
ASYNC_PAYLOAD_LIMIT = 256 * 1024


def reconciler_name(deployment: str) -> str:
    return f"{deployment}-nat-zero"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class Fleet:
    """Deployments `fleet-0` .. `fleet-{n-1}`, each in its own VPC (10.<i>.0.0/16)."""

    def __init__(self, size: int, ec2=None, azs=None):
        self.ec2 = ec2 or boto3.client("ec2", region_name=REGION)
        self.lambda_client = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="fleet-reconciler", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.worlds: dict[str, World] = {}
        self.arns: dict[str, str] = {}
        for i in range(size):
            name = f"fleet-{i}"
            world = build_world(name, ec2=self.ec2, cidr_second_octet=i, **({"azs": azs} if azs else {}))
            self.worlds[name] = world
            self.arns[name] = self.create_reconciler(name, world.vpc_id, role)

    def create_reconciler(self, deployment: str, vpc_id: str, role_arn: str) -> str:
        return self.lambda_client.create_function(
            FunctionName=reconciler_name(deployment),
            Runtime="python3.12",
            Role=role_arn,
            Handler="nat_zero.handler.handler",
            Code={"ZipFile": _zip()},
            Tags={"nat-zero:deployment": deployment, "nat-zero:vpc": vpc_id},
        )["FunctionArn"]

    def deployment_of_arn(self, function_arn: str) -> str | None:
        return next((name for name, arn in self.arns.items() if arn == function_arn), None)


class InProcessLambda:
    """Answers Invoke on a Lambda client by running the reconciler of the
    named function in-process; records every invocation and what it cost."""

    def __init__(self, fleet: Fleet, run_reconcilers: bool = True):
        self.fleet = fleet
        self.run_reconcilers = run_reconcilers
        self.invocations: list[dict] = []
        self.reconciler_calls = Counter()
        self._params: dict = {}

    def install(self, client) -> None:
        client.meta.events.register("before-parameter-build.lambda.Invoke", self._remember)
        client.meta.events.register("before-call.lambda.Invoke", self._invoke)

    def _remember(self, params, **_):
        self._params = dict(params)

    def _invoke(self, **_):
        params = self._params
        payload = params.get("Payload") or b"{}"
        payload = payload if isinstance(payload, bytes) else payload.encode()
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise ClientError(
                {
                    "Error": {
                        "Code": "RequestEntityTooLargeException",
                        "Message": "Request must be smaller than 262144 bytes",
                    }
                },
                "Invoke",
            )
        deployment = self.fleet.deployment_of_arn(params["FunctionName"])
        try:
            self.fleet.lambda_client.get_function(FunctionName=params["FunctionName"])
        except ClientError as exc:
            raise ClientError(exc.response, "Invoke") from None
        event = json.loads(payload)
        record = {"function": params["FunctionName"], "type": params.get("InvocationType"), "event": event}
        if self.run_reconcilers and deployment is not None:
            record["summary"] = run_reconciler(self.fleet.worlds[deployment], event)
            self.reconciler_calls.update(record["summary"]["aws_calls"]["by_operation"])
        self.invocations.append(record)
        return AWSResponse("https://lambda.invalid/", 202, {}, None), {"StatusCode": 202, "Payload": io.BytesIO(b"")}


@contextlib.contextmanager
def environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_reconciler(world: World, event: dict) -> dict:
    """The real reconciler handler, in-process, with `world`'s environment."""
    from nat_zero import handler

    with environment(world.env()), contextlib.redirect_stdout(io.StringIO()):
        return handler.handler(event, None)
