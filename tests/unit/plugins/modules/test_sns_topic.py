from __future__ import annotations

import boto3
import pytest
from ansible.module_utils import basic

from ansible_collections.natzero.aws.plugins.modules import sns_topic
from tests.support.sns_fidelity import install_pending_confirmation

NAME = "prod-nat-zero-alarms"
ONCALL = dict(protocol="email", endpoint="oncall@example.com")
QUEUE = dict(protocol="sqs", endpoint="arn:aws:sqs:us-east-1:123456789012:ops")


@pytest.fixture
def sns(hook_module_clients):
    """E-mail subscriptions stay pending, as in AWS until someone clicks the link."""
    hook_module_clients("sns", install_pending_confirmation)
    return boto3.client("sns")


def topics(sns):
    return [t["TopicArn"].split(":")[-1] for t in sns.list_topics()["Topics"]]


def endpoints(sns, arn):
    return sorted(s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"])


def test_creates_it_with_a_pending_e_mail_subscription_then_changes_nothing(run_module, sns):
    args = dict(name=NAME, subscriptions=[ONCALL], tags={"nat-zero:deployment": "prod"})
    first = run_module(sns_topic, args)
    again = run_module(sns_topic, args)

    assert (first["changed"], again["changed"]) == (True, False)
    assert first["topic_arn"].endswith(":%s" % NAME) and topics(sns) == [NAME]
    assert first["subscriptions"] == [dict(ONCALL, status="pending", subscription_arn=None)]
    assert again["subscriptions"] == first["subscriptions"]
    assert endpoints(sns, first["topic_arn"]) == ["oncall@example.com"]
    tags = sns.list_tags_for_resource(ResourceArn=first["topic_arn"])["Tags"]
    assert tags == [{"Key": "nat-zero:deployment", "Value": "prod"}]


def test_check_mode_reports_the_change_and_creates_nothing(run_module, sns):
    result = run_module(sns_topic, dict(name=NAME, subscriptions=[ONCALL]), check_mode=True, diff=True)
    assert result["changed"] is True and result["topic_arn"] is None
    assert result["diff"]["before"]["exists"] is False and result["diff"]["after"]["exists"] is True
    assert topics(sns) == []


def test_a_confirmed_subscription_no_longer_asked_for_is_unsubscribed(run_module, sns):
    arn = run_module(sns_topic, dict(name=NAME, subscriptions=[ONCALL, QUEUE]))["topic_arn"]
    result = run_module(sns_topic, dict(name=NAME, subscriptions=[ONCALL]))
    assert result["changed"] is True
    assert endpoints(sns, arn) == ["oncall@example.com"]


def test_a_pending_subscription_no_longer_asked_for_is_kept_with_a_warning(run_module, sns, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))
    arn = run_module(sns_topic, dict(name=NAME, subscriptions=[ONCALL]))["topic_arn"]
    result = run_module(sns_topic, dict(name=NAME, subscriptions=[]))
    assert result["changed"] is False
    assert warnings == [
        "email subscription oncall@example.com is pending confirmation: it cannot be unsubscribed, "
        "AWS deletes it after three days"
    ]
    assert endpoints(sns, arn) == ["oncall@example.com"]


def test_tags_of_an_existing_topic_change_in_place(run_module, sns):
    arn = run_module(sns_topic, dict(name=NAME, tags={"a": "1"}))["topic_arn"]
    result = run_module(sns_topic, dict(name=NAME, tags={"b": "2"}))
    assert result["changed"] is True and result["tags"] == {"b": "2"}
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_absent_deletes_it_with_its_subscriptions_once(run_module, sns):
    run_module(sns_topic, dict(name=NAME, subscriptions=[ONCALL]))
    gone = run_module(sns_topic, dict(name=NAME, state="absent"))
    again = run_module(sns_topic, dict(name=NAME, state="absent"))
    assert (gone["changed"], again["changed"]) == (True, False)
    assert gone["topic_arn"] is None and topics(sns) == []
    assert sns.list_subscriptions()["Subscriptions"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(name="prod alarms"), "is not a topic name"),
        (dict(name=NAME, subscriptions=[dict(protocol="email", endpoint="oncall")]), "subscriptions[0].endpoint"),
    ],
)
def test_bad_input_fails_before_any_call(fails, sns, args, message):
    assert message in fails(sns_topic, args)["msg"]
    assert topics(sns) == []
