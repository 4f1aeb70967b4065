from __future__ import annotations

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import metric_alarm
from tests.support.cloudwatch_fidelity import install_put_metric_alarm, put_metric_alarm_refusal

NAME = "prod-nat-zero-errors"
TOPIC = "arn:aws:sns:us-east-1:123456789012:prod-nat-zero-alarms"
ALARM = dict(
    name=NAME,
    description="The reconciler of prod failed",
    namespace="AWS/Lambda",
    metric_name="Errors",
    dimensions={"FunctionName": "prod-nat-zero"},
    statistic="Sum",
    period=300,
    evaluation_periods=1,
    threshold=1,
    comparison_operator="GreaterThanOrEqualToThreshold",
    treat_missing_data="notBreaching",
    alarm_actions=[TOPIC],
    tags={"nat-zero:deployment": "prod"},
)


@pytest.fixture
def puts(hook_module_clients):
    """PutMetricAlarm answered as AWS does; the requests it accepted."""
    accepted = []
    hook_module_clients("cloudwatch", lambda client: install_put_metric_alarm(client, accepted))
    return accepted


def alarm(name=NAME):
    found = boto3.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return found[0] if found else None


def tags(name=NAME):
    arn = alarm(name)["AlarmArn"]
    return {t["Key"]: t["Value"] for t in boto3.client("cloudwatch").list_tags_for_resource(ResourceARN=arn)["Tags"]}


def test_creates_then_changes_nothing(run_module, puts):
    first = run_module(metric_alarm, ALARM)
    again = run_module(metric_alarm, ALARM)

    assert (first["changed"], again["changed"]) == (True, False)
    assert first["alarm_arn"].endswith(":alarm:%s" % NAME) and first["alarm_state"] == alarm()["StateValue"]
    created = alarm()
    assert created["AlarmActions"] == [TOPIC] and created["TreatMissingData"] == "notBreaching"
    assert created["Dimensions"] == [{"Name": "FunctionName", "Value": "prod-nat-zero"}]
    assert created["DatapointsToAlarm"] == 1
    assert tags() == {"nat-zero:deployment": "prod"}
    assert len(puts) == 1


def test_check_mode_reports_the_change_and_writes_nothing(run_module, puts):
    result = run_module(metric_alarm, ALARM, check_mode=True, diff=True)
    assert result["changed"] is True and result["alarm_arn"] is None
    assert result["diff"]["before"] == {} and result["diff"]["after"]["Threshold"] == 1.0
    assert puts == [] and alarm() is None


def test_a_changed_threshold_is_written_with_its_diff(run_module, puts):
    run_module(metric_alarm, ALARM)
    result = run_module(metric_alarm, dict(ALARM, threshold=3), diff=True)
    assert result["changed"] is True
    assert (result["diff"]["before"]["Threshold"], result["diff"]["after"]["Threshold"]) == (1.0, 3.0)
    assert alarm()["Threshold"] == 3.0


def test_tags_of_an_existing_alarm_change_by_tag_resource_as_put_metric_alarm_ignores_them(run_module, puts):
    run_module(metric_alarm, ALARM)
    result = run_module(metric_alarm, dict(ALARM, threshold=2, tags={"team": "net"}))
    assert result["changed"] is True and result["tags"] == {"team": "net"}
    assert "Tags" not in puts[-1]
    assert tags() == {"team": "net"}


def test_absent_deletes_it_once(run_module, puts):
    run_module(metric_alarm, ALARM)
    gone = run_module(metric_alarm, dict(name=NAME, state="absent"))
    again = run_module(metric_alarm, dict(name=NAME, state="absent"))
    assert (gone["changed"], again["changed"]) == (True, False)
    assert gone["alarm_arn"] is None and alarm() is None


def test_absent_in_check_mode_keeps_it(run_module, puts):
    run_module(metric_alarm, ALARM)
    assert run_module(metric_alarm, dict(name=NAME, state="absent"), check_mode=True)["changed"] is True
    assert alarm() is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(period=90), "period is 90: it must be 10, 20, 30 or a multiple of 60"),
        (dict(period=300, evaluation_periods=289), "period x evaluation_periods is 86700 seconds: at most 86400"),
        (dict(period=3600, evaluation_periods=169), "at most 604800 for a period of at least an hour"),
        (dict(evaluation_periods=2, datapoints_to_alarm=3), "datapoints_to_alarm is 3: it must be 1 to"),
        (dict(alarm_actions=[TOPIC] * 6), "alarm_actions has 6 ARNs: at most 5"),
    ],
)
def test_settings_put_metric_alarm_refuses_fail_before_any_call(fails, puts, change, message):
    result = fails(metric_alarm, dict(ALARM, **change))
    assert message in result["msg"] and NAME in result["msg"]
    assert puts == [] and alarm() is None
    # The same settings, sent anyway, are what AWS refuses (the fidelity hook is not kinder).
    request = {
        "Period": change.get("period", 300),
        "EvaluationPeriods": change.get("evaluation_periods", 1),
        "DatapointsToAlarm": change.get("datapoints_to_alarm", change.get("evaluation_periods", 1)),
        "AlarmActions": change.get("alarm_actions", [TOPIC]),
    }
    assert put_metric_alarm_refusal(request)


def test_an_action_that_is_not_an_arn_fails_naming_it(fails, puts):
    result = fails(metric_alarm, dict(ALARM, alarm_actions=["ops@example.com"]))
    assert "alarm_actions: 'ops@example.com' is not an ARN" in result["msg"]


def test_present_without_the_metric_fails_naming_what_is_missing(fails):
    result = fails(metric_alarm, dict(name=NAME, threshold=1))
    assert (
        "namespace, metric_name, statistic, period, evaluation_periods, comparison_operator required" in result["msg"]
    )
