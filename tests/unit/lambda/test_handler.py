"""The handler end to end against moto, with EC2's real behaviour added where
moto is more forgiving (tests.support.ec2_fidelity)."""

import json
from datetime import timedelta

import pytest

from nat_zero import act as nat_zero_act
from tests.support.world import SWEEP_EVENT, build_world, state_change_event

AZ_A, AZ_B = "us-east-1a", "us-east-1b"


def states(instances):
    return sorted(i["State"]["Name"] for i in instances)


def eni_eip(world, az):
    """Public IP of the EIP on the AZ's public ENI, or None."""
    eni = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[world.zones[az].public_eni_id])
    association = eni["NetworkInterfaces"][0].get("Association") or {}
    return association.get("PublicIp")


def verdicts(summary):
    return [zone["verdict"] for zone in summary["zones"]]


def only_nat(world, az):
    nats = world.nats(az)
    assert len(nats) == 1, nats
    return nats[0]


def test_two_az_lifecycle_scales_each_az_up_and_down(world, reconcile):
    # First workload in AZ a: the NAT is launched and its EIP attached at once.
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    assert verdicts(summary) == ["create_nat"]
    nat_a = only_nat(world, AZ_A)
    assert {t["Key"]: t["Value"] for t in nat_a["Tags"]}["nat-zero:config-version"] == "v1"
    enis = {n["Attachment"]["DeviceIndex"]: n["NetworkInterfaceId"] for n in nat_a["NetworkInterfaces"]}
    assert enis == {0: world.zones[AZ_A].public_eni_id, 1: world.zones[AZ_A].private_eni_id}
    assert eni_eip(world, AZ_A) is not None
    assert len(world.eips(AZ_A)) == 1
    assert world.nats(AZ_B) == [] and world.eips(AZ_B) == []

    # The NAT's own events and the workload's running event change nothing.
    for event in (
        state_change_event(nat_a["InstanceId"], "pending"),
        state_change_event(w1, "running"),
        state_change_event(nat_a["InstanceId"], "running"),
    ):
        assert verdicts(reconcile(event)) == ["steady"]

    # A second workload in the same AZ: still one NAT.
    w2 = world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(w2, "running"))) == ["steady"]

    # A workload in AZ b gets AZ b its own NAT.
    w3 = world.launch_workload(AZ_B)
    assert verdicts(reconcile(state_change_event(w3, "pending"))) == ["create_nat"]
    assert len(world.nats(AZ_B)) == 1 and len(world.eips(AZ_B)) == 1

    # One of two workloads stops: the NAT stays.
    world.ec2.stop_instances(InstanceIds=[w1])
    assert verdicts(reconcile(state_change_event(w1, "stopped"))) == ["steady"]
    assert only_nat(world, AZ_A)["State"]["Name"] == "running"

    # The last one stops: the NAT stops, then its EIP is released.
    world.ec2.terminate_instances(InstanceIds=[w2])
    assert verdicts(reconcile(state_change_event(w2, "shutting-down"))) == ["stop_nat"]
    assert only_nat(world, AZ_A)["State"]["Name"] == "stopped"
    assert verdicts(reconcile(state_change_event(nat_a["InstanceId"], "stopped"))) == ["release_eip"]
    assert world.eips(AZ_A) == [] and eni_eip(world, AZ_A) is None
    # AZ b was never touched.
    assert only_nat(world, AZ_B)["State"]["Name"] == "running" and len(world.eips(AZ_B)) == 1

    # Restart from stopped: the same NAT starts and gets an EIP right away.
    world.ec2.start_instances(InstanceIds=[w1])
    summary = reconcile(state_change_event(w1, "pending"))
    assert verdicts(summary) == ["start_nat"]
    assert [o["action"] for o in summary["zones"][0]["outcomes"]] == ["start_nat", "attach_eip"]
    assert only_nat(world, AZ_A)["InstanceId"] == nat_a["InstanceId"]
    assert only_nat(world, AZ_A)["State"]["Name"] == "running"
    assert eni_eip(world, AZ_A) is not None and len(world.eips(AZ_A)) == 1


def test_event_from_another_vpc_costs_one_read(world, reconcile):
    other = build_world("other", ec2=world.ec2, cidr_second_octet=1)
    stranger = other.launch_workload(AZ_A)
    summary = reconcile(state_change_event(stranger, "running"))
    assert summary["trigger"]["resolved"] == "outside_vpc"
    assert summary["aws_calls"] == {"reads": 1, "writes": 0, "by_operation": {"DescribeInstances": 1}}
    assert world.nats(AZ_A) == []


