"""Bad inputs are rejected with a message naming the variable and the value,
before any AWS resource exists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from playbooks.sandbox import create_vpc
from playbooks.sandbox.emulator import moto_server
from playbooks.sandbox.inventory import deployment_resources, leftovers
from tests.support.moto import clients

pytestmark = pytest.mark.integration


def _swap(values):
    return list(reversed(values))


PER_AZ_LISTS = (
    "nat_zero_availability_zones",
    "nat_zero_public_subnets",
    "nat_zero_private_subnets",
    "nat_zero_private_route_table_ids",
    "nat_zero_private_subnets_cidr_blocks",
)
UNKNOWN_EIPS = ["eipalloc-0123456789abcdef0", "eipalloc-0fedcba9876543210"]


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
    (
        "kms_key_id_not_an_arn",
        {"nat_zero_kms_key_id": "alias/nat-root"},
        ["nat_zero_kms_key_id", "'alias/nat-root'", "not a KMS key ARN", "arn:aws:kms:us-east-1:<account>"],
    ),
    (
        "kms_key_of_another_region",
        {"nat_zero_kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        ["nat_zero_kms_key_id", "is a key of eu-west-1", "the NATs run in us-east-1"],
    ),
    (
        "kms_key_without_encryption",
        {
            "nat_zero_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "nat_zero_encrypt_root_volume": False,
        },
        ["nat_zero_kms_key_id is set but nat_zero_encrypt_root_volume is false"],
    ),
    ("mode_unknown", {"nat_zero_mode": "sometimes"}, ["nat_zero_mode", "scale_to_zero, always_on", "sometimes"]),
    (
        "cross_az_failover_with_one_az",
        lambda v: {
            **{key: v[key][:1] for key in PER_AZ_LISTS},
            "nat_zero_failover": "cross_az",
        },
        ["nat_zero_failover is cross_az but nat_zero_availability_zones has one AZ (us-east-1a)"],
    ),
    (
        "eip_allocations_without_static_mode",
        {"nat_zero_eip_allocation_ids": [UNKNOWN_EIPS[0], UNKNOWN_EIPS[1]]},
        ["nat_zero_eip_allocation_ids is set but nat_zero_eip_mode is 'ephemeral'"],
    ),
    (
        "eip_allocations_one_for_two_azs",
        {"nat_zero_eip_mode": "static", "nat_zero_eip_allocation_ids": [UNKNOWN_EIPS[0]]},
        ["nat_zero_eip_allocation_ids has 1 entries", "nat_zero_availability_zones has 2"],
    ),
    (
        "eip_allocation_malformed",
        {"nat_zero_eip_mode": "static", "nat_zero_eip_allocation_ids": [UNKNOWN_EIPS[0], "203.0.113.5"]},
        ["nat_zero_eip_allocation_ids has entries that are not allocation IDs", "203.0.113.5"],
    ),
    (
        "alarm_topic_not_an_arn",
        {"nat_zero_alarms": True, "nat_zero_alarm_topic_arn": "ops-pager"},
        ["nat_zero_alarm_topic_arn", "'ops-pager'", "not an SNS topic ARN"],
    ),
    (
        "alarm_email_malformed",
        {"nat_zero_alarms": True, "nat_zero_alarm_emails": ["ops@example.com", "oncall"]},
        ["nat_zero_alarm_emails", "not e-mail addresses (oncall)"],
    ),
    (
        "flow_logs_s3_without_bucket",
        {"nat_zero_flow_logs": "s3"},
        ["nat_zero_flow_logs_destination_arn ''", "not an S3 bucket ARN", "nat_zero_flow_logs: s3"],
    ),
    (
        "flow_logs_bucket_malformed",
        {"nat_zero_flow_logs": "s3", "nat_zero_flow_logs_destination_arn": "s3://logs"},
        ["nat_zero_flow_logs_destination_arn 's3://logs'", "not an S3 bucket ARN"],
    ),
    # These pass every format check; only AWS knows they are wrong.
    (
        "eip_allocations_that_do_not_exist",
        {"nat_zero_eip_mode": "static", "nat_zero_eip_allocation_ids": UNKNOWN_EIPS},
        [
            f"nat_zero_eip_allocation_ids[0] '{UNKNOWN_EIPS[0]}' does not exist in region us-east-1",
            f"nat_zero_eip_allocation_ids[1] '{UNKNOWN_EIPS[1]}' does not exist in region us-east-1",
        ],
    ),
    (
        "eip_allocation_associated_elsewhere",
        lambda v: {"nat_zero_eip_mode": "static", "nat_zero_eip_allocation_ids": [v["free_eip"], v["busy_eip"]]},
        ["nat_zero_eip_allocation_ids[1] 'eipalloc-", "is associated with eni-", "not this deployment's NAT"],
    ),
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
        "public_subnet_without_internet_route",
        lambda v: {"nat_zero_public_subnets": [v["isolated_subnet"], v["nat_zero_public_subnets"][1]]},
        ["nat_zero_public_subnets[0]", "is not a public subnet", "has no 0.0.0.0/0 route", "internet gateway"],
    ),
    (
        "subnet_that_does_not_exist",
        lambda v: {"nat_zero_public_subnets": ["subnet-0123456789abcdef0", v["nat_zero_public_subnets"][1]]},
        ["nat_zero_public_subnets[0]", "'subnet-0123456789abcdef0'", "does not exist"],
    ),
]


@pytest.fixture(scope="module")
def good_vars(make_vpc, aws):
    variables = make_vpc("badinputs", second_octet=20)
    other = make_vpc("badinputs-other", second_octet=21)
    ec2 = aws("ec2")
    return {
        **variables,
        "other": other,
        "isolated_subnet": isolated_subnet(ec2, variables),
        "free_eip": ec2.allocate_address(Domain="vpc")["AllocationId"],
        "busy_eip": eip_on_someone_elses_eni(ec2, variables),
    }


def eip_on_someone_elses_eni(ec2, variables) -> str:
    eni = ec2.create_network_interface(SubnetId=variables["nat_zero_public_subnets"][1])["NetworkInterface"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=eni["NetworkInterfaceId"])
    return allocation


def isolated_subnet(ec2, variables) -> str:
    """A subnet of the first AZ whose route table has no route to the internet gateway."""
    vpc_id = variables["nat_zero_vpc_id"]
    az = variables["nat_zero_availability_zones"][0]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.50.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return subnet


def _case_vars(index: int, good: dict, change) -> dict:
    variables = {k: v for k, v in good.items() if k not in ("other", "isolated_subnet", "free_eip", "busy_eip")}
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


@pytest.fixture(scope="module")
def low_limit_account():
    """An account whose Lambda concurrency limit is 10, as new accounts often have:
    a server of its own (the limit is the emulator's MOTO_LAMBDA_CONCURRENCY_QUOTA)."""
    with moto_server(environment={"MOTO_LAMBDA_CONCURRENCY_QUOTA": "10"}) as endpoint:
        yield endpoint, clients(endpoint)


def test_low_lambda_concurrency_limit_is_rejected_naming_the_quota_before_any_change(low_limit_account, run_playbook):
    endpoint, client = low_limit_account
    variables = create_vpc.create_vpc(client("ec2"), "lowlimit", ("us-east-1a", "us-east-1b"), 22)

    run = run_playbook("site.yml", variables, env={"AWS_ENDPOINT_URL": endpoint}, label="lowlimit")

    assert run.returncode != 0, run.tail()
    for part in (
        "The reconciler lowlimit-nat-zero reserves 1 concurrent execution",
        "the account's Lambda limit is 10 with 10 unreserved",
        "'Concurrent executions' of AWS Lambda (L-B99A9384) in us-east-1 to at least 101",
    ):
        assert part in run.output, run.tail(30)
    assert run.recap.get("changed", 0) == 0
    left = leftovers(deployment_resources(client, "lowlimit", variables["nat_zero_vpc_id"]))
    assert left == {}, left
