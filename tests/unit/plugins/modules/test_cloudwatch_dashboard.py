from __future__ import annotations

import json

import boto3
import jsonschema
import pytest
from botocore.exceptions import ClientError

from ansible_collections.natzero.aws.plugins.modules import cloudwatch_dashboard
from tests.support.cloudwatch_fidelity import PUT_DASHBOARD_BODY

NAME = "prod-nat-zero"


def widget(**extra):
    base = dict(type="metric", x=0, y=0, width=12, height=6, properties={"region": "us-east-1", "metrics": []})
    return dict(base, **extra)


BODY = {
    "widgets": [
        widget(),
        {"type": "text", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {"markdown": "NAT"}},
    ]
}


@pytest.fixture
def puts(hook_module_clients):
    """PutDashboard validated as AWS does; the bodies it was sent."""
    sent = []

    def check(params, **kwargs):
        errors = [
            e.message
            for e in jsonschema.Draft7Validator(PUT_DASHBOARD_BODY).iter_errors(json.loads(params["DashboardBody"]))
        ]
        if errors:
            raise ClientError(
                {"Error": {"Code": "InvalidParameterInput", "Message": "; ".join(errors)}}, "PutDashboard"
            )
        sent.append(json.loads(params["DashboardBody"]))

    hook_module_clients(
        "cloudwatch", lambda c: c.meta.events.register("provide-client-params.cloudwatch.PutDashboard", check)
    )
    return sent


def dashboard(name=NAME):
    return json.loads(boto3.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])


def test_creates_then_changes_nothing(run_module, puts):
    first = run_module(cloudwatch_dashboard, dict(name=NAME, body=BODY))
    again = run_module(cloudwatch_dashboard, dict(name=NAME, body=json.dumps(BODY)))

    assert first["changed"] is True and again["changed"] is False
    assert dashboard() == BODY
    assert first["dashboard_arn"].endswith(":dashboard/%s" % NAME)
    assert len(puts) == 1


def test_check_mode_reports_the_change_and_writes_nothing(run_module, puts):
    result = run_module(cloudwatch_dashboard, dict(name=NAME, body=BODY), check_mode=True, diff=True)
    assert result["changed"] is True and result["diff"] == {"before": {}, "after": BODY}
    assert puts == []
    assert boto3.client("cloudwatch").list_dashboards()["DashboardEntries"] == []


def test_a_changed_body_is_written_with_its_diff(run_module, puts):
    run_module(cloudwatch_dashboard, dict(name=NAME, body=BODY))
    changed = {"widgets": [widget(width=24)]}
    result = run_module(cloudwatch_dashboard, dict(name=NAME, body=changed), diff=True)
    assert result["changed"] is True and result["diff"] == {"before": BODY, "after": changed}
    assert dashboard() == changed


def test_absent_deletes_it_once(run_module, puts):
    run_module(cloudwatch_dashboard, dict(name=NAME, body=BODY))
    gone = run_module(cloudwatch_dashboard, dict(name=NAME, state="absent"))
    again = run_module(cloudwatch_dashboard, dict(name=NAME, state="absent"))
    assert (gone["changed"], again["changed"]) == (True, False)
    assert gone["dashboard_arn"] is None
    assert boto3.client("cloudwatch").list_dashboards()["DashboardEntries"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body has no widgets array"),
        ({"widgets": [widget(type="graph")]}, "widgets[0].type is 'graph'"),
        ({"widgets": [widget(x=24)]}, "widgets[0].x is 24, not an integer 0-23"),
        ({"widgets": [widget(width=0)]}, "widgets[0].width is 0, not an integer 1-24"),
        ({"widgets": [widget(height=1001)]}, "widgets[0].height is 1001"),
        ({"widgets": [widget(properties={"metrics": []})]}, "widgets[0].properties.region is required"),
        ({"widgets": [widget(y="0")]}, "widgets[0].y is '0'"),
        ("not json", "body is not JSON"),
    ],
)
def test_a_body_put_dashboard_refuses_fails_before_any_call(fails, puts, body, message):
    result = fails(cloudwatch_dashboard, dict(name=NAME, body=body))
    assert message in result["msg"]
    assert puts == []
    if isinstance(body, dict):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, PUT_DASHBOARD_BODY)


def test_a_bad_name_fails_naming_it(fails):
    assert "is not a dashboard name" in fails(cloudwatch_dashboard, dict(name="prod nat", body=BODY))["msg"]