def test_ignored_instance_costs_one_read_and_launches_nothing(world, reconcile):
    ignored = world.launch_workload(AZ_A, tags={"nat-zero:ignore": "true"})
    summary = reconcile(state_change_event(ignored, "running"))
    assert summary["trigger"]["resolved"] == "ignored"
    assert summary["aws_calls"]["reads"] == 1 and summary["aws_calls"]["writes"] == 0
    assert world.nats(AZ_A) == []
    # A sweep does not count it either.
    assert verdicts(reconcile(SWEEP_EVENT)) == ["steady", "steady"]
    assert world.nats(AZ_A) == []


def test_in_vpc_event_needing_no_action_costs_two_reads(world, reconcile):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    w2 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w2, "running"))
    assert verdicts(summary) == ["steady"]
    assert summary["aws_calls"] == {"reads": 2, "writes": 0, "by_operation": {"DescribeInstances": 2}}


def test_workload_in_public_subnet_counts_for_its_az(world, reconcile):
    # Workloads are instances in the VPC+AZ; the subnet does not matter.
    w = world.launch_workload(AZ_A, subnet="public")
    assert verdicts(reconcile(state_change_event(w, "running"))) == ["create_nat"]


def test_nat_missing_from_filtered_read_is_not_launched_again(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]

    # The NAT's own event: the by-ID read stands in for the filtered read.
    fidelity.hide_from_filtered_reads(nat, reads=1)
    assert verdicts(reconcile(state_change_event(nat, "pending"))) == ["steady"]

    # Another workload's event: the filtered read misses the NAT, so the
    # decision is to create one; EC2 refuses (its ENIs are in use): a wait.
    w2 = world.launch_workload(AZ_A)
    fidelity.hide_from_filtered_reads(nat, reads=1)
    summary = reconcile(state_change_event(w2, "pending"))
    outcome = summary["zones"][0]["outcomes"][0]
    assert (outcome["action"], outcome["result"], outcome["reason"]) == ("create_nat", "wait", "eni_in_use")
    assert "error" not in summary
    assert [n["InstanceId"] for n in world.nats(AZ_A)] == [nat]
    assert len(world.eips(AZ_A)) == 1
    # The next look (fresh read) is steady.
    assert verdicts(reconcile(state_change_event(w2, "running"))) == ["steady"]


def test_outdated_nat_is_replaced_and_the_new_one_keeps_the_eip(world, reconcile, fidelity, monkeypatch):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    old_nat = only_nat(world, AZ_A)["InstanceId"]
    address = eni_eip(world, AZ_A)

    monkeypatch.setenv("NAT_ZERO_CONFIG_VERSION", "v2")
    summary = reconcile(SWEEP_EVENT)
    assert verdicts(summary)[0] == "replace_outdated_nat"

    # While the old NAT shuts down it holds the ENIs: launching is a wait.
    assert verdicts(reconcile(state_change_event(old_nat, "shutting-down"))) == ["wait_for_terminating_nat"]
    # A read that misses the shutting-down NAT (a filtered read lags) launches, and EC2 refuses the ENIs.
    fidelity.hide_from_filtered_reads(old_nat)
    summary = reconcile(state_change_event(w1, "running"))
    assert summary["zones"][0]["outcomes"][0]["result"] == "wait"
    assert fidelity.eni_conflicts == 1

    # Once it is gone, the terminated event launches the replacement, which
    # finds the EIP still on the persistent public ENI.
    fidelity.finish_shutdowns()
    summary = reconcile(state_change_event(old_nat, "terminated"))
    assert verdicts(summary) == ["create_nat"]
    new_nat = only_nat(world, AZ_A)
    assert new_nat["InstanceId"] != old_nat
    assert {t["Key"]: t["Value"] for t in new_nat["Tags"]}["nat-zero:config-version"] == "v2"
    assert eni_eip(world, AZ_A) == address and len(world.eips(AZ_A)) == 1


def test_stopped_event_with_stale_stopping_read_releases_eip(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]
    world.ec2.terminate_instances(InstanceIds=[w1])
    reconcile(state_change_event(w1, "terminated"))
    fidelity.serve_stale_state(nat, "stopping", reads=2)
    summary = reconcile(state_change_event(nat, "stopped"))
    assert verdicts(summary) == ["release_eip"]
    assert world.eips(AZ_A) == []


