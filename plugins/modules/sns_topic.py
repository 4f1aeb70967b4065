#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: sns_topic
short_description: An SNS topic and its subscriptions
version_added: 0.2.0
description:
  - Creates or deletes a standard SNS topic, subscribes the endpoints asked for and, with O(purge_subscriptions),
    unsubscribes the others.
  - An e-mail subscription stays B(pending confirmation) until its owner follows the link AWS mails; until then
    it has no ARN, cannot be unsubscribed, and AWS deletes it after three days unconfirmed. The module reports
    each subscription's status, subscribes a pending endpoint again only when it is missing, and warns about a
    pending one it could not remove.
  - Deleting the topic deletes its subscriptions.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The topic name, 1-256 letters, digits, C(-) or C(_).
    type: str
    required: true
  subscriptions:
    description:
      - The endpoints to notify.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description:
          - How the endpoint is reached.
        type: str
        choices: [email, email-json, sms, sqs, lambda, https, http, application, firehose]
        required: true
      endpoint:
        description:
          - The address, phone number or ARN.
        type: str
        required: true
  purge_subscriptions:
    description:
      - Unsubscribe confirmed subscriptions not in O(subscriptions).
    type: bool
    default: true
  state:
    description:
      - V(present) creates the topic, V(absent) deletes it with its subscriptions.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - A topic costs nothing; e-mail notifications beyond the first 1,000 a month cost $2 per 100,000.
"""

EXAMPLES = r"""
- name: Topic of the alarms, mailed to the on-call list
  natzero.aws.sns_topic:
    name: prod-nat-zero-alarms
    subscriptions:
      - protocol: email
        endpoint: oncall@example.com
    tags:
      nat-zero:deployment: prod

- name: Remove it
  natzero.aws.sns_topic:
    name: prod-nat-zero-alarms
    state: absent
"""

RETURN = r"""
topic_arn:
  description: The topic ARN, or null when it does not exist after the run (or in check mode before creation).
  returned: success
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:prod-nat-zero-alarms
subscriptions:
  description: The topic's subscriptions after the run.
  returned: success
  type: list
  elements: dict
  contains:
    protocol:
      description: The protocol.
      type: str
      sample: email
    endpoint:
      description: The endpoint.
      type: str
      sample: oncall@example.com
    status:
      description: V(confirmed), or V(pending) while the endpoint's owner has not confirmed it.
      type: str
      sample: pending
    subscription_arn:
      description: The subscription ARN; null while pending.
      type: str
      sample: arn:aws:sns:us-east-1:123456789012:prod-nat-zero-alarms:6f0e1b2c-0000-4000-8000-000000000000
  sample: [{"protocol": "email", "endpoint": "oncall@example.com", "status": "pending", "subscription_arn": null}]
tags:
  description: The topic's tags after the run.
  returned: success
  type: dict
  sample: {"nat-zero:deployment": "prod"}
