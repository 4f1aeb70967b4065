"""Two deployments in one region share the region's dispatcher: deployed by
the first, kept by the teardown of the first, removed with the last. The
region is one no other test deploys to, so "last" is this file's to decide."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from botocore.awsrequest import AWSResponse

from playbooks.sandbox import create_vpc
from playbooks.sandbox.emulator import sandbox_credentials
from playbooks.sandbox.inventory import resource_names
from tests.integration.reconciler import state_change
from tests.support.moto import clients

pytestmark = pytest.mark.integration

REGION = "ca-central-1"
AZS = ("ca-central-1a", "ca-central-1b")
ENV = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
DISPATCHER, DISPATCHER_RULE = "nat-zero-dispatch", "nat-zero-dispatch-ec2-state"
DISPATCHER_ROLE = f"nat-zero-dispatch-{REGION}"
STATE_CHANGE_PATTERN = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]},
}


@pytest.fixture(scope="module")
def regional(moto_endpoint):
    return clients(moto_endpoint, REGION)


@pytest.fixture(scope="module")
def deployments(regional, run_playbook):
    found = [create_vpc.create_vpc(regional("ec2"), name, AZS, octet) for name, octet in (("one", 81), ("two", 82))]
    for variables in found:
        run_playbook("site.yml", variables, env=ENV).assert_ok()
    return found


def function_names(regional) -> list[str]:
    return sorted(f["FunctionName"] for f in regional("lambda").list_functions()["Functions"])


def test_two_deployments_share_one_dispatcher_and_one_state_change_rule(regional, deployments):
    events = regional("events")

    assert function_names(regional) == ["nat-zero-dispatch", "one-nat-zero", "two-nat-zero"]
    rules = sorted(r["Name"] for r in events.list_rules()["Rules"])
    assert rules == [
        DISPATCHER_RULE,
        "one-nat-zero-health",
        "one-nat-zero-sweep",
        "two-nat-zero-health",
        "two-nat-zero-sweep",
    ]
    rule = events.describe_rule(Name=DISPATCHER_RULE)
    assert json.loads(rule["EventPattern"]) == STATE_CHANGE_PATTERN
    dispatcher = regional("lambda").get_function_configuration(FunctionName=DISPATCHER)
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=DISPATCHER_RULE)["Targets"]] == [
        dispatcher["FunctionArn"]
    ]
    assert dispatcher["Handler"] == "nat_zero_dispatch.handler.handler"
    assert dispatcher["Environment"]["Variables"]["NAT_ZERO_REGION"] == REGION
    assert dispatcher["Role"].endswith(f":role/{DISPATCHER_ROLE}")


def test_the_deployed_dispatcher_hands_an_event_only_to_its_vpc_s_reconciler(
    regional, deployments, moto_endpoint, monkeypatch
):
    """The dispatcher as deployed (its environment, the reconcilers' tags the
    role set) against the emulator; Lambda's Invoke is recorded, not run."""
    from nat_zero_dispatch import aws as dispatch_aws
    from nat_zero_dispatch import handler as dispatch_handler

    configuration = regional("lambda").get_function_configuration(FunctionName=DISPATCHER)
    for key, value in {
        **configuration["Environment"]["Variables"],
        **sandbox_credentials(moto_endpoint, REGION),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for cache in (dispatch_aws._clients, dispatch_handler._state):
        cache.clear()
    invoked = []

    def record(params, **_):
        invoked.append((params["FunctionName"], params["InvocationType"]))

    lam = dispatch_aws.client("lambda", REGION, dispatch_handler._counter)
    lam.meta.events.register("before-parameter-build.lambda.Invoke", record)
    lam.meta.events.register(
        "before-call.lambda.Invoke", lambda **_: (AWSResponse("https://lambda.invalid/", 202, {}, None), {})
    )
    two = deployments[1]
    workload = regional("ec2").run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=two["nat_zero_private_subnets"][0],
    )["Instances"][0]["InstanceId"]
    event = {**state_change(workload, "running", region=REGION)}
    event["account"] = configuration["FunctionArn"].split(":")[4]

    with contextlib.redirect_stdout(io.StringIO()):
        summary = dispatch_handler.handler(event, None)

    two_arn = regional("lambda").get_function_configuration(FunctionName="two-nat-zero")["FunctionArn"]
    assert summary["outcome"] == "dispatched", summary
    assert invoked == [(two_arn, "Event")]
    dispatch_aws._clients.clear()


def test_teardown_of_the_first_keeps_the_dispatcher_and_of_the_last_removes_it(regional, deployments, run_playbook):
    one, two = deployments

    run_playbook("teardown.yml", one, env=ENV).assert_ok()

    assert function_names(regional) == ["nat-zero-dispatch", "two-nat-zero"]
    assert [r["Name"] for r in regional("events").list_rules(NamePrefix=DISPATCHER)["Rules"]] == [DISPATCHER_RULE]

    run_playbook("teardown.yml", two, env=ENV).assert_ok()

    assert function_names(regional) == []
    assert regional("events").list_rules(NamePrefix=DISPATCHER)["Rules"] == []
    roles = [r["RoleName"] for r in regional("iam").list_roles()["Roles"]]
    assert DISPATCHER_ROLE not in roles
    groups = regional("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{DISPATCHER}")["logGroups"]
    assert groups == []
    assert resource_names("two")["function"] not in function_names(regional)