def test_late_pending_event_keeps_existing_eip(world, reconcile):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]
    summary = reconcile(state_change_event(nat, "pending"))
    assert verdicts(summary) == ["steady"]
    assert summary["aws_calls"]["writes"] == 0
    assert len(world.eips(AZ_A)) == 1


def test_shutting_down_workload_with_stale_running_read_is_not_counted(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    world.ec2.terminate_instances(InstanceIds=[w1])
    fidelity.serve_stale_state(w1, "running", reads=5)
    assert verdicts(reconcile(state_change_event(w1, "shutting-down"))) == ["stop_nat"]


def test_eip_allocation_failure_leaves_nat_and_retries_later(world, reconcile, fidelity):
    fidelity.fail_next("AllocateAddress", "AddressLimitExceeded")
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    outcomes = summary["zones"][0]["outcomes"]
    assert [(o["action"], o["result"]) for o in outcomes] == [("create_nat", "done"), ("attach_eip", "error")]
    assert outcomes[1]["error"] == "AddressLimitExceeded"
    assert world.eips() == []
    # The NAT's running event sees no EIP on the public ENI and attaches one.
    nat = only_nat(world, AZ_A)["InstanceId"]
    assert verdicts(reconcile(state_change_event(nat, "running"))) == ["attach_eip"]
    assert len(world.eips(AZ_A)) == 1 and eni_eip(world, AZ_A) is not None


def test_eip_association_failure_releases_the_allocated_address(world, reconcile, fidelity):
    fidelity.fail_next("AssociateAddress", "InvalidNetworkInterfaceID.NotFound")
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    assert summary["zones"][0]["outcomes"][-1]["result"] == "error"
    assert summary["aws_calls"]["by_operation"]["ReleaseAddress"] == 1
    assert world.eips() == []
    assert world.ec2.describe_addresses()["Addresses"] == []


@pytest.fixture
def pauses(monkeypatch):
    """The settling pauses the reconciler takes, recorded instead of slept."""
    taken = []
    monkeypatch.setattr(nat_zero_act.time, "sleep", taken.append)
    return taken


def test_new_eip_unknown_to_associate_for_a_moment_is_retried_until_attached(world, reconcile, fidelity, pauses):
    fidelity.settle_addresses_after(calls=2)
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    outcomes = summary["zones"][0]["outcomes"]
    assert [(o["action"], o["result"]) for o in outcomes] == [("create_nat", "done"), ("attach_eip", "done")]
    assert summary["aws_calls"]["by_operation"]["AssociateAddress"] == 3
    assert pauses == list(nat_zero_act.SETTLE_PAUSES[:2])
    assert eni_eip(world, AZ_A) is not None and len(world.eips(AZ_A)) == 1


def test_new_eip_never_known_is_released_and_reported_as_an_error_not_noop(world, reconcile, fidelity, pauses):
    fidelity.settle_addresses_after(calls=len(nat_zero_act.SETTLE_PAUSES) + 1)
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    attach = summary["zones"][0]["outcomes"][-1]
    assert (attach["action"], attach["result"], attach["error"]) == (
        "attach_eip",
        "error",
        "InvalidAllocationID.NotFound",
    )
    assert attach["released"] == [attach["allocation_id"]]
    assert sum(pauses) <= 10 and world.ec2.describe_addresses()["Addresses"] == []
    # The NAT's running event tries again, and EC2 has settled by then.
    fidelity.settle_addresses_after(calls=0)
    nat = only_nat(world, AZ_A)["InstanceId"]
    assert verdicts(reconcile(state_change_event(nat, "running"))) == ["attach_eip"]
    assert eni_eip(world, AZ_A) is not None


def test_release_right_after_disassociate_waits_for_the_address_to_settle(world, reconcile, fidelity, pauses):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]
    world.ec2.stop_instances(InstanceIds=[nat])
    fidelity.settle_addresses_after(calls=1)
    world.ec2.terminate_instances(InstanceIds=[w1])
    summary = reconcile(state_change_event(nat, "stopped"))
    assert verdicts(summary) == ["release_eip"]
    assert summary["zones"][0]["outcomes"][0]["result"] == "done"
    assert summary["aws_calls"]["by_operation"]["ReleaseAddress"] == 2
    assert pauses == [nat_zero_act.SETTLE_PAUSES[0]] and world.eips() == []


