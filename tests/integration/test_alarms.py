"""nat_zero_alarms: the alarms and their topic appear only when asked, in forms
PutMetricAlarm accepts, a re-run changes nothing, switching alarms (or the
metrics some of them watch) off removes them, and teardown removes them all."""

from __future__ import annotations

import json

import pytest

from playbooks.sandbox.inventory import deployment_resources, leftovers
from tests.support.cloudwatch_fidelity import put_metric_alarm_refusal

pytestmark = pytest.mark.integration

NAME = "alarmed"
FUNCTION = f"{NAME}-nat-zero"
TOPIC = f"{FUNCTION}-alarms"
ALWAYS = [f"{FUNCTION}-errors", f"{FUNCTION}-sweep-not-running"]
WITH_METRICS = [
    f"{FUNCTION}-reconcile-errors",
    f"{FUNCTION}-us-east-1a-nat-replaced",
    f"{FUNCTION}-us-east-1b-nat-replaced",
]
# nat_zero_nat_metrics: the NATs' own ConntrackUsed, sent by their guard.
WITH_NAT_METRICS = [
    f"{FUNCTION}-us-east-1a-conntrack-above-80-percent",
    f"{FUNCTION}-us-east-1b-conntrack-above-80-percent",
]
OWN_TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-pager"


def alarms(aws) -> dict:
    found = aws("cloudwatch").describe_alarms(AlarmNamePrefix=NAME)["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in found}


def topics(aws) -> list:
    return [t["TopicArn"] for t in aws("sns").list_topics()["Topics"] if t["TopicArn"].endswith(f":{TOPIC}")]


@pytest.fixture(scope="module")
def variables(make_vpc):
    return make_vpc(NAME, second_octet=86)


def test_without_nat_zero_alarms_there_are_none(variables, run_playbook, aws):
    run_playbook("site.yml", variables).assert_ok()
    assert alarms(aws) == {} and topics(aws) == []


def test_asked_for_with_metrics_every_alarm_notifies_the_topic_made_for_them(variables, run_playbook, aws):
    asked = {
        **variables,
        "nat_zero_alarms": True,
        "nat_zero_metrics": True,
        "nat_zero_nat_metrics": True,
        "nat_zero_alarm_emails": ["ops@example.com"],
    }
    run_playbook("site.yml", asked).assert_ok()

    [topic] = topics(aws)
    found = alarms(aws)
    assert sorted(found) == sorted(ALWAYS + WITH_METRICS + WITH_NAT_METRICS)
    for alarm in found.values():
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
        assert not put_metric_alarm_refusal(alarm)
    sweep = found[f"{FUNCTION}-sweep-not-running"]
    assert (sweep["Namespace"], sweep["MetricName"], sweep["Period"]) == ("AWS/Lambda", "Invocations", 900)
    assert (sweep["ComparisonOperator"], sweep["Threshold"]) == ("LessThanThreshold", 1.0)
    assert sweep["TreatMissingData"] == "breaching"
    replaced = found[f"{FUNCTION}-us-east-1b-nat-replaced"]
    assert sorted((d["Name"], d["Value"]) for d in replaced["Dimensions"]) == [
        ("AZ", "us-east-1b"),
        ("Deployment", NAME),
    ]
    assert (replaced["MetricName"], replaced["Threshold"], replaced["Period"]) == ("Actions.terminate_nat", 2.0, 3600)
    conntrack = found[f"{FUNCTION}-us-east-1a-conntrack-above-80-percent"]
    assert sorted((d["Name"], d["Value"]) for d in conntrack["Dimensions"]) == [
        ("AZ", "us-east-1a"),
        ("Deployment", NAME),
    ]
    assert (conntrack["Namespace"], conntrack["MetricName"], conntrack["Statistic"]) == (
        "NatZero",
        "ConntrackUsed",
        "Maximum",
    )
    assert (conntrack["ComparisonOperator"], conntrack["Threshold"]) == ("GreaterThanThreshold", 80.0)
    # A stopped NAT sends nothing: no data is not breaching.
    assert (conntrack["Period"], conntrack["TreatMissingData"]) == (300, "notBreaching")
    instance_policy = aws("iam").get_role_policy(
        RoleName=f"{FUNCTION}-instance", PolicyName="nat-zero-report-dataplane"
    )
    document = instance_policy["PolicyDocument"]
    statements = (json.loads(document) if isinstance(document, str) else document)["Statement"]
    [send_metrics] = [s for s in statements if s["Sid"] == "SendItsOwnMetrics"]
    assert send_metrics["Action"] == ["cloudwatch:PutMetricData"]
    assert send_metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "NatZero"}}
    endpoints = [s["Endpoint"] for s in aws("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == ["ops@example.com"]
    tags = {t["Key"]: t["Value"] for t in aws("sns").list_tags_for_resource(ResourceArn=topic)["Tags"]}
    assert tags["nat-zero:deployment"] == NAME


def test_a_rerun_changes_nothing(variables, run_playbook):
    asked = {
        **variables,
        "nat_zero_alarms": True,
        "nat_zero_metrics": True,
        "nat_zero_nat_metrics": True,
        "nat_zero_alarm_emails": ["ops@example.com"],
    }
    run = run_playbook("site.yml", asked).assert_ok()
    assert run.recap["changed"] == 0, run.tail()


def test_verify_checks_them_and_names_an_alarm_whose_actions_are_off(variables, run_playbook, aws):
    asked = {
        **variables,
        "nat_zero_alarms": True,
        "nat_zero_metrics": True,
        "nat_zero_nat_metrics": True,
        "nat_zero_alarm_emails": ["ops@example.com"],
    }
    run_playbook("verify.yml", asked).assert_ok()
    aws("cloudwatch").disable_alarm_actions(AlarmNames=[f"{FUNCTION}-sweep-not-running"])
    try:
        run = run_playbook("verify.yml", asked)
    finally:
        aws("cloudwatch").enable_alarm_actions(AlarmNames=[f"{FUNCTION}-sweep-not-running"])
    assert run.returncode != 0
    assert f"aws cloudwatch enable-alarm-actions --alarm-names {FUNCTION}-sweep-not-running" in run.output


def test_without_metrics_the_alarms_on_them_go_and_a_given_topic_replaces_ours(variables, run_playbook, aws):
    asked = {**variables, "nat_zero_alarms": True, "nat_zero_alarm_topic_arn": OWN_TOPIC, "nat_zero_nat_metrics": True}
    run_playbook("site.yml", asked).assert_ok()
    found = alarms(aws)
    assert sorted(found) == sorted(ALWAYS + WITH_NAT_METRICS)

    run_playbook("site.yml", {**asked, "nat_zero_nat_metrics": False}).assert_ok()
    found = alarms(aws)
    assert sorted(found) == ALWAYS
    assert all(alarm["AlarmActions"] == [OWN_TOPIC] for alarm in found.values())
    assert topics(aws) == []


def test_switched_off_they_are_removed(variables, run_playbook, aws):
    run_playbook("site.yml", variables).assert_ok()
    assert alarms(aws) == {} and topics(aws) == []


def test_teardown_removes_them(variables, run_playbook, aws):
    asked = {**variables, "nat_zero_alarms": True, "nat_zero_metrics": True, "nat_zero_nat_metrics": True}
    run_playbook("site.yml", asked).assert_ok()
    assert len(alarms(aws)) == 7 and len(topics(aws)) == 1
    run_playbook("teardown.yml", variables).assert_ok()
    assert alarms(aws) == {} and topics(aws) == []
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}