"""

import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ValidationError
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    dict_to_tags,
    purge_requested,
    requested_tags,
    retag_resource,
    tags_after,
    tags_argument_spec,
    tags_to_dict,
)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# What ListSubscriptionsByTopic says instead of an ARN until the endpoint confirms.
PENDING = "PendingConfirmation"


def find_topic(sns, name):
    """The ARN of the topic named name in this region, or None (read only: CreateTopic would create it)."""
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].split(":")[-1] == name:
                return topic["TopicArn"]
    return None


def subscription_of(raw):
    pending = raw["SubscriptionArn"] == PENDING
    return dict(
        protocol=raw["Protocol"],
        endpoint=raw["Endpoint"],
        status="pending" if pending else "confirmed",
        subscription_arn=None if pending else raw["SubscriptionArn"],
    )


def subscriptions_of(sns, arn):
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
    return [subscription_of(raw) for page in pages for raw in page["Subscriptions"]]


def key(subscription):
    return (subscription["protocol"], subscription["endpoint"])


def subscription_changes(found, wanted, purge):
    """(to subscribe, to unsubscribe, pending ones that cannot be unsubscribed)."""
    have = {key(s) for s in found}
    to_subscribe = [s for s in wanted if key(s) not in have]
    wanted_keys = {key(s) for s in wanted}
    extra = [s for s in found if key(s) not in wanted_keys] if purge else []
    return to_subscribe, [s for s in extra if s["subscription_arn"]], [s for s in extra if not s["subscription_arn"]]


def validate(p):
    if not _NAME.match(p["name"]):
        raise ValidationError("name %r is not a topic name: 1-256 letters, digits, '-' or '_'" % p["name"])
    for index, subscription in enumerate(p["subscriptions"]):
        if subscription["protocol"].startswith("email") and "@" not in subscription["endpoint"]:
            raise ValidationError(
                "subscriptions[%d].endpoint %r is not an e-mail address" % (index, subscription["endpoint"])
            )


def ensure(module):
    p = module.params
    validate(p)
    sns = module.client("sns")
    arn = find_topic(sns, p["name"])
    found = subscriptions_of(sns, arn) if arn else []
    tags = tags_to_dict(sns.list_tags_for_resource(ResourceArn=arn)["Tags"]) if arn else {}
    result = dict(changed=False, topic_arn=arn, subscriptions=found, tags=tags)
    if p["state"] == "absent":
        result.update(changed=arn is not None)
        if arn and not module.check_mode:
            sns.delete_topic(TopicArn=arn)
        if arn:
            result.update(topic_arn=None, subscriptions=[], tags={})
    else:
        result = present(module, sns, result)
    if module.diff_mode:
        result["diff"] = dict(
            before=dict(exists=arn is not None, subscriptions=sorted(map(key, found))),
            after=dict(exists=p["state"] == "present", subscriptions=sorted(map(key, result["subscriptions"]))),
        )
    return result


def present(module, sns, result):
    p = module.params
    wanted_tags = requested_tags(p)
    wanted = [dict(protocol=s["protocol"], endpoint=s["endpoint"]) for s in p["subscriptions"]]
    to_subscribe, to_unsubscribe, stuck = subscription_changes(
        result["subscriptions"], wanted, p["purge_subscriptions"]
    )
    for subscription in stuck:
        module.warn(
            "%s subscription %s is pending confirmation: it cannot be unsubscribed, AWS deletes it after three days"
            % (subscription["protocol"], subscription["endpoint"])
        )
    to_set, to_remove = compare_tags(result["tags"], wanted_tags, purge_requested(p))
    created = result["topic_arn"] is None
    result["changed"] = created or bool(to_subscribe or to_unsubscribe or to_set or to_remove)
    result["tags"] = tags_after(result["tags"], wanted_tags, purge_requested(p))
    kept = [s for s in result["subscriptions"] if s not in to_unsubscribe]
    if module.check_mode:
        result["subscriptions"] = kept + [dict(s, status="pending", subscription_arn=None) for s in to_subscribe]
        return result
    if created:
        request = dict(Name=p["name"])
        if wanted_tags:
            request["Tags"] = dict_to_tags(wanted_tags)
        result["topic_arn"] = sns.create_topic(**request)["TopicArn"]
    else:
        retag_resource(sns, "ResourceArn", result["topic_arn"], to_set, to_remove)
    for subscription in to_unsubscribe:
        sns.unsubscribe(SubscriptionArn=subscription["subscription_arn"])
    for subscription in to_subscribe:
        sns.subscribe(
            TopicArn=result["topic_arn"], Protocol=subscription["protocol"], Endpoint=subscription["endpoint"]
        )
    result["subscriptions"] = subscriptions_of(sns, result["topic_arn"])
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        subscriptions=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                protocol=dict(
                    type="str",
                    required=True,
                    choices=["email", "email-json", "sms", "sqs", "lambda", "https", "http", "application", "firehose"],
                ),
                endpoint=dict(type="str", required=True),
            ),
        ),
        purge_subscriptions=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    argument_spec.update(tags_argument_spec())
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure, resource="SNS topic %s" % module.params["name"])


if __name__ == "__main__":
    main()
