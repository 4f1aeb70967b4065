"""A Spot NAT in an account without the EC2 Spot service-linked role: EC2
would create the role, but not for a caller without iam:CreateServiceLinkedRole
(the reconciler). The role (natzero.aws.service_linked_role at deploy time)
must exist before the reconciler launches."""

from __future__ import annotations

import boto3

from tests.support.world import REGION, state_change_event

SPOT = {
    "MarketType": "spot",
    "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"},
}


def make_templates_spot(world):
    for zone in world.zones.values():
        world.ec2.create_launch_template_version(
            LaunchTemplateId=zone.launch_template_id,
            SourceVersion="$Latest",
            LaunchTemplateData={"InstanceMarketOptions": SPOT},
        )


def outcomes(summary):
    return [(o["action"], o["result"], o.get("error")) for zone in summary["zones"] for o in zone["outcomes"]]


def test_spot_launch_without_the_service_linked_role_is_refused_and_nothing_runs(world, reconcile, fidelity):
    make_templates_spot(world)
    workload = world.launch_workload("us-east-1a")

    summary = reconcile(state_change_event(workload, "pending"))

    assert outcomes(summary)[0] == ("create_nat", "error", "AuthFailure.ServiceLinkedRoleCreationNotPermitted")
    assert world.nats("us-east-1a") == []


def test_spot_launch_with_the_service_linked_role_starts_the_nat(world, reconcile, fidelity):
    make_templates_spot(world)
    boto3.client("iam", region_name=REGION).create_service_linked_role(AWSServiceName="spot.amazonaws.com")
    workload = world.launch_workload("us-east-1a")

    summary = reconcile(state_change_event(workload, "pending"))

    assert outcomes(summary)[0][:2] == ("create_nat", "done")
    assert len(world.nats("us-east-1a")) == 1
