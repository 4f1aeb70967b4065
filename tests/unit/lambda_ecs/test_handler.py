"""The handler against moto's ECS, with ECS's real deployment behaviour
(tests/support/ecs_fidelity.py) and its real error answers on the wire."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import botocore.endpoint
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ecs_spot_handler.aws import MAX_ATTEMPTS
from ecs_spot_handler.config import ConfigError
from ecs_spot_handler.handler import handler
from tests.support.ecs_world import CLUSTER

from .conftest import FakeContext


def primary(deployments: list[dict]) -> dict:
    (only,) = [d for d in deployments if d["status"] == "PRIMARY"]
    return only


@pytest.fixture
def sleeps(monkeypatch):
    """botocore's backoff delays, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", recorded.append)
    return recorded


def test_interruption_forces_a_new_primary_deployment_and_demotes_the_old_one(world, wire, log_lines):
    world.create_service("web")
    before = primary(world.deployments("web"))

    result = handler(world.interruption_event("web"), FakeContext())

    after = world.deployments("web")
    assert result["outcome"] == "deployed"
    assert result["deployment_id"] == primary(after)["id"] != before["id"]
    assert [d["status"] for d in after] == ["PRIMARY", "ACTIVE"]
    assert after[1]["id"] == before["id"]
    assert wire.calls == {"DescribeServices": 1, "UpdateService": 1}
    (line,) = log_lines()
    assert line["level"] == "INFO" and line["message"] == "forced a new deployment"
    assert line["cluster"] == world.cluster_arn and line["service"] == "web"
    assert line["task_arn"].startswith(f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/")
    assert line["request_id"] == "req-0001" and line["deployment_id"] == result["deployment_id"]
    assert {"timestamp", "function", "line"} <= set(line)
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_fifty_interruption_events_of_one_service_force_exactly_one_deployment(world, wire):
    world.create_service("web", desired_count=50)
    wave = datetime.now(timezone.utc) - timedelta(seconds=90)
    # 50 tasks warned over 90 s, each sending its warning event; shuffled, as EventBridge delivers.
    events = [world.interruption_event("web", task=n, stopping_at=wave + timedelta(seconds=n * 1.8)) for n in range(50)]
    random.Random(16).shuffle(events)

    outcomes = [handler(event, FakeContext())["outcome"] for event in events]

    assert wire.calls["UpdateService"] == 1
    assert outcomes.count("deployed") == 1 and outcomes.count("skipped") == 49
    assert [d["status"] for d in world.deployments("web")] == ["PRIMARY", "ACTIVE"]


def test_interruptions_of_five_services_force_one_deployment_each(world, wire):
    services = [f"svc-{n}" for n in range(5)]
    for name in services:
        world.create_service(name)
    events = [world.interruption_event(name, task=10 * s + t) for s, name in enumerate(services) for t in range(10)]
    random.Random(5).shuffle(events)

    results = [handler(event, FakeContext()) for event in events]

    assert wire.calls["UpdateService"] == 5
    assert sorted(r["service"] for r in results if r["outcome"] == "deployed") == services
    for name in services:
        assert [d["status"] for d in world.deployments(name)] == ["PRIMARY", "ACTIVE"]


def test_the_stopped_event_of_an_already_answered_task_is_skipped(world, wire):
    world.create_service("web")
    warning = world.interruption_event("web", task=1)
    handler(warning, FakeContext())
    stopped = world.interruption_event("web", task=1)
    stopped["detail"].update(lastStatus="STOPPED", stoppedAt=stopped["time"])

    assert handler(stopped, FakeContext())["outcome"] == "skipped"
    assert wire.calls["UpdateService"] == 1


def test_an_interruption_after_the_window_is_a_new_wave_and_deploys_again(world, wire):
    world.create_service("web")
    handler(world.interruption_event("web", task=1), FakeContext())
    later = datetime.now(timezone.utc) + timedelta(seconds=121)

    assert handler(world.interruption_event("web", task=2, stopping_at=later), FakeContext())["outcome"] == "deployed"
    assert wire.calls["UpdateService"] == 2
    assert [d["status"] for d in world.deployments("web")] == ["PRIMARY", "ACTIVE", "ACTIVE"]


def test_a_user_deployment_older_than_the_window_does_not_hide_the_interruption(world, wire):
    world.create_service("web")
    later = datetime.now(timezone.utc) + timedelta(minutes=10)

    assert handler(world.interruption_event("web", stopping_at=later), FakeContext())["outcome"] == "deployed"


def test_a_standalone_task_is_logged_and_calls_no_ecs(world, wire, log_lines):
    event = world.interruption_event(None)
    event["detail"]["group"] = "family:worker"

    assert handler(event, FakeContext()) == {
        "outcome": "ignored",
        "reason": "standalone task (detail.group is not service:NAME)",
    }
    assert wire.calls == {}
    (line,) = log_lines()
    assert line["message"] == "event ignored" and line["cluster"] == world.cluster_arn


def test_an_event_without_group_calls_no_ecs(world, wire):
    assert handler(world.interruption_event(None), FakeContext())["outcome"] == "ignored"
    assert wire.calls == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"account": "999999999999"},
        {"region": "eu-west-1"},
        {"source": "aws.ec2"},
        {"detail-type": "ECS Service Action"},
        {"detail": "not an object"},
        {"detail": None},
    ],
    ids=["foreign_account", "wrong_region", "other_source", "other_detail_type", "detail_string", "detail_null"],
)
def test_foreign_wrong_region_and_malformed_events_call_no_ecs(world, wire, changes):
    world.create_service("web")

    assert handler(world.interruption_event("web", **changes), FakeContext())["outcome"] == "ignored"
    assert wire.calls == {}


