"""Event parsing: pure, never raises, never needs AWS."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone

import pytest

from ecs_spot_handler.config import Config
from ecs_spot_handler.deployments import DEDUPLICATION_WINDOW, covering_deployment
from ecs_spot_handler.events import Ignored, Interruption, parse_event

CONFIG = Config(region="us-east-1", account_id="123456789012", log_level=logging.INFO)
CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/batch/0123456789abcdef0123456789abcdef"


def event(**detail_changes) -> dict:
    detail = {
        "clusterArn": CLUSTER_ARN,
        "taskArn": TASK_ARN,
        "group": "service:web",
        "stopCode": "SpotInterruption",
        "stoppingAt": "2026-12-01T13:00:00.500Z",
        "stoppedAt": "2026-12-01T13:02:00Z",
    }
    detail.update(detail_changes)
    return {
        "source": "aws.ecs",
        "detail-type": "ECS Task State Change",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-12-01T13:02:01Z",
        "detail": {k: v for k, v in detail.items() if v is not None},
    }


def test_a_service_task_is_an_interruption_at_its_stopping_time():
    assert parse_event(event(), CONFIG) == Interruption(
        CLUSTER_ARN, "web", TASK_ARN, datetime(2026, 12, 1, 13, 0, 0, 500000, tzinfo=timezone.utc)
    )


def test_without_stopping_at_the_stopped_time_then_the_event_time_is_used():
    assert parse_event(event(stoppingAt=None), CONFIG).interrupted_at == datetime(
        2026, 12, 1, 13, 2, tzinfo=timezone.utc
    )
    assert parse_event(event(stoppingAt=None, stoppedAt=None), CONFIG).interrupted_at == datetime(
        2026, 12, 1, 13, 2, 1, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"group": "family:worker"}, "standalone task"),
        ({"group": None}, "standalone task"),
        ({"group": "service:"}, "standalone task"),
        ({"group": "service:a/b"}, "standalone task"),
        ({"stopCode": "TaskFailedToStart"}, "not stopped by a Spot interruption"),
        ({"stopCode": None}, "not stopped by a Spot interruption"),
        ({"clusterArn": "batch"}, "not an ECS cluster ARN"),
        ({"clusterArn": ["x"]}, "not an ECS cluster ARN"),
        ({"clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/batch"}, "another region or account"),
    ],
)
def test_events_that_name_no_service_task_are_ignored(changes, reason):
    request = parse_event(event(**changes), CONFIG)
    assert isinstance(request, Ignored) and reason in request.reason


@pytest.mark.parametrize(
    "payload",
    [None, [], "text", 7, {}, {"source": "aws.ecs"}, {"detail": {}}, {**event(), "detail": []}],
    ids=["none", "list", "string", "int", "empty", "source_only", "detail_only", "detail_list"],
)
def test_hostile_payloads_are_ignored_not_raised(payload):
    assert isinstance(parse_event(payload, CONFIG), Ignored)


def test_an_event_without_any_parseable_time_is_ignored():
    payload = event(stoppingAt="yesterday", stoppedAt=12)
    payload["time"] = None
    assert parse_event(payload, CONFIG) == Ignored("event carries no parseable time", CLUSTER_ARN, TASK_ARN)


def test_with_no_account_configured_any_account_is_accepted():
    payload = {**event(), "account": "999999999999"}
    assert isinstance(parse_event(payload, CONFIG._replace(account_id="")), Interruption)
    assert parse_event(payload, CONFIG) == Ignored("event from another account")


INTERRUPTED = datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)


def service_with(*deployments) -> dict:
    return {
        "deployments": [{"id": f"ecs-svc/{n}", "status": s, "createdAt": t} for n, (s, t) in enumerate(deployments)]
    }


@pytest.mark.parametrize(
    ("created", "covered"),
    [
        (INTERRUPTED + timedelta(seconds=3), True),
        (INTERRUPTED - DEDUPLICATION_WINDOW, True),
        (INTERRUPTED - DEDUPLICATION_WINDOW - timedelta(milliseconds=1), False),
        (INTERRUPTED - timedelta(hours=2), False),
    ],
    ids=["after", "window_edge", "just_before_window", "long_before"],
)
def test_a_primary_deployment_covers_interruptions_up_to_the_window_after_it_started(created, covered):
    assert (covering_deployment(service_with(("PRIMARY", created)), INTERRUPTED) is not None) is covered


def test_only_primary_deployments_cover_an_interruption():
    fresh_but_active = service_with(("PRIMARY", INTERRUPTED - timedelta(hours=1)), ("ACTIVE", INTERRUPTED))
    assert covering_deployment(fresh_but_active, INTERRUPTED) is None
    assert covering_deployment({"deployments": []}, INTERRUPTED) is None


JUNK = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x" * 5000,
    [],
    {},
    ["service:web"],
    {"a": 1},
    "service:",
    "\x00",
    "2026-13-45T99:99:99Z",
]


def mutations(seed: int, count: int):
    """Valid events with one to three fields (envelope or detail) replaced by junk or removed."""
    rng = random.Random(seed)
    for _ in range(count):
        mutated = event()
        mutated["detail"] = dict(mutated["detail"])
        for _ in range(rng.randint(1, 3)):
            target = mutated if rng.random() < 0.4 else mutated.get("detail")
            if not isinstance(target, dict) or not target:
                break
            key = rng.choice(sorted(target))
            if rng.random() < 0.3:
                del target[key]
            else:
                target[key] = rng.choice(JUNK)
        yield mutated


def test_a_thousand_mutated_events_never_raise_and_only_well_formed_ones_name_a_service():
    for mutated in mutations(seed=16, count=1000):
        request = parse_event(mutated, CONFIG)
        assert isinstance(request, (Interruption, Ignored))
        if isinstance(request, Interruption):
            assert request.service == "web" and request.cluster_arn == CLUSTER_ARN
            assert request.interrupted_at.tzinfo is not None
