"""What a deployment costs while nothing runs, computed from what site.yml
deployed (with every default) and the price table of playbooks/sandbox/prices.py."""

from __future__ import annotations

import pytest

from playbooks.sandbox.inventory import DEPLOYMENT_TAG, tags_of
from playbooks.sandbox.prices import PRICES, SWEEP_MINUTES, idle_reconciler_cost, monthly, per_az_costs
from tests.integration.reconciler import deployed_handler

pytestmark = pytest.mark.integration

NAME = "idlecost"
FUNCTION = f"{NAME}-nat-zero"


@pytest.fixture(scope="module")
def variables(make_vpc, run_playbook):
    variables = make_vpc(NAME, second_octet=70)
    run_playbook("site.yml", variables).assert_ok()
    return variables


def _root_volumes(aws, vpc_id):
    """Size and type of each AZ's NAT root volume, from its launch template."""
    ec2 = aws("ec2")
    filters = [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [NAME]}, {"Name": "tag:nat-zero:vpc", "Values": [vpc_id]}]
    volumes = {}
    for template in ec2.describe_launch_templates(Filters=filters)["LaunchTemplates"]:
        data = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"]
        )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        ebs = data["BlockDeviceMappings"][0]["Ebs"]
        az = tags_of(template)["nat-zero:az"]
        volumes[az] = (ebs["VolumeSize"], ebs["VolumeType"])
    return volumes


def test_default_idle_cost_is_the_stopped_volume_per_az_plus_cents_for_the_sweep(
    variables, aws, moto_endpoint, monkeypatch, capsys
):
    # Per AZ: the NAT's root volume (the instance is stopped: no instance hours), no Elastic IP held.
    volumes = _root_volumes(aws, variables["nat_zero_vpc_id"])
    assert set(volumes) == set(variables["nat_zero_availability_zones"])
    eips = aws("ec2").describe_addresses(Filters=[{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [NAME]}])["Addresses"]
    assert {volume_type for _, volume_type in volumes.values()} == {"gp3"}
    eips_by_az = {az: [e for e in eips if tags_of(e).get("nat-zero:az") == az] for az in volumes}
    per_az = {
        az: size * PRICES["gp3_gb_month"] + len(eips_by_az[az]) * monthly(PRICES["public_ipv4_hour"])
        for az, (size, _) in volumes.items()
    }
    # The volume is nat_zero_block_device_size (10 GB: $0.80) or the AMI's root snapshot if larger
    # (moto's stand-in AMI has a 15 GB one; AL2023 minimal's is smaller than 10 GB).
    assert eips == []
    assert per_az == {
        az: pytest.approx(per_az_costs(root_volume_gb=size)["nat_zero"]["idle"]) for az, (size, _) in volumes.items()
    }
    assert per_az_costs(root_volume_gb=10)["nat_zero"]["idle"] == pytest.approx(0.80)

    # Per deployment: the sweep's schedule, the function's memory, and what one sweep logs.
    schedule = aws("events").describe_rule(Name=f"{NAME}-nat-zero-sweep")["ScheduleExpression"]
    assert schedule == f"rate({SWEEP_MINUTES} minutes)"
    function = aws("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert function["Environment"]["Variables"]["NAT_ZERO_METRICS"] == "false"  # no custom metric by default
    handler = deployed_handler(aws, FUNCTION, moto_endpoint, monkeypatch)
    capsys.readouterr()
    handler({"action": "reconcile"}, None)
    log_bytes = len(capsys.readouterr().out.encode("utf-8"))
    assert log_bytes > 0
    reconciler = idle_reconciler_cost(memory_mb=function["MemorySize"], log_bytes_per_sweep=log_bytes)
    assert sum(reconciler.values()) < 0.05, reconciler

    total = sum(per_az.values()) + sum(reconciler.values())
    assert total == pytest.approx(sum(per_az.values()), abs=0.05)
