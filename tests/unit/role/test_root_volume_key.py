"""A customer managed root volume key: the reconciler launches and starts the
NATs, so EC2 uses the key as the reconciler. Its policy grants exactly that
key, only through EC2; without a named key it grants no KMS action at all
(the launch template names the AWS managed key)."""

from __future__ import annotations

import pytest

from tests.security.policy import Facts, render_policy

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ZONES = {"us-east-1a": {"launch_template_id": "lt-0123456789abcdef0"}}


def policy(region="us-east-1", partition="aws", **overrides):
    facts = Facts(
        "prod",
        "vpc-0123456789abcdef0",
        region,
        "123456789012",
        ZONES,
        "ami-0123456789abcdef0",
        f"arn:{partition}:iam::123456789012:role/prod-nat-zero-instance",
        partition=partition,
        overrides=overrides,
    )
    return render_policy(facts)


def kms_statements(rendered):
    return {s["Sid"]: s for s in rendered["Statement"] if any(a.startswith("kms:") for a in s["Action"])}


def test_without_a_named_key_the_reconciler_gets_no_kms_action():
    assert kms_statements(policy()) == {}


def test_a_named_key_is_granted_exactly_and_only_through_ec2():
    statements = kms_statements(policy(nat_zero_kms_key_id=KEY))

    assert {sid: s["Resource"] for sid, s in statements.items()} == {
        "UseTheRootVolumeKeyThroughEc2": [KEY],
        "GrantTheRootVolumeKeyToEc2": [KEY],
    }
    use, grant = statements["UseTheRootVolumeKeyThroughEc2"], statements["GrantTheRootVolumeKeyToEc2"]
    assert sorted(use["Action"]) == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
    ]
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    for statement in statements.values():
        assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}


@pytest.mark.parametrize(
    "region,partition,service", [("cn-north-1", "aws-cn", "ec2.cn-north-1.amazonaws.com.cn")], ids=["aws-cn"]
)
def test_ec2_service_name_of_the_key_condition_follows_the_partition(region, partition, service):
    key = f"arn:{partition}:kms:{region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    statements = kms_statements(policy(region, partition, nat_zero_kms_key_id=key))

    assert {s["Condition"]["StringEquals"]["kms:ViaService"] for s in statements.values()} == {service}


def test_an_unencrypted_root_volume_grants_no_key():
    assert kms_statements(policy(nat_zero_kms_key_id=KEY, nat_zero_encrypt_root_volume=False)) == {}
