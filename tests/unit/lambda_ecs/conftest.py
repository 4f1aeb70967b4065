"""Moto's ECS with ECS's real deployment behaviour on top, and the handler
called in-process as Lambda would."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from ecs_spot_handler import aws as handler_aws
from ecs_spot_handler.aws import ecs_client
from playbooks.sandbox.ecs_emulation import real_ecs_deployments
from tests.support.ecs_fidelity import EcsWire
from tests.support.ecs_world import REGION, EcsWorld, set_handler_environment


class FakeContext:
    aws_request_id = "req-0001"


@pytest.fixture
def handler_env(monkeypatch):
    set_handler_environment(monkeypatch)
    yield
    handler_aws._clients.clear()


@pytest.fixture
def world(handler_env):
    with mock_aws(), real_ecs_deployments():
        yield EcsWorld()


@pytest.fixture
def wire(world):
    """Hooks on the very client the handler uses (one per container and region)."""
    hooks = EcsWire(ecs_client(REGION))
    yield hooks
    hooks.uninstall()


@pytest.fixture
def log_lines(capsys):
    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    return read
