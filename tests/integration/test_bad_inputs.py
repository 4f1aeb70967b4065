"""Bad inputs are rejected with a message naming the variable and the value,
before any AWS resource exists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from playbooks.sandbox.inventory import deployment_resources, leftovers

pytestmark = pytest.mark.integration


def _swap(values):
    return list(reversed(values))


# (case, changes to the good variables: a dict, or a function of them, expected message parts)
CASES = [
    ("name_with_space", {"nat_zero_name": "bad name"}, ["nat_zero_name", "'bad name'", "not a valid deployment name"]),
    ("name_too_long", {"nat_zero_name": "b" * 41}, ["nat_zero_name", "b" * 41]),
    ("vpc_id_malformed", {"nat_zero_vpc_id": "vpc-12345"}, ["nat_zero_vpc_id", "'vpc-12345'", "not a VPC ID"]),
    ("vpc_id_missing", {"nat_zero_vpc_id": None}, ["nat_zero_vpc_id not set", "examples/vars.example.yml"]),
    (
        "vpc_that_does_not_exist",
        {"nat_zero_vpc_id": "vpc-0123456789abcdef0"},
        ["nat_zero_vpc_id 'vpc-0123456789abcdef0' does not exist in region us-east-1"],
    ),
    ("region_unknown", {"nat_zero_region": "mars-1"}, ["nat_zero_region", "'mars-1'", "not a region name"]),
    (
        "az_of_other_region",
        lambda v: {"nat_zero_availability_zones": ["us-west-2a", "us-east-1b"]},
        ["nat_zero_availability_zones[0]", "'us-west-2a'", "not an availability zone of region us-east-1"],
    ),
    (
        "az_twice",
        {"nat_zero_availability_zones": ["us-east-1a", "us-east-1a"]},
        ["nat_zero_availability_zones", "more than once"],
    ),
    (
        "too_few_public_subnets",
        lambda v: {"nat_zero_public_subnets": v["nat_zero_public_subnets"][:1]},
        ["nat_zero_public_subnets has 1 entries", "nat_zero_availability_zones has 2"],
    ),
    (
        "private_subnets_as_string",
        lambda v: {"nat_zero_private_subnets": ",".join(v["nat_zero_private_subnets"])},
        ["nat_zero_private_subnets is the string", "not a list"],
    ),
    (
        "too_many_cidrs",
        {"nat_zero_private_subnets_cidr_blocks": ["10.20.100.0/24", "10.20.101.0/24", "10.20.102.0/24"]},
        ["nat_zero_private_subnets_cidr_blocks has 3 entries"],
    ),
    (
        "subnet_id_malformed",
        lambda v: {"nat_zero_public_subnets": ["subnet-XYZ", v["nat_zero_public_subnets"][1]]},
        ["nat_zero_public_subnets[0]", "'subnet-XYZ'", "not a subnet ID"],
    ),
    (
        "public_subnet_is_private",
        lambda v: {"nat_zero_public_subnets": v["nat_zero_private_subnets"]},
        ["nat_zero_private_subnets[0]", "is also nat_zero_public_subnets[0]"],
    ),
    (
        "route_table_id_malformed",
        lambda v: {"nat_zero_private_route_table_ids": ["rt-123", "rtb-1"]},
        ["nat_zero_private_route_table_ids[0]", "'rt-123'", "not a route table ID"],
    ),
    (
        "cidr_unparseable",
        {"nat_zero_private_subnets_cidr_blocks": ["10.20.300.0/24", "10.20.101.0/24"]},
        ["nat_zero_private_subnets_cidr_blocks[0]", "'10.20.300.0/24'", "not an IPv4 CIDR block"],
    ),
    (
        "cidr_host_bits",
        {"nat_zero_private_subnets_cidr_blocks": ["10.20.100.0/24", "10.20.101.7/24"]},
        ["nat_zero_private_subnets_cidr_blocks[1]", "'10.20.101.7/24'", "host bits", "10.20.101.0/24"],
    ),
    (
        "cidr_prefix_too_short",
        {"nat_zero_private_subnets_cidr_blocks": ["10.0.0.0/8", "10.20.101.0/24"]},
        ["nat_zero_private_subnets_cidr_blocks[0]", "'10.0.0.0/8'", "/16 to /28"],
    ),
    (
        "instance_type_malformed",
        {"nat_zero_instance_type": "t4gnano"},
        ["nat_zero_instance_type", "'t4gnano'", "not an instance type"],
    ),
    ("ami_id_malformed", {"nat_zero_ami_id": "ami-123"}, ["nat_zero_ami_id", "'ami-123'", "not an AMI ID"]),
    (
        "market_type_unknown",
        {"nat_zero_market_type": "reserved"},
        ["nat_zero_market_type", "reserved", "on-demand, spot"],
    ),
    ("iops_too_low", {"nat_zero_block_device_iops": 100}, ["nat_zero_block_device_iops 100", "out of range"]),
    (
        "throughput_above_iops_ratio",
        {"nat_zero_block_device_throughput": 1000},
        ["nat_zero_block_device_throughput 1000", "0.25 MiB/s per IOPS"],
    ),
    (
        "lambda_memory_too_small",
        {"nat_zero_lambda_memory_size": 64},
        ["nat_zero_lambda_memory_size 64", "128 to 10240"],
    ),
    ("log_retention_not_offered", {"nat_zero_log_retention_days": 10}, ["nat_zero_log_retention_days", "10"]),
    ("reserved_tag_keys", {"nat_zero_tags": {"aws:owner": "x", "team": "a"}}, ["nat_zero_tags", "aws:owner"]),
    (
        "ignore_tag_same_as_nat_tag",
        {"nat_zero_ignore_tag_key": "nat-zero:managed"},
        ["nat_zero_ignore_tag_key", "'nat-zero:managed'", "differ from nat_zero_nat_tag_key"],
    ),
    # These pass every format check; only AWS knows they are wrong.
    (
        "subnets_of_swapped_azs",
        lambda v: {"nat_zero_private_subnets": _swap(v["nat_zero_private_subnets"])},
        ["nat_zero_private_subnets[0]", "not in availability_zone us-east-1a"],
    ),
    (
        "subnet_of_another_vpc",
        lambda v: {
            "nat_zero_public_subnets": [v["other"]["nat_zero_public_subnets"][0], v["nat_zero_public_subnets"][1]]
        },
        ["nat_zero_public_subnets[0]", "not in vpc_id"],
    ),
    (
        "route_table_of_another_vpc",
        lambda v: {"nat_zero_private_route_table_ids": v["other"]["nat_zero_private_route_table_ids"]},
        ["nat_zero_private_route_table_ids[0]", "not in vpc_id"],
    ),
    (
        "ami_of_other_architecture",
        {"nat_zero_ami_id": "ami-1e749f67"},
        ["nat_zero_ami_id", "'ami-1e749f67'", "x86_64", "nat_zero_instance_type", "'t4g.nano'", "arm64"],
    ),
    (
        "instance_type_unknown",
        {"nat_zero_instance_type": "t4g.colossal"},
        ["nat_zero_instance_type", "'t4g.colossal'", "does not exist"],
    ),
    (
        "subnet_that_does_not_exist",
        lambda v: {"nat_zero_public_subnets": ["subnet-0123456789abcdef0", v["nat_zero_public_subnets"][1]]},
        ["nat_zero_public_subnets[0]", "'subnet-0123456789abcdef0'", "does not exist"],
    ),
]


@pytest.fixture(scope="module")
def good_vars(make_vpc):
    variables = make_vpc("badinputs", second_octet=20)
    other = make_vpc("badinputs-other", second_octet=21)
    return {**variables, "other": other}


def _case_vars(index: int, good: dict, change) -> dict:
    variables = {k: v for k, v in good.items() if k != "other"}
    variables["nat_zero_name"] = f"bad{index}"
    variables.update(change(good) if callable(change) else change)
    return {k: v for k, v in variables.items() if v is not None}


@pytest.fixture(scope="module")
def rejections(good_vars, run_playbook):
    """Every case's ansible-playbook run, a few at a time (each is mostly start-up)."""

    def run(index_case):
        index, (case, change, _) = index_case
        return case, run_playbook("site.yml", _case_vars(index, good_vars, change), label=case)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, enumerate(CASES)))


