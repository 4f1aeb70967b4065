"""Scale-down asks whether any workload is left in an AZ by reading active
instances in small pages and stopping at the first page that holds one. A
wrong "no workload left" stops a NAT in use: each test here puts the only
other workload where a search that stops too early would miss it, under EC2's
paging (it filters after cutting a page, so pages may be short or empty and
still carry a NextToken; tests/support/ec2_fidelity.py)."""

from tests.support.world import AMI, IGNORE_TAG, state_change_event

AZ_A = "us-east-1a"
ACTIVE = ("pending", "running")


def launch_many(world, count, tags=None, az=AZ_A):
    """`count` instances, one reservation each, in launch order (moto pages by
    reservation and answers them in the order they were made)."""
    spec = {}
    if tags:
        spec["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    subnet = world.zones[az].private_subnet_id
    return [
        world.ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet, **spec)[
            "Instances"
        ][0]["InstanceId"]
        for _ in range(count)
    ]


def nat_up_for(world, reconcile, workload):
    summary = reconcile(state_change_event(workload, "pending"))
    assert [z["verdict"] for z in summary["zones"]] == ["create_nat"]


def stop_event(world, reconcile, workload):
    world.ec2.stop_instances(InstanceIds=[workload])
    return reconcile(state_change_event(workload, "stopped"))


def verdicts(summary):
    return [zone["verdict"] for zone in summary["zones"]]


def reads(summary):
    return summary["aws_calls"]["by_operation"]["DescribeInstances"]


def test_the_only_workload_left_behind_two_empty_pages_keeps_the_nat(world, reconcile, fidelity):
    keeper, leaver = launch_many(world, 2)
    nat_up_for(world, reconcile, leaver)
    fidelity.answer_empty_pages(2, states=ACTIVE)
    summary = stop_event(world, reconcile, leaver)
    assert verdicts(summary) == ["steady"]
    # by ID, the NATs, then three pages of the search: the workload is on the third.
    assert reads(summary) == 5
    assert summary["zones"][0]["observed"]["workloads"] == 1


def test_a_first_page_of_ignored_instances_does_not_end_the_search(world, reconcile, fidelity):
    launch_many(world, 30, tags={IGNORE_TAG[0]: IGNORE_TAG[1]})
    leaver, keeper = launch_many(world, 2)
    nat_up_for(world, reconcile, leaver)
    summary = stop_event(world, reconcile, leaver)
    assert verdicts(summary) == ["steady"]
    assert reads(summary) == 4  # the first small page held only ignored instances


def test_a_first_page_emptied_by_the_state_filter_does_not_end_the_search(world, reconcile, fidelity):
    # EC2 cuts the page from all instances, then drops the stopped ones: the
    # first page comes back empty, with a NextToken.
    parked = launch_many(world, 30)
    world.ec2.stop_instances(InstanceIds=parked)
    leaver, keeper = launch_many(world, 2)
    nat_up_for(world, reconcile, leaver)
    summary = stop_event(world, reconcile, leaver)
    assert verdicts(summary) == ["steady"]


def test_a_pending_workload_counts_as_left(world, reconcile, fidelity):
    leaver, keeper = launch_many(world, 2)
    nat_up_for(world, reconcile, leaver)
    fidelity.serve_stale_state(keeper, "pending", reads=3)
    assert verdicts(stop_event(world, reconcile, leaver)) == ["steady"]


def test_the_nats_own_event_searches_the_same_way(world, reconcile, fidelity):
    launch_many(world, 30, tags={IGNORE_TAG[0]: IGNORE_TAG[1]})
    (keeper,) = launch_many(world, 1)
    nat_up_for(world, reconcile, keeper)
    nat = world.nats(AZ_A)[0]["InstanceId"]
    fidelity.answer_empty_pages(1, states=ACTIVE)
    summary = reconcile(state_change_event(nat, "running"))
    assert verdicts(summary) == ["steady"]


def test_an_az_of_only_ignored_and_stopped_instances_stops_its_nat(world, reconcile, fidelity):
    # The other direction: when the search reads every page and finds no
    # workload, the NAT is stopped.
    launch_many(world, 30, tags={IGNORE_TAG[0]: IGNORE_TAG[1]})
    parked = launch_many(world, 5)
    world.ec2.stop_instances(InstanceIds=parked)
    (leaver,) = launch_many(world, 1)
    nat_up_for(world, reconcile, leaver)
    summary = stop_event(world, reconcile, leaver)
    assert verdicts(summary) == ["stop_nat"]
