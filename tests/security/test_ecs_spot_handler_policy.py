"""The ECS Spot handler's IAM policy, as its role renders it, judged call by
call the way IAM does: ECS authorizes DescribeServices and UpdateService on
the service's ARN and DescribeTasks on the task's; CloudWatch Logs authorizes
CreateLogStream and PutLogEvents on the log stream's ARN.

The handler's real calls are recorded while it answers interruptions on
moto's ECS, and every one must be allowed; the same calls on another
account's or region's resources, and every other action, must not."""

from __future__ import annotations

from pathlib import Path

import pytest
from moto import mock_aws

from ecs_spot_handler.aws import ecs_client
from ecs_spot_handler.handler import handler
from playbooks.sandbox.ecs_emulation import real_ecs_deployments
from tests.security.policy import allowing_statement, render_role_template
from tests.support.ecs_world import ACCOUNT, CLUSTER, REGION, EcsWorld, set_handler_environment

ROLE = Path(__file__).resolve().parents[2] / "roles" / "ecs_spot_handler"
LOG_GROUP = "/aws/lambda/prod-ecs-fargate-spot-handler"


@pytest.fixture(scope="module")
def policy() -> dict:
    return render_role_template(
        ROLE,
        "lambda_policy.json.j2",
        {
            "ecs_spot_handler_name_prefix": "prod",
            "ecs_spot_handler_region": REGION,
            "ecs_spot_handler__partition": "aws",
            "ecs_spot_handler__account_id": ACCOUNT,
        },
    )


def allowed(policy, action: str, resource: str) -> bool:
    return allowing_statement(policy, action, resource, {}) is not None


def service_arn(cluster: str, service: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"


def requested_resources(operation: str, params: dict) -> list[str]:
    """The ARNs IAM authorizes an ECS call on (service authorization reference)."""
    cluster = params.get("cluster", "default").rsplit("/", 1)[-1]
    if operation == "DescribeServices":
        return [service_arn(cluster, s.rsplit("/", 1)[-1]) for s in params["services"]]
    if operation == "UpdateService":
        return [service_arn(cluster, params["service"].rsplit("/", 1)[-1])]
    raise AssertionError(f"the handler called {operation}: add it to the policy test and the policy")


def test_every_call_the_handler_makes_is_allowed(policy, monkeypatch):
    set_handler_environment(monkeypatch)
    with mock_aws(), real_ecs_deployments():
        world = EcsWorld()
        world.create_service("web")
        calls = []
        ecs_client(REGION).meta.events.register(
            "before-parameter-build.ecs.*", lambda model, params, **_: calls.append((model.name, dict(params)))
        )
        for task in range(3):
            handler(world.interruption_event("web", task=task))
        handler(world.interruption_event("gone", task=9))

    assert [name for name, _ in calls] == ["DescribeServices", "UpdateService", *["DescribeServices"] * 3]
    for operation, params in calls:
        for resource in requested_resources(operation, params):
            assert allowed(policy, f"ecs:{operation}", resource), f"ecs:{operation} on {resource} denied"


@pytest.mark.parametrize(
    "resource",
    [
        service_arn(CLUSTER, "web"),
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/web",  # the old short ARN format
    ],
)
def test_describing_and_redeploying_any_service_of_the_account_and_region_is_allowed(policy, resource):
    assert allowed(policy, "ecs:DescribeServices", resource) and allowed(policy, "ecs:UpdateService", resource)


def test_reading_tasks_of_the_account_and_region_is_allowed(policy):
    assert allowed(policy, "ecs:DescribeTasks", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0123456789abcdef")


@pytest.mark.parametrize(
    "resource",
    [service_arn(CLUSTER, "web", account="999999999999"), service_arn(CLUSTER, "web", region="eu-west-1")],
    ids=["other_account", "other_region"],
)
def test_services_of_other_accounts_and_regions_are_denied(policy, resource):
    assert not allowed(policy, "ecs:UpdateService", resource)
    assert not allowed(policy, "ecs:DescribeServices", resource)


@pytest.mark.parametrize(
    "action",
    ["ecs:DeleteService", "ecs:CreateService", "ecs:RunTask", "ecs:StopTask", "ecs:UpdateCluster", "ecs:TagResource"],
)
def test_no_other_ecs_action_is_allowed_anywhere(policy, action):
    for resource in (service_arn(CLUSTER, "web"), f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/1", "*"):
        assert not allowed(policy, action, resource)


def test_it_writes_only_its_own_log_group(policy):
    own = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:log-stream:2026/12/01/[$LATEST]abc"
    other = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/prod-nat-zero:log-stream:x"
    assert allowed(policy, "logs:PutLogEvents", own) and allowed(policy, "logs:CreateLogStream", own)
    assert not allowed(policy, "logs:PutLogEvents", other)
    assert not allowed(policy, "logs:CreateLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}")


def test_nothing_outside_ecs_and_its_logs_is_granted(policy):
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert actions == {
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "ecs:DescribeTasks",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert all(statement["Effect"] == "Allow" and statement["Resource"] != "*" for statement in policy["Statement"])
