"""nat_zero_dashboard: the dashboard appears only when asked, in a form
PutDashboard accepts, a re-run changes nothing, and teardown removes it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.support.cloudwatch_fidelity import PUT_DASHBOARD_BODY

pytestmark = pytest.mark.integration

NAME = "boards"
DASHBOARD = f"{NAME}-nat-zero-us-east-1"


def dashboards(aws):
    return [d["DashboardName"] for d in aws("cloudwatch").list_dashboards(DashboardNamePrefix=NAME)["DashboardEntries"]]


@pytest.fixture(scope="module")
def variables(make_vpc):
    return make_vpc(NAME, second_octet=80)


def test_without_nat_zero_dashboard_there_is_none(variables, run_playbook, aws):
    run_playbook("site.yml", variables).assert_ok()
    assert dashboards(aws) == []


def test_asked_for_it_is_a_body_put_dashboard_accepts_with_a_row_per_az(variables, run_playbook, aws):
    run_playbook("site.yml", {**variables, "nat_zero_dashboard": True}).assert_ok()

    assert dashboards(aws) == [DASHBOARD]
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName=DASHBOARD)["DashboardBody"])
    jsonschema.validate(body, PUT_DASHBOARD_BODY)
    titles = [w["properties"]["title"] for w in body["widgets"]]
    for az in variables["nat_zero_availability_zones"]:
        assert f"NAT running and workloads in {az}" in titles
    metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert ["NatZero", "NatRunning", "Deployment", NAME, "AZ", "us-east-1a"] in metrics
    assert ["AWS/Lambda", "Errors", "FunctionName", f"{NAME}-nat-zero"] in metrics


def test_a_rerun_changes_nothing(variables, run_playbook):
    run = run_playbook("site.yml", {**variables, "nat_zero_dashboard": True}).assert_ok()
    assert run.recap["changed"] == 0, run.tail()


def test_teardown_removes_it(variables, run_playbook, aws):
    run_playbook("teardown.yml", variables).assert_ok()
    assert dashboards(aws) == []
