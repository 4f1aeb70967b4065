from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_cleanup
from tests.support.ec2_fidelity import Ec2Fidelity

AMI = "ami-12c6146b"


def launch(ec2, subnet_id, tags):
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet_id, TagSpecifications=spec)[
        "Instances"
    ][0]["InstanceId"]


def allocate(ec2, tags):
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.allocate_address(Domain="vpc", TagSpecifications=spec)["AllocationId"]


def state(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.fixture
def deployment(ec2, vpc):
    nat_tags = {"nat-zero:managed": "true", "nat-zero:deployment": "prod"}
    eip_tags = {"nat-zero:deployment": "prod", "nat-zero:vpc": vpc["vpc_id"], "nat-zero:az": "us-east-1a"}
    running_nat = launch(ec2, vpc["public_subnet_id"], nat_tags)
    stopped_nat = launch(ec2, vpc["public_subnet_id"], nat_tags)
    ec2.stop_instances(InstanceIds=[stopped_nat])
    associated = allocate(ec2, eip_tags)
    ec2.associate_address(AllocationId=associated, InstanceId=running_nat)
    return dict(
        vpc_id=vpc["vpc_id"],
        nats=[running_nat, stopped_nat],
        eips=sorted([associated, allocate(ec2, eip_tags)]),
        other_nat=launch(ec2, vpc["public_subnet_id"], {"nat-zero:managed": "true", "nat-zero:deployment": "staging"}),
        workload=launch(ec2, vpc["private_subnet_id"], {"Name": "app"}),
        other_eip=allocate(ec2, dict(eip_tags, **{"nat-zero:deployment": "staging"})),
    )


def test_terminates_this_deployments_nats_and_releases_its_eips_only(run_module, ec2, deployment):
    result = run_module(nat_cleanup, dict(name="prod", vpc_id=deployment["vpc_id"]))

    assert result["changed"] is True
    assert sorted(result["terminated_instance_ids"]) == sorted(deployment["nats"])
    assert result["released_allocation_ids"] == deployment["eips"]
    assert {state(ec2, i) for i in deployment["nats"]} == {"terminated"}
    assert state(ec2, deployment["other_nat"]) == "running"
    assert state(ec2, deployment["workload"]) == "running"
    assert [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]] == [deployment["other_eip"]]


def test_second_run_has_nothing_to_do(run_module, deployment):
    args = dict(name="prod", vpc_id=deployment["vpc_id"])
    run_module(nat_cleanup, args)

    result = run_module(nat_cleanup, args)

    assert result["changed"] is False
    assert result["terminated_instance_ids"] == [] and result["released_allocation_ids"] == []


def test_check_mode_reports_and_touches_nothing(run_module, ec2, deployment):
    result = run_module(nat_cleanup, dict(name="prod", vpc_id=deployment["vpc_id"]), check_mode=True)

    assert result["changed"] is True
    assert sorted(result["terminated_instance_ids"]) == sorted(deployment["nats"])
    assert state(ec2, deployment["nats"][0]) == "running"
    assert len(ec2.describe_addresses()["Addresses"]) == 3


def test_custom_nat_tag(run_module, ec2, vpc):
    nat = launch(ec2, vpc["public_subnet_id"], {"role": "nat", "nat-zero:deployment": "prod"})

    result = run_module(nat_cleanup, dict(name="prod", vpc_id=vpc["vpc_id"], nat_tag_key="role", nat_tag_value="nat"))

    assert result["terminated_instance_ids"] == [nat]


def test_invalid_name_fails(fails, vpc):
    assert "not a valid deployment name" in fails(nat_cleanup, dict(name="no spaces", vpc_id=vpc["vpc_id"]))["msg"]


def show_stopping_after_terminate(hook_module_clients, reads):
    """EC2 answers 'stopping' for a while when a NAT that was being stopped is
    terminated: botocore's instance_terminated waiter fails at once on it."""
    fidelities = []

    def install(client):
        fidelity = Ec2Fidelity(client)

        def stopping(parsed, **_):
            for change in parsed.get("TerminatingInstances", ()):
                fidelity.serve_stale_state(change["InstanceId"], "stopping", reads)

        client.meta.events.register("after-call.ec2.TerminateInstances", stopping)
        fidelities.append(fidelity)

    hook_module_clients("ec2", install)
    return fidelities


def test_waits_through_stopping_after_terminate(run_module, ec2, deployment, hook_module_clients):
    show_stopping_after_terminate(hook_module_clients, reads=3)

    result = run_module(nat_cleanup, dict(name="prod", vpc_id=deployment["vpc_id"]))

    assert sorted(result["waited_instance_ids"]) == sorted(deployment["nats"])
    assert {state(ec2, i) for i in deployment["nats"]} == {"terminated"}
    assert ec2.describe_addresses(Filters=[{"Name": "tag:nat-zero:deployment", "Values": ["prod"]}])["Addresses"] == []


def test_wait_timeout_names_the_instances_still_alive_and_releases_nothing(fails, ec2, deployment, hook_module_clients):
    show_stopping_after_terminate(hook_module_clients, reads=10**6)

    failure = fails(nat_cleanup, dict(name="prod", vpc_id=deployment["vpc_id"], wait_timeout=0))

    assert "Timed out after 0s waiting for NAT instances to terminate" in failure["msg"]
    assert all("%s (stopping)" % nat in failure["msg"] for nat in deployment["nats"])
    assert failure["alive_instances"] == dict.fromkeys(deployment["nats"], "stopping")
    assert len(ec2.describe_addresses()["Addresses"]) == 3
