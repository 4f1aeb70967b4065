from __future__ import annotations

from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    dict_to_tags,
    normalize_tags,
    tag_filters,
    tags_to_dict,
)


def test_tag_lists_and_dicts_convert_both_ways():
    tags = {"b": "2", "a": "1"}
    assert dict_to_tags(tags) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert tags_to_dict(dict_to_tags(tags)) == tags
    assert tags_to_dict(None) == {}
    assert dict_to_tags({"k": "v"}, "TagKey", "TagValue") == [{"TagKey": "k", "TagValue": "v"}]


def test_compare_tags_sets_changed_values_and_purges_the_rest_except_aws_tags():
    current = {"keep": "1", "change": "old", "drop": "x", "aws:cloudformation:stack-name": "s"}
    desired = {"keep": "1", "change": "new", "add": "y"}

    assert compare_tags(current, desired) == ({"change": "new", "add": "y"}, ["drop"])
    assert compare_tags(current, desired, purge=False) == ({"change": "new", "add": "y"}, [])
    assert compare_tags(desired, desired) == ({}, [])


def test_normalize_tags_stringifies_values():
    assert normalize_tags({"n": 1, "b": True, "none": None}) == {"n": "1", "b": "True", "none": ""}


def test_tag_filters_match_every_tag():
    assert tag_filters({"b": "2", "a": "1"}) == [
        {"Name": "tag:a", "Values": ["1"]},
        {"Name": "tag:b", "Values": ["2"]},
    ]
