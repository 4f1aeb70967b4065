"""Two deployments sharing a region in moto, their reconciler functions
named and tagged as the role makes them, and the dispatcher called
in-process as Lambda would; Lambda's asynchronous Invoke runs the named
reconciler in-process (tests/support/fleet.py)."""

from __future__ import annotations

import contextlib
import io

import pytest
from moto import mock_aws

from nat_zero import aws as reconciler_aws
from nat_zero_dispatch import aws as dispatch_aws
from nat_zero_dispatch import handler as dispatch_handler
from tests.support.fleet import ACCOUNT, Fleet, InProcessLambda
from tests.support.world import REGION


@pytest.fixture
def dispatch_env(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("NAT_ZERO_REGION", REGION)
    monkeypatch.setenv("NAT_ZERO_ACCOUNT_ID", ACCOUNT)
    for cache in (dispatch_aws._clients, dispatch_handler._state, reconciler_aws._clients):
        cache.clear()
    yield
    for cache in (dispatch_aws._clients, dispatch_handler._state, reconciler_aws._clients):
        cache.clear()


@pytest.fixture
def fleet(dispatch_env):
    with mock_aws():
        yield Fleet(2, azs=("us-east-1a",))


@pytest.fixture
def lambda_service(fleet):
    """Lambda as the dispatcher's own client sees it."""
    service = InProcessLambda(fleet)
    service.install(dispatch_aws.client("lambda", REGION, dispatch_handler._counter))
    return service


@pytest.fixture
def dispatch(lambda_service):
    def call(event):
        with contextlib.redirect_stdout(io.StringIO()):
            return dispatch_handler.handler(event, None)

    return call
