"""The README's cost table says what playbooks/sandbox/prices.py computes."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbooks.sandbox.prices import (
    HEALTH_MINUTES,
    PRICES,
    health_check_cost,
    idle_reconciler_cost,
    metrics_cost,
    nat_metrics_cost,
    per_az_costs,
    static_eip_cost,
    sweeps_per_month,
)

README = Path(__file__).resolve().parents[3] / "README.md"


def cost_rows() -> dict[str, list[str]]:
    """The rows of the README's cost table, by the first words of their part."""
    text = README.read_text()
    table = text.split("### What each part costs", 1)[1].split("\n\n")[2]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {cells[0].strip().split(":")[0]: [c.strip() for c in cells[1:]] for cells in rows}


@pytest.fixture(scope="module")
def rows():
    return cost_rows()


def test_the_stopped_volume_row_is_the_idle_cost_per_az(rows):
    assert rows["stopped NAT root volume (10 GB gp3)"][1] == "$%.2f" % per_az_costs()["nat_zero"]["idle"]


def test_the_sweep_row_is_its_requests_and_compute(rows):
    reconciler = idle_reconciler_cost()
    assert rows["sweep"][2] == "~$%.2f" % (reconciler["requests"] + reconciler["compute"])
    assert "%s invocations" % format(round(sweeps_per_month()), ",") in README.read_text()


def test_the_log_lines_row_is_under_a_cent(rows):
    assert idle_reconciler_cost()["logs"] < 0.01
    assert rows["reconciler log lines"][2] == "less than $0.01"


def test_the_metrics_row_is_the_custom_metrics_price(rows):
    costs = metrics_cost()
    assert rows["EMF metrics"][1] == "$%.2f" % costs["per_az"]
    assert rows["EMF metrics"][2].startswith("$%.2f " % costs["per_deployment"])


def test_the_nat_metrics_row_is_four_metrics_and_a_call_a_minute_while_the_nat_runs(rows):
    assert rows["NAT-instance metrics"][1].startswith("$%.2f for a NAT running all month" % nat_metrics_cost())
    assert "%s PutMetricData calls" % format(round(sweeps_per_month(1)), ",") in rows["NAT-instance metrics"][1]
    assert nat_metrics_cost(running_hours=0) == 0
    assert rows["CloudWatch alarm"][1] == "$%.2f" % PRICES["standard_alarm_month"]


def test_the_running_nat_row_is_its_hourly_price(rows):
    assert rows["running NAT"][1] == "$%.4f an hour" % per_az_costs()["nat_zero_active_hour"]


def test_the_dashboard_row_is_its_monthly_price(rows):
    assert rows["CloudWatch dashboard (`<name>-nat-zero-<region>`)"][2].startswith("$%.2f " % PRICES["dashboard_month"])


def test_the_static_eip_row_is_a_public_address_all_month(rows):
    assert rows["static Elastic IP, kept while idle"][1] == "$%.2f" % static_eip_cost()


def test_the_health_rule_row_is_its_invocations_while_a_nat_runs(rows):
    assert rows["health rule"][2] == "~$%.2f" % health_check_cost()
    assert "health rule: %s invocations" % format(round(sweeps_per_month(HEALTH_MINUTES)), ",") in README.read_text()


def test_the_failover_row_is_the_cross_az_transfer_price(rows):
    assert rows["failover traffic between AZs"][1] == "$%.2f/GB each way" % PRICES["cross_az_gb"]


def test_the_architecture_health_costs_are_the_same_prices():
    architecture = (README.parent / "docs" / "architecture.md").read_text()
    assert "| ~$%.2f per deployment, whatever the number of AZs |" % health_check_cost() in architecture
    assert "$%.2f a month each (a public IPv4 address all" % static_eip_cost() in architecture
    assert "$%.2f/GB out of one AZ" % PRICES["cross_az_gb"] in architecture


def test_the_alarm_rows_are_the_standard_alarm_price(rows):
    price = PRICES["standard_alarm_month"]
    assert rows["CloudWatch alarms"][2] == "$%.2f ($%.2f with `nat_zero_metrics`)" % (2 * price, 3 * price)
    assert rows["CloudWatch alarm"][1] == "$%.2f" % price


def test_the_flow_logs_row_is_the_vended_logs_price(rows):
    cloudwatch, s3 = PRICES["vended_logs_cloudwatch_gb"], PRICES["vended_logs_s3_gb"]
    assert rows["VPC flow logs of the NAT ENIs"][1].startswith(
        "$%.2f per GB delivered to CloudWatch Logs, $%.2f to S3" % (cloudwatch, s3)
    )