def test_address_still_in_use_after_every_pause_is_a_wait_the_sweep_finishes(world, reconcile, fidelity, pauses):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]
    world.ec2.stop_instances(InstanceIds=[nat])
    world.ec2.terminate_instances(InstanceIds=[w1])
    fidelity.settle_addresses_after(calls=len(nat_zero_act.SETTLE_PAUSES) + 1)
    outcome = reconcile(state_change_event(nat, "stopped"))["zones"][0]["outcomes"][0]
    assert (outcome["result"], outcome["reason"]) == ("wait", "InvalidIPAddress.InUse")
    assert len(world.eips(AZ_A)) == 1
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "release_eip"
    assert world.eips() == []


def tag_template(world, az, tags):
    """A new $Latest version of the AZ's launch template, tagging instances as the role does."""
    world.ec2.create_launch_template_version(
        LaunchTemplateId=world.zones[az].launch_template_id,
        SourceVersion="1",
        LaunchTemplateData={
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        },
    )


def test_nat_keeps_the_users_tags_though_request_tags_replace_the_templates(world, reconcile, fidelity, monkeypatch):
    tag_template(world, AZ_A, {"CostCenter": "42", "team": "net"})
    monkeypatch.setenv("NAT_ZERO_TAGS", json.dumps({"CostCenter": 42, "team": "net"}))
    w1 = world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(w1, "pending"))) == ["create_nat"]
    tags = {t["Key"]: t["Value"] for t in only_nat(world, AZ_A)["Tags"]}
    assert tags["CostCenter"] == "42" and tags["team"] == "net"
    assert tags["nat-zero:deployment"] == world.name
    volume_spec = [
        s for s in fidelity._last_params["RunInstances"]["TagSpecifications"] if s["ResourceType"] == "volume"
    ]
    assert {"Key": "CostCenter", "Value": "42"} in volume_spec[0]["Tags"]


def test_without_the_users_tags_in_the_request_the_nat_would_lose_them(world, reconcile, fidelity):
    tag_template(world, AZ_A, {"CostCenter": "42"})
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    assert "CostCenter" not in {t["Key"] for t in only_nat(world, AZ_A)["Tags"]}


KMS_REASON = (
    "Client.InvalidKMSKey.InvalidState",
    "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state",
)


def test_nat_dying_at_launch_is_relaunched_once_per_sweep_not_on_every_event(world, reconcile, fidelity, capsys):
    fidelity.fail_next_launches(*KMS_REASON, launches=2)
    w1 = world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(w1, "pending"))) == ["create_nat"]
    (first,) = fidelity.died_at_launch
    capsys.readouterr()
    for state in ("pending", "terminated"):
        summary = reconcile(state_change_event(first, state))
        assert verdicts(summary) == ["back_off_failed_launch"]
        assert "RunInstances" not in summary["aws_calls"]["by_operation"]
    logged = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert logged["level"] == "warning"
    assert logged["observed"]["failed_launch"]["reason_code"] == KMS_REASON[0]
    # The sweep (every five minutes) tries again; it dies again and backs off again.
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "create_nat"
    second = [iid for iid in fidelity.died_at_launch if iid != first]
    assert verdicts(reconcile(state_change_event(second[0], "terminated"))) == ["back_off_failed_launch"]
    # Once the cause is gone, the next sweep's NAT lives.
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "create_nat"
    assert only_nat(world, AZ_A)["State"]["Name"] == "running"


def test_nat_terminated_by_the_reconciler_is_no_launch_failure(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)["InstanceId"]
    world.ec2.terminate_instances(InstanceIds=[nat])
    assert verdicts(reconcile(state_change_event(nat, "terminated"))) == ["create_nat"]


def report(world, nat, value):
    world.ec2.create_tags(Resources=[nat], Tags=[{"Key": "nat-zero:dataplane", "Value": value}])


