"""Run the deployed reconciler in-process, with the deployed function's environment."""

from __future__ import annotations

import importlib
from typing import Callable

from nat_zero import aws as nat_zero_aws

STATE_CHANGE = "EC2 Instance State-change Notification"


def state_change(instance_id: str, state: str, region: str = "us-east-1") -> dict:
    """The event EventBridge delivers for an EC2 instance state change."""
    return {
        "version": "0",
        "id": f"test-{instance_id}-{state}",
        "detail-type": STATE_CHANGE,
        "source": "aws.ec2",
        "account": "123456789012",
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:123456789012:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def deployed_handler(aws, function_name: str, endpoint: str, monkeypatch) -> Callable:
    """The function's Handler, imported from lambda_src, with its environment set."""
    configuration = aws("lambda").get_function_configuration(FunctionName=function_name)
    for key, value in configuration["Environment"]["Variables"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Clients cached by an earlier test may point elsewhere (in-process moto).
    nat_zero_aws._clients.clear()
    module_name, function = configuration["Handler"].rsplit(".", 1)
    return getattr(importlib.import_module(module_name), function)
