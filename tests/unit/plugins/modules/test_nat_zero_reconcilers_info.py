from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_zero_reconcilers_info
from nat_zero_dispatch import registry

VPC = "vpc-0123456789abcdef0"
FUNCTIONS = "arn:aws:lambda:us-east-1:123456789012:function:"
# A reconciler Lambda deleted a moment ago: the tagging API still lists it
# (GetResources is eventually consistent; Lambda's GetFunction is not).
GHOST = {
    "ResourceARN": FUNCTIONS + "gone-nat-zero",
    "Tags": [{"Key": "nat-zero:deployment", "Value": "gone"}, {"Key": "nat-zero:vpc", "Value": VPC}],
}


@pytest.fixture
def tagged(lam, function_arn):
    lam.tag_resource(Resource=function_arn, Tags={"nat-zero:deployment": "prod", "nat-zero:vpc": VPC})
    return function_arn


def test_lists_the_reconcilers_by_their_tags(run_module, tagged):
    result = run_module(nat_zero_reconcilers_info, {})

    assert result["changed"] is False
    assert result["deployments"] == [dict(name="prod", vpc_id=VPC, function_arn=tagged)]


def test_exclude_leaves_a_deployment_out(run_module, tagged):
    assert run_module(nat_zero_reconcilers_info, dict(exclude=["prod"]))["deployments"] == []


def test_a_function_the_tagging_api_still_lists_after_its_deletion_is_not_counted(
    run_module, tagged, hook_module_clients
):
    listed = []

    def lagging(client):
        def add_ghost(parsed, **_):
            parsed.setdefault("ResourceTagMappingList", []).append(GHOST)
            listed.append(GHOST["ResourceARN"])

        client.meta.events.register("after-call.resource-groups-tagging-api.GetResources", add_ghost)

    hook_module_clients("resourcegroupstaggingapi", lagging)

    assert [d["name"] for d in run_module(nat_zero_reconcilers_info, {})["deployments"]] == ["prod"]
    assert listed, "the tagging API listed the deleted function"


def test_an_untagged_function_is_no_deployment(run_module, function_arn):
    assert run_module(nat_zero_reconcilers_info, {})["deployments"] == []


ITEMS = [
    GHOST,
    {**GHOST, "ResourceARN": FUNCTIONS + "gone-ecs-spot-handler"},
    {**GHOST, "Tags": [{"Key": "nat-zero:deployment", "Value": "gone"}, {"Key": "nat-zero:vpc", "Value": "x"}]},
    {**GHOST, "Tags": [{"Key": "nat-zero:vpc", "Value": VPC}]},
    {"ResourceARN": "arn:aws:s3:::gone-nat-zero", "Tags": GHOST["Tags"]},
    {},
]


@pytest.mark.parametrize("item", ITEMS)
def test_the_module_and_the_dispatcher_agree_on_what_a_reconciler_is(item):
    """Two copies of one rule (the dispatcher ships without the collection): kept equal."""
    mine = nat_zero_reconcilers_info.reconciler_of(item)
    dispatchers = registry.reconciler_of(item)

    assert (None if mine is None else (mine["vpc_id"], mine["function_arn"])) == dispatchers
