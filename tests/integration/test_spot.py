"""Spot NATs in an account that never ran a Spot Instance: RunInstances would
create the EC2 Spot service-linked role, but not for the reconciler (no
iam:CreateServiceLinkedRole), so the deploy creates it."""

from __future__ import annotations

import pytest

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.integration.reconciler import deployed_handler, state_change
from tests.support.ec2_fidelity import SPOT_ROLE_PATH, Ec2Fidelity

pytestmark = pytest.mark.integration

NAME = "spotty"


@pytest.fixture(scope="module")
def variables(make_vpc):
    """One AZ is enough: the role is per account."""
    full = make_vpc(NAME, second_octet=50)
    one_az = {k: v[:1] if isinstance(v, list) else v for k, v in full.items()}
    return {**one_az, "nat_zero_market_type": "spot"}


def test_spot_deploy_creates_the_service_linked_role_and_the_reconciler_launches(
    aws, run_playbook, variables, moto_endpoint, monkeypatch
):
    run_playbook("site.yml", variables).assert_ok()

    [role] = aws("iam").list_roles(PathPrefix=SPOT_ROLE_PATH)["Roles"]
    assert role["Path"] == SPOT_ROLE_PATH
    handler = deployed_handler(aws, f"{NAME}-nat-zero", moto_endpoint, monkeypatch)
    # EC2's refusal of a Spot launch without the role, on the reconciler's own client.
    fidelity = Ec2Fidelity(nat_zero_aws.ec2_client(load_config(), nat_zero_handler._counter), raw_client=aws("ec2"))
    ec2 = aws("ec2")
    template = ec2.describe_launch_templates(LaunchTemplateNames=[f"{NAME}-nat-us-east-1a"])["LaunchTemplates"][0]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert data["InstanceMarketOptions"]["MarketType"] == "spot"
    workload = ec2.run_instances(
        ImageId=data["ImageId"],
        InstanceType="t4g.nano",
        MinCount=1,
        MaxCount=1,
        SubnetId=variables["nat_zero_private_subnets"][0],
    )["Instances"][0]["InstanceId"]

    summary = handler(state_change(workload, "pending"), None)
    fidelity.uninstall()

    assert [(o["action"], o["result"]) for o in summary["zones"][0]["outcomes"]][0] == ("create_nat", "done"), summary
