"""The role builds every ARN in the partition of the region it deploys to: the NAT
instance role's managed policy in aws-cn or aws-us-gov is not arn:aws:..."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from botocore.loaders import create_loader

from tests.support.role_vars import trusted

ROLE = Path(__file__).resolve().parents[3] / "roles" / "nat_zero"


def role_value(expression: str, region: str):
    loader = DataLoader()
    variables = trusted(loader.load_from_file(str(ROLE / "vars" / "main.yml")))
    variables.update(trusted(loader.load_from_file(str(ROLE / "defaults" / "main.yml"))))
    # The region the role runs in: validate.yml sets it from the region AWS answered from.
    variables["nat_zero__region"] = region
    return Templar(loader=loader, variables=variables).template(trust_as_template(expression))


def one_region_of_each_partition():
    """A region of every partition botocore knows, with that partition."""
    for partition in create_loader().load_data("endpoints")["partitions"]:
        region = sorted(partition["regions"])[0]
        yield pytest.param(region, partition["partition"], id=f"{partition['partition']}:{region}")


@pytest.mark.parametrize("region,partition", list(one_region_of_each_partition()))
def test_partition_is_the_regions_as_botocore_resolves_it(region, partition):
    assert boto3.session.Session().get_partition_for_region(region) == partition
    assert role_value("{{ nat_zero__partition }}", region) == partition


@pytest.mark.parametrize(
    "region,arn",
    [
        ("us-east-1", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        ("cn-north-1", "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        ("us-gov-west-1", "arn:aws-us-gov:iam::aws:policy/AmazonSSMManagedInstanceCore"),
    ],
)
def test_instance_role_managed_policy_is_in_the_regions_partition(region, arn):
    assert role_value("{{ nat_zero__instance_managed_policy_arns }}", region) == [arn]
