# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Tags: conversion between AWS's shapes and dicts, comparison, EC2 updates."""

from __future__ import annotations


def tags_to_dict(tag_list, key_name="Key", value_name="Value"):
    """[{'Key': k, 'Value': v}, ...] -> {k: v}; None or [] -> {}."""
    return {t[key_name]: t.get(value_name, "") for t in tag_list or () if key_name in t}


def dict_to_tags(tags, key_name="Key", value_name="Value"):
    """{k: v} -> [{'Key': k, 'Value': v}, ...], sorted by key for stable requests."""
    return [{key_name: k, value_name: str(v)} for k, v in sorted((tags or {}).items())]


def tags_argument_spec():
    """tags and purge_tags as amazon.aws spells them (documented in natzero.aws.aws.tags)."""
    return dict(
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


def requested_tags(params):
    """The user's tags as AWS stores them, or None when the task leaves tags as they are."""
    return None if params["tags"] is None else normalize_tags(params["tags"])


def purge_requested(params):
    """purge_tags applies only when the task names the tags it wants."""
    return params["purge_tags"] and params["tags"] is not None


def normalize_tags(tags):
    """User tags as AWS stores them: string keys and values (None becomes '')."""
    return {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}


def compare_tags(current, desired, purge=True):
    """What to set and what to remove to turn current into desired.

    Returns (to_set: dict, to_remove: sorted list). Keys starting with 'aws:'
    belong to AWS and are never removed. desired None (tags left out) changes nothing.
    """
    if desired is None:
        return {}, []
    current = current or {}
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_remove = []
    if purge:
        to_remove = sorted(k for k in current if k not in desired and not k.startswith("aws:"))
    return to_set, to_remove


def tags_after(current, desired, purge=True):
    """The tags a resource holds once compare_tags' changes are made."""
    to_set, to_remove = compare_tags(current, desired, purge)
    after = {k: v for k, v in (current or {}).items() if k not in to_remove}
    after.update(to_set)
    return after


def tag_filters(tags):
    """EC2 Describe* filters matching every tag in tags."""
    return [{"Name": "tag:%s" % k, "Values": [v]} for k, v in sorted(tags.items())]


def tag_specifications(resource_type, tags):
    return [{"ResourceType": resource_type, "Tags": dict_to_tags(tags)}]


def ensure_ec2_tags(module, ec2, resource_id, current, desired, purge=True):
    """Bring an EC2 resource's tags to desired (skipped in check mode); True if they differ."""
    to_set, to_remove = compare_tags(current, desired, purge)
    if not to_set and not to_remove:
        return False
    if not module.check_mode:
        if to_remove:
            ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in to_remove])
        if to_set:
            ec2.create_tags(Resources=[resource_id], Tags=dict_to_tags(to_set))
    return True


def retag_resource(client, arn_key, arn, to_set, to_remove):
    """TagResource and UntagResource of a service that takes Key/Value tags and TagKeys (CloudWatch, SNS).

    arn_key is how the service spells the resource parameter (ResourceARN, ResourceArn).
    """
    if to_set:
        client.tag_resource(**{arn_key: arn, "Tags": dict_to_tags(to_set)})
    if to_remove:
        client.untag_resource(**{arn_key: arn, "TagKeys": to_remove})