def test_running_nat_without_a_forwarding_report_since_launch_is_reported_at_no_extra_read(world, reconcile):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    nat = only_nat(world, AZ_A)
    nat_id, launched = nat["InstanceId"], nat["LaunchTime"]

    summary = reconcile(state_change_event(nat_id, "running"))
    zone = summary["zones"][0]
    assert zone["not_forwarding"] == [nat_id]
    assert zone["observed"]["nats"][0]["dataplane"] == "no report since launch"
    assert summary["aws_calls"]["reads"] == 3  # by ID, the NATs, the first page of the workload search

    report(world, nat_id, f"failed:install nftables {launched + timedelta(seconds=40):%Y-%m-%dT%H:%M:%SZ}")
    zone = reconcile(state_change_event(nat_id, "running"))["zones"][0]
    assert zone["observed"]["nats"][0]["dataplane"] == "failed:install nftables"

    # A report from before this launch (the NAT's previous run) is stale.
    report(world, nat_id, f"forwarding {launched - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}")
    assert reconcile(state_change_event(nat_id, "running"))["zones"][0]["not_forwarding"] == [nat_id]

    report(world, nat_id, f"forwarding {launched + timedelta(seconds=90):%Y-%m-%dT%H:%M:%SZ}")
    zone = reconcile(state_change_event(nat_id, "running"))["zones"][0]
    assert zone["observed"]["nats"][0]["dataplane"] == "forwarding"
    assert "not_forwarding" not in zone and zone["verdict"] == "steady"


def test_idle_nat_is_stopped_without_force(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    world.ec2.terminate_instances(InstanceIds=[w1])
    assert verdicts(reconcile(state_change_event(w1, "shutting-down"))) == ["stop_nat"]
    assert "Force" not in fidelity._last_params["StopInstances"]


def test_throttled_read_is_retried_by_botocore(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    fidelity.throttle_next("DescribeInstances", times=1)
    summary = reconcile(state_change_event(w1, "pending"))
    assert fidelity.throttled == 1
    assert verdicts(summary) == ["create_nat"]


def test_failure_beyond_retries_returns_error_without_raising_or_acting(world, reconcile, fidelity):
    w1 = world.launch_workload(AZ_A)
    fidelity.fail_next("DescribeInstances", "InternalError")
    summary = reconcile(state_change_event(w1, "pending"))
    assert "InternalError" in summary["error"]
    assert summary["aws_calls"]["writes"] == 0
    assert world.nats(AZ_A) == []
    # The scheduled sweep converges it.
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "create_nat"


def test_gone_instance_triggers_a_sweep(world, reconcile):
    w1 = world.launch_workload(AZ_B)
    summary = reconcile(state_change_event("i-0123456789abcdef0", "terminated"))
    assert summary["trigger"]["resolved"] == "instance_not_found_sweep"
    assert verdicts(summary) == ["steady", "create_nat"]
    assert len(world.nats(AZ_B)) == 1 and w1


def test_sweep_terminates_duplicate_nats_keeping_the_running_one(world, reconcile):
    w1 = world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    kept = only_nat(world, AZ_A)["InstanceId"]
    # A stray second NAT of this deployment, in the public subnet on ENIs of its own.
    stray = world.launch_nat(AZ_A)
    world.ec2.stop_instances(InstanceIds=[stray])
    summary = reconcile(SWEEP_EVENT)
    assert summary["zones"][0]["actions"][0] == {"action": "terminate_nat", "instance_id": stray, "reason": "duplicate"}
    assert [n["InstanceId"] for n in world.nats(AZ_A)] == [kept]


def test_sweep_releases_leaked_eips_and_only_this_deployments(world, reconcile):
    other = build_world("other", ec2=world.ec2, cidr_second_octet=1)

    def leak(name, vpc_id):
        tags = [
            {"Key": "nat-zero:deployment", "Value": name},
            {"Key": "nat-zero:vpc", "Value": vpc_id},
            {"Key": "nat-zero:az", "Value": AZ_A},
            {"Key": "nat-zero:managed", "Value": "true"},
        ]
        return world.ec2.allocate_address(
            Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags}]
        )

    leak(world.name, world.vpc_id)
    foreign = leak(other.name, other.vpc_id)
    untagged = world.ec2.allocate_address(Domain="vpc")
    summary = reconcile(SWEEP_EVENT)
    assert verdicts(summary) == ["release_eip", "steady"]
    remaining = {a["AllocationId"] for a in world.ec2.describe_addresses()["Addresses"]}
    assert remaining == {foreign["AllocationId"], untagged["AllocationId"]}


def test_another_deployments_nat_in_the_same_vpc_is_never_touched(world, reconcile):
    neighbour = world.launch_nat(AZ_A, deployment="neighbour")
    assert reconcile(state_change_event(neighbour, "running"))["trigger"]["resolved"] == "other_deployment_nat"
    summary = reconcile(SWEEP_EVENT)
    assert verdicts(summary) == ["steady", "steady"]  # not a workload, not ours
    state = world.ec2.describe_instances(InstanceIds=[neighbour])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"