def test_a_cluster_of_another_account_in_the_detail_calls_no_ecs(world, wire):
    event = world.interruption_event("web")
    event["detail"]["clusterArn"] = f"arn:aws:ecs:us-east-1:999999999999:cluster/{CLUSTER}"

    assert handler(event, FakeContext())["outcome"] == "ignored"
    assert wire.calls == {}


def test_a_missing_service_is_a_warning_and_a_success(world, wire, log_lines):
    assert handler(world.interruption_event("gone"), FakeContext())["outcome"] == "service_not_found"
    assert wire.calls == {"DescribeServices": 1}
    (line,) = log_lines()
    assert line["level"] == "WARNING" and line["reason"] == "MISSING"


def test_a_deleted_service_is_a_warning_and_a_success(world, wire, log_lines):
    world.create_service("web", desired_count=0)
    world.ecs.delete_service(cluster=CLUSTER, service="web")

    assert handler(world.interruption_event("web"), FakeContext())["outcome"] == "service_inactive"
    assert wire.calls == {"DescribeServices": 1}
    assert log_lines()[0]["level"] == "WARNING"


def test_a_service_deleted_between_read_and_update_is_a_warning_and_a_success(world, wire, log_lines):
    world.create_service("web", desired_count=0)

    def delete_first(**_):
        world.ecs.delete_service(cluster=CLUSTER, service="web")

    wire.client.meta.events.register("before-call.ecs.UpdateService", delete_first)

    assert handler(world.interruption_event("web"), FakeContext())["outcome"] == "service_inactive"
    (line,) = log_lines()
    assert line["level"] == "WARNING" and "ServiceNotActiveException" in line["error"]


def test_a_missing_cluster_fails_the_invocation_with_an_error_line(world, wire, log_lines):
    event = world.interruption_event("web")
    event["detail"]["clusterArn"] = "arn:aws:ecs:us-east-1:123456789012:cluster/deleted"

    with pytest.raises(ClientError) as raised:
        handler(event, FakeContext())

    assert raised.value.response["Error"]["Code"] == "ClusterNotFoundException"
    (line,) = log_lines()
    assert line["level"] == "ERROR" and "ClusterNotFoundException" in line["error"]


def test_access_denied_fails_the_invocation_without_retrying(world, wire, sleeps, log_lines):
    world.create_service("web")
    wire.deny_next("UpdateService")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        handler(world.interruption_event("web"), FakeContext())

    assert wire.attempts["UpdateService"] == 1 and sleeps == []
    assert log_lines()[-1]["level"] == "ERROR"


def test_throttling_is_retried_three_times_with_jittered_exponential_backoff(world, wire, sleeps):
    world.create_service("web")
    wire.throttle_next("DescribeServices", times=3)

    assert handler(world.interruption_event("web"), FakeContext())["outcome"] == "deployed"

    assert wire.attempts["DescribeServices"] == 4
    # Full jitter: attempt n waits random(0, 1) * 2**(n-1) seconds.
    assert len(sleeps) == 3
    assert all(0 <= delay <= 2**n for n, delay in enumerate(sleeps))


def test_throttling_past_three_retries_fails_the_invocation(world, wire, sleeps):
    world.create_service("web")
    wire.throttle_next("UpdateService", times=MAX_ATTEMPTS)

    with pytest.raises(ClientError, match="ThrottlingException"):
        handler(world.interruption_event("web"), FakeContext())

    assert wire.attempts["UpdateService"] == MAX_ATTEMPTS == 4
    assert len(sleeps) == 3


def test_dropped_connections_are_retried(world, wire, sleeps):
    world.create_service("web")
    wire.drop_connection_next("UpdateService", times=2)

    assert handler(world.interruption_event("web"), FakeContext())["outcome"] == "deployed"
    assert wire.attempts["UpdateService"] == 3 and len(sleeps) == 2


def test_a_network_outage_past_the_retries_fails_the_invocation(world, wire, sleeps):
    world.create_service("web")
    wire.drop_connection_next("DescribeServices", times=MAX_ATTEMPTS)

    with pytest.raises(EndpointConnectionError):
        handler(world.interruption_event("web"), FakeContext())
    assert wire.calls.get("UpdateService", 0) == 0


def test_log_level_warning_hides_info_lines(world, wire, log_lines, monkeypatch):
    monkeypatch.setenv("ECS_SPOT_HANDLER_LOG_LEVEL", "WARNING")
    world.create_service("web")
    handler(world.interruption_event("web", task=1), FakeContext())
    handler(world.interruption_event("gone", task=2), FakeContext())

    assert [line["level"] for line in log_lines()] == ["WARNING"]


def test_a_bad_log_level_in_the_environment_fails_naming_the_variable(handler_env, monkeypatch):
    monkeypatch.setenv("ECS_SPOT_HANDLER_LOG_LEVEL", "LOUD")

    with pytest.raises(ConfigError, match="ECS_SPOT_HANDLER_LOG_LEVEL 'LOUD'"):
        handler({}, FakeContext())


def test_log_level_debug_adds_what_the_decision_was_based_on(world, wire, log_lines, monkeypatch):
    monkeypatch.setenv("ECS_SPOT_HANDLER_LOG_LEVEL", "DEBUG")
    world.create_service("web")
    old = primary(world.deployments("web"))["id"]

    handler(world.interruption_event("web"), FakeContext())

    debug, info = log_lines()
    assert debug["level"] == "DEBUG" and debug["deployment_id"] == old
    assert "newest PRIMARY deployment created" in debug["reason"] and "task interrupted" in debug["reason"]
    assert info["message"] == "forced a new deployment"