def test_there_are_at_least_15_bad_inputs():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case,change,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_with_a_clear_message(rejections, case, change, expected):
    run = rejections[case]
    assert run.returncode != 0, f"{case} was accepted:\n{run.tail()}"
    missing = [part for part in expected if part not in run.output]
    assert not missing, f"{case}: message lacks {missing}:\n{run.tail(30)}"
    assert run.recap.get("changed", 0) == 0
    # One mistake, one error: no raw module error per AZ first, nothing rescued.
    assert run.output.count("[ERROR]") == 1, f"{case}:\n{run.tail(30)}"
    assert run.recap.get("rescued", 0) == 0
    assert "Subnet subnet-" not in run.output and "Route table rtb-" not in run.output


def test_site_without_variables_points_at_the_example(run_playbook):
    run = run_playbook("site.yml", {})

    assert run.returncode != 0
    assert "nat_zero_name and nat_zero_vpc_id not set" in run.output
    assert "examples/vars.example.yml" in run.output
    assert "argument_spec" not in run.output


def test_no_aws_resource_exists_after_rejections(rejections, good_vars, aws):
    for index, (case, _, _) in enumerate(CASES):
        left = leftovers(deployment_resources(aws, f"bad{index}", good_vars["nat_zero_vpc_id"]))
        assert left == {}, f"{case} created {left}"
