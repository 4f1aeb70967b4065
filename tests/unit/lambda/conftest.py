import pytest
from moto import mock_aws

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.support.ec2_fidelity import Ec2Fidelity
from tests.support.world import REGION, build_world


@pytest.fixture
def aws_env(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    nat_zero_aws._clients.clear()
    nat_zero_aws._events_clients.clear()
    nat_zero_aws._ecs_clients.clear()
    yield
    nat_zero_aws._clients.clear()
    nat_zero_aws._events_clients.clear()
    nat_zero_aws._ecs_clients.clear()


@pytest.fixture
def world(aws_env, monkeypatch):
    """A two-AZ deployment in moto, with the reconciler's environment set."""
    with mock_aws():
        built = build_world()
        for key, value in built.env().items():
            monkeypatch.setenv(key, value)
        yield built


@pytest.fixture
def reconcile():
    """Call the real handler in-process, as Lambda would."""

    def call(event):
        return nat_zero_handler.handler(event, None)

    return call


@pytest.fixture
def reconciler_client(world):
    return nat_zero_aws.ec2_client(load_config(), nat_zero_handler._counter)


@pytest.fixture
def fidelity(world, reconciler_client):
    """EC2's real behaviour on the reconciler's client (ENIs exclusive, slow
    shutdown, stale reads, injected failures)."""
    model = Ec2Fidelity(reconciler_client, raw_client=world.ec2, hold_terminations=True)
    yield model
    model.uninstall()