def test_instance_in_an_unmanaged_az_is_ignored(world, reconcile):
    subnet = world.ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.0.200.0/24", AvailabilityZone="us-east-1c")
    w = world.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet["Subnet"]["SubnetId"])[
        "Instances"
    ][0]["InstanceId"]
    summary = reconcile(state_change_event(w, "running"))
    assert summary["trigger"]["resolved"] == "az_not_managed"
    assert summary["aws_calls"]["writes"] == 0


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"action": "destroy"},
        state_change_event("i-0123456789abcdef0", "running", region="eu-west-1"),
        {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": []},
    ],
)
def test_malformed_event_makes_no_aws_call(world, reconcile, event):
    summary = reconcile(event)
    assert summary["trigger"]["kind"] == "ignored"
    assert summary["aws_calls"] == {"reads": 0, "writes": 0, "by_operation": {}}


def test_summary_and_log_lines_are_json(world, reconcile, capsys):
    w1 = world.launch_workload(AZ_A)
    summary = reconcile(state_change_event(w1, "pending"))
    assert json.loads(json.dumps(summary)) == summary
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    decision_lines = [line for line in lines if "verdict" in line]
    assert len(decision_lines) == 1
    line = decision_lines[0]
    assert line["az"] == AZ_A and line["verdict"] == "create_nat"
    assert line["observed"]["workloads"] == 1
    assert [a["action"] for a in line["actions"]] == ["create_nat", "attach_eip"]
    assert line["aws_calls_so_far"]["writes"] == 3  # RunInstances, AllocateAddress, AssociateAddress
    assert "act_ms" in line


def test_missing_setting_fails_naming_the_variable(world, reconcile, monkeypatch):
    from nat_zero.config import ConfigError

    monkeypatch.delenv("NAT_ZERO_VPC_ID")
    with pytest.raises(ConfigError, match="NAT_ZERO_VPC_ID"):
        reconcile(SWEEP_EVENT)


def _second_read_filters(reconciler_client):
    """Record the Filters of every DescribeInstances the reconciler sends."""
    seen = []

    def record(params, **_):
        seen.append({f["Name"] for f in params.get("Filters", ())})

    reconciler_client.meta.events.register("before-parameter-build.ec2.DescribeInstances", record)
    return seen


def test_active_workload_event_reads_only_the_nats_of_its_az(world, reconcile, reconciler_client):
    world.ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=30, MaxCount=30, SubnetId=world.zones[AZ_A].private_subnet_id
    )
    w1 = world.launch_workload(AZ_A)
    seen = _second_read_filters(reconciler_client)
    summary = reconcile(state_change_event(w1, "pending"))
    assert verdicts(summary) == ["create_nat"]
    assert "tag:nat-zero:deployment" in seen[1]  # the NAT-only read, not the 31 instances
    assert summary["zones"][0]["observed"]["workloads"] == 1


def test_stopping_workload_event_scans_the_az_for_the_others(world, reconcile, reconciler_client):
    w1, w2 = world.launch_workload(AZ_A), world.launch_workload(AZ_A)
    reconcile(state_change_event(w1, "pending"))
    world.ec2.stop_instances(InstanceIds=[w1])
    seen = _second_read_filters(reconciler_client)
    summary = reconcile(state_change_event(w1, "stopping"))
    # The NATs by their tags, then the AZ's active instances for another workload.
    assert "tag:nat-zero:deployment" in seen[1] and "tag:nat-zero:deployment" not in seen[2]
    assert verdicts(summary) == ["steady"] and summary["zones"][0]["observed"]["workloads"] == 1
    world.ec2.stop_instances(InstanceIds=[w2])
    assert verdicts(reconcile(state_change_event(w2, "stopping"))) == ["stop_nat"]


def test_idle_spot_nat_is_terminated_not_stopped_and_its_eip_released(world, reconcile):
    spot_nat = world.launch_nat(AZ_A, on_zone_enis=True, InstanceMarketOptions={"MarketType": "spot"})
    w1 = world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(w1, "running"))) == ["attach_eip"]
    world.ec2.terminate_instances(InstanceIds=[w1])
    summary = reconcile(state_change_event(w1, "terminated"))
    assert verdicts(summary) == ["terminate_idle_spot_nat"]
    assert [o["result"] for o in summary["zones"][0]["outcomes"]] == ["done", "done"]
    state = world.ec2.describe_instances(InstanceIds=[spot_nat])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated" and world.eips() == []
