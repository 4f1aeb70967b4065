"""ECS tasks as workloads (NAT_ZERO_WORKLOAD_SOURCES=ec2,ecs), end to end
through the handler on moto. Tasks and their ENIs are modelled as ECS makes
them (tests.support.ecs_tasks): moto cannot run an awsvpc task."""

import copy

import pytest

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.events import Ignored, TaskStateChange, parse_event
from nat_zero.handler import _config
from tests.support.ecs_tasks import ecs_api, running_task, start_task
from tests.support.world import IGNORE_TAG, SWEEP_EVENT, state_change_event

AZ_A, AZ_B = "us-east-1a", "us-east-1b"


@pytest.fixture
def ecs_world(world, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_WORKLOAD_SOURCES", "ec2,ecs")
    # ECS as it answers about the modelled tasks, on the reconciler's own client.
    ecs_api(world).install(nat_zero_aws.ecs_client(_config(), nat_zero_handler._counter))
    return world


def verdicts(summary):
    return [zone["verdict"] for zone in summary["zones"]]


def reads(summary):
    return summary["aws_calls"]["by_operation"]


def live_nats(world, az):
    return [n["State"]["Name"] for n in world.nats(az, states=("pending", "running"))]


def test_a_provisioning_task_starts_its_azs_nat_before_its_eni_exists(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A)
    event = task.event()
    assert "networkInterfaceId" not in str(event)  # ECS has not created the ENI yet
    summary = reconcile(event)
    assert summary["trigger"]["resolved"] == "task"
    assert verdicts(summary) == ["create_nat"]
    # The event is the proof of a workload: only the AZ's NATs are read (the
    # EIP read is the attach's, as for an instance).
    assert reads(summary)["DescribeInstances"] == 1 and "DescribeNetworkInterfaces" not in reads(summary)
    assert live_nats(ecs_world, AZ_A) == ["running"] and live_nats(ecs_world, AZ_B) == []


def test_the_task_lifecycle_keeps_then_stops_the_nat(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A)
    assert verdicts(reconcile(task.event())) == ["create_nat"]
    assert verdicts(reconcile(task.provision())) == ["steady"]
    assert verdicts(reconcile(task.run())) == ["steady"]
    # Asked to stop, the task still has its ENI: its event beats that read.
    summary = reconcile(task.stop())
    assert verdicts(summary) == ["stop_nat"]
    assert reads(summary)["DescribeNetworkInterfaces"] == 1
    assert live_nats(ecs_world, AZ_A) == []
    # STOPPED: the NAT is stopped, the EIP still on its public ENI goes.
    assert verdicts(reconcile(task.deprovision())) == ["release_eip"]
    assert ecs_world.eips(AZ_A) == []


def test_a_stopped_tasks_lingering_eni_does_not_hold_the_nat(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A)
    reconcile(task.event())
    task.provision()
    task.run()
    stopped = task.deprovision()
    # A read that lags still lists the ENI of the STOPPED task: recreate it.
    lingering = ecs_world.ec2.create_network_interface(
        SubnetId=task.subnet_id, Description=f"arn:aws:ecs:us-east-1:123456789012:attachment/{task.attachment_id}"
    )
    assert lingering["NetworkInterface"]["NetworkInterfaceId"]
    assert verdicts(reconcile(stopped)) == ["stop_nat"]


def test_a_task_keeps_the_nat_when_the_last_instance_leaves(ecs_world, reconcile):
    instance = ecs_world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(instance, "pending"))) == ["create_nat"]
    running_task(ecs_world, AZ_A)  # started with no event seen (lost)
    ecs_world.ec2.terminate_instances(InstanceIds=[instance])
    summary = reconcile(state_change_event(instance, "terminated"))
    assert verdicts(summary) == ["steady"]
    assert summary["zones"][0]["observed"]["workloads"] == 1
    assert live_nats(ecs_world, AZ_A) == ["running"]


def test_an_instance_keeps_the_nat_when_the_last_task_leaves(ecs_world, reconcile):
    instance = ecs_world.launch_workload(AZ_A)
    task = start_task(ecs_world, AZ_A)
    reconcile(task.event())
    task.provision()
    assert verdicts(reconcile(task.deprovision())) == ["steady"]
    assert live_nats(ecs_world, AZ_A) == ["running"]
    assert instance in {i["InstanceId"] for i in ecs_world.instances(AZ_A, nat=False)}


def test_the_sweep_finds_a_task_whose_events_were_lost(ecs_world, reconcile):
    running_task(ecs_world, AZ_B)
    summary = reconcile(SWEEP_EVENT)
    assert verdicts(summary) == ["steady", "create_nat"]
    # One DescribeNetworkInterfaces more than an EC2-only sweep (which reads
    # the deployment's ENIs no NAT holds, for their source/dest check): the
    # VPC's task ENIs, all at once.
    assert reads(summary)["DescribeNetworkInterfaces"] == 2
    assert live_nats(ecs_world, AZ_A) == [] and live_nats(ecs_world, AZ_B) == ["running"]


