"""Teardown finishes the job whatever is left: parts deleted by hand, a NAT
running, or nothing at all."""

from __future__ import annotations

import pytest
import yaml

from playbooks.sandbox.inventory import deployment_resources, leftovers, resource_names
from tests.integration.reconciler import deployed_handler

pytestmark = pytest.mark.integration

NAME = "beta"
NAMED = resource_names(NAME)


@pytest.fixture(scope="module")
def variables(make_vpc):
    return make_vpc(NAME, second_octet=40)


@pytest.fixture(scope="module")
def deployed(variables, run_playbook):
    run_playbook("site.yml", variables).assert_ok()
    return variables


def _start_nat(aws, moto_endpoint, monkeypatch, variables):
    """A workload in the first AZ, and the reconciler's sweep launching its NAT."""
    ec2 = aws("ec2")
    templates = deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])["launch_templates"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=templates[0], Versions=["$Latest"])
    image_id = data["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
    ec2.run_instances(
        ImageId=image_id,
        InstanceType="t4g.nano",
        MinCount=1,
        MaxCount=1,
        SubnetId=variables["nat_zero_private_subnets"][0],
    )
    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    handler({"action": "reconcile"}, None)


def _delete_by_hand(aws, variables):
    """What an operator (or a failed teardown) might already have removed."""
    aws("lambda").delete_function(FunctionName=NAMED["function"])
    events = aws("events")
    targets = events.list_targets_by_rule(Rule=NAMED["sweep_rule"])["Targets"]
    events.remove_targets(Rule=NAMED["sweep_rule"], Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=NAMED["sweep_rule"])
    iam = aws("iam")
    for policy in iam.list_role_policies(RoleName=NAMED["lambda_role"])["PolicyNames"]:
        iam.delete_role_policy(RoleName=NAMED["lambda_role"], PolicyName=policy)
    iam.delete_role(RoleName=NAMED["lambda_role"])
    aws("logs").delete_log_group(logGroupName=NAMED["log_group"])
    found = deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])
    aws("ec2").delete_launch_template(LaunchTemplateId=found["launch_templates"][-1])


def test_teardown_after_parts_were_deleted_by_hand_with_a_nat_running_leaves_nothing(
    deployed, aws, moto_endpoint, monkeypatch, run_playbook
):
    _start_nat(aws, moto_endpoint, monkeypatch, deployed)
    before = deployment_resources(aws, NAME, deployed["nat_zero_vpc_id"])
    assert before["instances"] and before["elastic_ips"], before
    _delete_by_hand(aws, deployed)

    # Teardown needs only the name and the VPC (the region comes from the environment).
    only_identity = {key: deployed[key] for key in ("nat_zero_name", "nat_zero_vpc_id")}
    run_playbook("teardown.yml", only_identity).assert_ok()

    assert leftovers(deployment_resources(aws, NAME, deployed["nat_zero_vpc_id"])) == {}


def test_teardown_of_a_deployment_that_never_existed_succeeds(make_vpc, run_playbook, aws):
    never = {**make_vpc("never", second_octet=41), "nat_zero_name": "never"}
    run = run_playbook("teardown.yml", never).assert_ok()
    assert run.recap["changed"] == 0
    assert leftovers(deployment_resources(aws, "never", never["nat_zero_vpc_id"])) == {}


def test_teardown_of_an_unknown_name_warns_and_says_so_in_a_fact(make_vpc, run_playbook, tmp_path):
    typo = {**make_vpc("typo", second_octet=42), "nat_zero_name": "typo"}
    playbook = tmp_path / "teardown_and_check.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Teardown, then test the fact",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Remove",
                            "ansible.builtin.include_role": {"name": "natzero.aws.nat_zero"},
                            "vars": {"nat_zero_state": "absent"},
                        },
                        {
                            "name": "The caller can tell nothing was removed",
                            "ansible.builtin.assert": {"that": ["not nat_zero_removed"]},
                        },
                    ],
                }
            ]
        )
    )

    run = run_playbook(str(playbook), {k: typo[k] for k in ("nat_zero_name", "nat_zero_vpc_id")}).assert_ok()

    assert "nothing of deployment 'typo' was found in region us-east-1" in run.output
    assert typo["nat_zero_vpc_id"] in run.output
    assert run.recap["changed"] == 0
