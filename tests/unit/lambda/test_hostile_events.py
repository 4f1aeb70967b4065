"""Malformed and hostile events through the real handler, under moto.

Each one is logged as ignored (one JSON line saying why) and costs no AWS
call at all, so nothing can be mutated. The world has work waiting (a
workload without a NAT), so acting on any of them would show.
"""

import json

import pytest
from botocore.client import BaseClient
from moto import mock_aws

from nat_zero import aws as nat_zero_aws
from nat_zero.handler import handler
from tests.support.world import REGION, build_world, state_change_event

ACCOUNT = "123456789012"
AZ_A = "us-east-1a"
IID = "i-0123456789abcdef0"
STATE_CHANGE = "EC2 Instance State-change Notification"


def change(**fields):
    """A state-change event of `IID`, with some fields replaced (None: removed)."""
    event = state_change_event(IID, "running", account=ACCOUNT)
    for key, value in fields.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    return event


def detail(**values):
    return change(detail=values)


def nested(depth):
    event = {}
    for _ in range(depth):
        event = {"detail": event}
    return event


HOSTILE = {
    "none": None,
    "string": "reconcile",
    "bytes": b'{"action": "reconcile"}',
    "number": 42,
    "list_of_sweeps": [{"action": "reconcile"}],
    "empty_object": {},
    "unknown_action": {"action": "terminate-everything"},
    "action_not_a_string": {"action": ["reconcile"]},
    "sweep_smuggled_into_state_change": change(action="reconcile"),
    "other_source": change(source="aws.ecs"),
    "source_wrong_case": change(source="AWS.EC2"),
    "other_detail_type": change(**{"detail-type": "EC2 Spot Instance Interruption Warning"}),
    "other_region": change(region="eu-west-1"),
    "other_account": change(account="210987654321"),
    "account_not_a_string": change(account=123456789012),
    "detail_missing": change(detail=None),
    "detail_a_string": change(detail=IID),
    "detail_a_list": change(detail=[{"instance-id": IID, "state": "running"}]),
    "instance_id_missing": detail(state="running"),
    "instance_id_a_number": detail(**{"instance-id": 123456789, "state": "running"}),
    "instance_id_injection": detail(**{"instance-id": "i-0123456789abcdef0' OR '1'='1", "state": "running"}),
    "instance_id_trailing_newline": detail(**{"instance-id": IID + "\n", "state": "running"}),
    "instance_id_huge": detail(**{"instance-id": "i-" + "0" * 200_000, "state": "running"}),
    "instance_id_a_list": detail(**{"instance-id": [IID], "state": "running"}),
    "state_missing": detail(**{"instance-id": IID}),
    "state_unknown": detail(**{"instance-id": IID, "state": "exploded"}),
    "state_wrong_case": detail(**{"instance-id": IID, "state": "RUNNING"}),
    "state_an_object": detail(**{"instance-id": IID, "state": {"Name": "running"}}),
    "huge_payload": change(detail=["i-0123456789abcdef0"] * 200_000),
    "deeply_nested": nested(5000),
}


@pytest.fixture
def api_calls(monkeypatch):
    """Every AWS API call made by any client, counted below the reconciler's
    own accounting, so the test does not trust what it checks."""
    calls = []
    real = BaseClient._make_api_call

    def counted(self, operation, params):
        calls.append(operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    return calls


@pytest.fixture(scope="module")
def deployed():
    """One world for every hostile event (none of them may change it): a
    workload waiting for its NAT, and the account the function runs in."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.delenv(key, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        nat_zero_aws._clients.clear()
        world = build_world()
        for key, value in world.env().items():
            env.setenv(key, value)
        env.setenv("NAT_ZERO_ACCOUNT_ID", ACCOUNT)
        world.launch_workload(AZ_A)
        yield world
        nat_zero_aws._clients.clear()


def test_there_are_at_least_twenty_hostile_events():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_event_is_logged_as_ignored_without_any_aws_call(name, deployed, api_calls, capsys):
    capsys.readouterr()
    summary = handler(HOSTILE[name], None)

    assert api_calls == []
    assert summary["trigger"]["kind"] == "ignored" and summary["trigger"]["reason"]
    assert summary["aws_calls"] == {"reads": 0, "writes": 0, "by_operation": {}}
    assert "error" not in summary
    out = capsys.readouterr().out
    assert len(out) < 2_000  # one line, and the payload is not echoed into the logs
    assert [json.loads(line)["trigger"] for line in out.splitlines()] == [summary["trigger"]]
    assert deployed.nats(AZ_A) == [] and deployed.eips() == []


def test_a_genuine_event_in_the_same_world_is_acted_on(deployed, api_calls):
    # Last in the module: it changes the shared world.
    workload = deployed.instances(AZ_A, nat=False)[0]["InstanceId"]
    summary = handler(state_change_event(workload, "running", account=ACCOUNT), None)
    assert [zone["verdict"] for zone in summary["zones"]] == ["create_nat"]
    assert "RunInstances" in api_calls and len(deployed.nats(AZ_A)) == 1