def test_task_enis_in_the_public_subnet_are_not_workloads(ecs_world, reconcile):
    running_task(ecs_world, AZ_A, subnet_id=ecs_world.zones[AZ_A].public_subnet_id)
    assert verdicts(reconcile(SWEEP_EVENT)) == ["steady", "steady"]


def test_a_task_outside_the_private_subnets_costs_no_read(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A, subnet_id=ecs_world.zones[AZ_A].public_subnet_id)
    summary = reconcile(task.event())
    assert summary["trigger"]["resolved"] == "outside_private_subnets"
    assert summary["aws_calls"]["by_operation"] == {}
    assert live_nats(ecs_world, AZ_A) == []


def test_without_the_ecs_source_task_events_cost_nothing_and_the_sweep_reads_no_enis(world, reconcile):
    task = start_task(world, AZ_A)
    summary = reconcile(task.event())
    assert summary["trigger"]["kind"] == "ignored" and summary["aws_calls"]["by_operation"] == {}
    task.provision()
    summary = reconcile(SWEEP_EVENT)
    # Only the sweep's read of the deployment's ENIs no NAT holds (their
    # source/dest check), none of task ENIs.
    assert reads(summary)["DescribeNetworkInterfaces"] == 1
    assert verdicts(summary) == ["steady", "steady"]


def _without(path):
    def change(event):
        target = event
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _set(path, value):
    def change(event):
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


MALFORMED = {
    "no_detail": _without(["detail"]),
    "detail_a_list": _set(["detail"], []),
    "no_task_arn": _without(["detail", "taskArn"]),
    "task_arn_of_a_service": _set(["detail", "taskArn"], "arn:aws:ecs:us-east-1:123456789012:service/apps/web"),
    "unknown_status": _set(["detail", "lastStatus"], "EXPLODING"),
    "no_desired_status": _without(["detail", "desiredStatus"]),
    "no_attachments": _without(["detail", "attachments"]),
    "attachments_an_object": _set(["detail", "attachments"], {"type": "eni"}),
    "attachment_id_not_a_uuid": _set(["detail", "attachments", 0, "id"], "../../etc"),
    "details_not_a_list": _set(["detail", "attachments", 0, "details"], "subnet-0123456789abcdef0"),
    "subnet_malformed": _set(["detail", "attachments", 0, "details", 0, "value"], "subnet-XYZ\n"),
    "eni_malformed": _set(["detail", "attachments", 0, "details", 1, "value"], ["eni-1"]),
    "other_region": _set(["region"], "eu-west-1"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_task_event_is_ignored_without_a_call(ecs_world, reconcile, case):
    task = start_task(ecs_world, AZ_A)
    task.provision()
    event = copy.deepcopy(task.event())
    MALFORMED[case](event)
    assert isinstance(parse_event(event, _config()), Ignored)
    summary = reconcile(event)
    assert summary["trigger"]["kind"] == "ignored"
    assert summary["aws_calls"]["by_operation"] == {}
    assert live_nats(ecs_world, AZ_A) == []


def test_a_task_with_bridge_networking_is_its_container_instance(ecs_world):
    event = start_task(ecs_world, AZ_A).event()
    event["detail"]["attachments"] = []
    assert parse_event(event, _config()) == Ignored("task has no awsvpc network attachment")


def test_a_task_event_parses_into_its_subnet_and_attachment(ecs_world):
    task = start_task(ecs_world, AZ_A)
    task.provision()
    request = parse_event(task.event(), _config())
    assert isinstance(request, TaskStateChange)
    assert (request.subnet_id, request.attachment_id, request.eni_id) == (
        ecs_world.zones[AZ_A].private_subnet_id,
        task.attachment_id,
        task.eni_id,
    )
    assert request.workload_state == "pending"


# The deployment's ignore tag, on a task or its service.
IGNORE = dict([IGNORE_TAG])


def ecs_reads(summary):
    return {op: n for op, n in reads(summary).items() if op.startswith("List") or op == "DescribeTasks"}


def test_an_ignored_task_never_starts_a_nat(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A, tags=IGNORE)
    summary = reconcile(task.event())
    assert summary["trigger"]["resolved"] == "ignored"
    # One read: the task's own tags carry the ignore tag.
    assert ecs_reads(summary) == {"ListTagsForResource": 1}
    for event in (task.provision(), task.run()):
        assert reconcile(event)["zones"] == []
    assert verdicts(reconcile(SWEEP_EVENT)) == ["steady", "steady"]
    assert live_nats(ecs_world, AZ_A) == []


def test_a_task_of_an_ignored_service_never_starts_a_nat(ecs_world, reconcile):
    # Tagged on the service only, not propagated: the task itself has no tag.
    ecs_api(ecs_world).tag_service("batch", IGNORE)
    task = start_task(ecs_world, AZ_A, group="service:batch")
    summary = reconcile(task.event())
    assert summary["trigger"]["resolved"] == "ignored"
    assert ecs_reads(summary) == {"ListTagsForResource": 2}  # the task's tags, then its service's
    task.provision()
    task.run()
    assert verdicts(reconcile(SWEEP_EVENT)) == ["steady", "steady"]
    assert live_nats(ecs_world, AZ_A) == []


def test_a_task_whose_service_propagates_the_tag_costs_one_read(ecs_world, reconcile):
    ecs_api(ecs_world).tag_service("batch", IGNORE, propagate=True)
    task = start_task(ecs_world, AZ_A, group="service:batch")
    summary = reconcile(task.event())
    assert summary["trigger"]["resolved"] == "ignored" and ecs_reads(summary) == {"ListTagsForResource": 1}


def test_a_task_of_an_untagged_service_starts_the_nat(ecs_world, reconcile):
    ecs_api(ecs_world).tag_service("web", {"team": "shop"})
    summary = reconcile(start_task(ecs_world, AZ_A).event())
    assert verdicts(summary) == ["create_nat"]
    assert ecs_reads(summary) == {"ListTagsForResource": 2}
    assert live_nats(ecs_world, AZ_A) == ["running"]


def test_a_task_in_an_az_whose_nat_runs_reads_no_tags(ecs_world, reconcile):
    reconcile(start_task(ecs_world, AZ_A).event())
    summary = reconcile(start_task(ecs_world, AZ_A, tags=IGNORE).event())
    assert verdicts(summary) == ["steady"] and ecs_reads(summary) == {}


def test_an_ignored_task_does_not_keep_the_nat(ecs_world, reconcile):
    instance = ecs_world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(instance, "pending"))) == ["create_nat"]
    running_task(ecs_world, AZ_A, tags=IGNORE)  # no event seen
    ecs_world.ec2.terminate_instances(InstanceIds=[instance])
    summary = reconcile(state_change_event(instance, "terminated"))
    assert verdicts(summary) == ["stop_nat"]
    # The ENI leads to the task through ECS: its clusters, their tasks, the tags.
    assert ecs_reads(summary) == {"DescribeTasks": 1, "ListClusters": 1, "ListTasks": 1}
    assert live_nats(ecs_world, AZ_A) == []


def test_the_sweep_stops_a_nat_kept_only_by_ignored_tasks_and_keeps_one_of_a_plain_task(ecs_world, reconcile):
    ecs_api(ecs_world).tag_service("batch", IGNORE)
    running_task(ecs_world, AZ_B)
    running_task(ecs_world, AZ_A, group="service:batch")
    reconcile(start_task(ecs_world, AZ_A).event())  # a NAT in AZ A, then its task is gone
    assert live_nats(ecs_world, AZ_A) == ["running"]
    summary = reconcile(SWEEP_EVENT)
    assert verdicts(summary) == ["stop_nat", "create_nat"]
    assert live_nats(ecs_world, AZ_A) == [] and live_nats(ecs_world, AZ_B) == ["running"]


def test_an_unreadable_ecs_counts_the_task_in_use(ecs_world, reconcile):
    api = ecs_api(ecs_world)
    task = start_task(ecs_world, AZ_A, tags=IGNORE)
    api.task_tags.pop(task.arn)  # ECS answers InvalidParameterException for it
    summary = reconcile(task.event())
    assert verdicts(summary) == ["create_nat"] and "InvalidParameterException" in summary["ecs_error"]


def test_a_task_out_of_the_private_subnets_costs_no_ecs_read(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A, subnet_id=ecs_world.zones[AZ_A].public_subnet_id, tags=IGNORE)
    summary = reconcile(task.event())
    assert summary["trigger"]["resolved"] == "outside_private_subnets"
    assert summary["aws_calls"]["by_operation"] == {} and ecs_api(ecs_world).calls == []


def test_the_eni_of_a_task_ecs_no_longer_wants_running_keeps_no_nat(ecs_world, reconcile):
    task = start_task(ecs_world, AZ_A)
    reconcile(task.event())
    task.provision()
    task.run()
    assert verdicts(reconcile(task.stop())) == ["stop_nat"]
    # Its NAT's "stopped" arrives while the leaving task still has its ENI:
    # ECS does not list it among the tasks it wants running, the NAT stays off.
    nat = ecs_world.nats(AZ_A)[0]["InstanceId"]
    summary = reconcile(state_change_event(nat, "stopped"))
    assert verdicts(summary) == ["release_eip"]
    assert ecs_reads(summary) == {"ListClusters": 1, "ListTasks": 1}


def test_a_task_event_names_its_cluster_and_service_for_the_tag_read(ecs_world):
    event = start_task(ecs_world, AZ_A, group="service:web-api").event()
    request = parse_event(event, _config())
    assert (request.cluster_arn, request.service_name) == ("arn:aws:ecs:us-east-1:123456789012:cluster/apps", "web-api")
    # A standalone task's group is its family; odd values name no service or
    # cluster (only the task's own tags are then read), and still parse.
    for group, cluster in (("family:nightly", None), (["service:x"], 7), ("service:../x", "arn:aws:ecs::cluster/")):
        event["detail"]["group"], event["detail"]["clusterArn"] = group, cluster
        request = parse_event(event, _config())
        assert isinstance(request, TaskStateChange) and (request.cluster_arn, request.service_name) == (None, None)
