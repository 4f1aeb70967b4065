"""Deploy from a VPC ID alone: a VPC of 3 AZs with 2 private subnets each (a
route table per subnet), discovered, deployed by the README's command as
written, used by a workload in every private subnet, run again without a
change and torn down; and each ambiguity refused before any change."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from playbooks.sandbox.inventory import deployment_resources, leftovers
from tests.integration.reconciler import deployed_handler, state_change
from tests.support.discovery_vpc import build_vpc
from tests.support.readme import REPO, clean_environment, readme_block, run_block

pytestmark = pytest.mark.integration

NAME = "dev"  # as the README's block names it
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
NAT_TAG = ("nat-zero:managed", "true")


def default_route_target(ec2, table_id):
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    route = next((r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
    return route and route.get("NetworkInterfaceId")


@pytest.fixture(scope="module")
def vpc(aws):
    return build_vpc(aws("ec2"), AZS, private_per_az=2, second_octet=40)


@pytest.fixture(scope="module")
def readme_deploy(vpc, aws_env, collection_link, tmp_path_factory):
    """The README's one-variable deploy, run as written with VPC_ID set as it tells the user to."""
    home = tmp_path_factory.mktemp("home")
    env = clean_environment(home, **aws_env, VPC_ID=vpc.vpc_id)
    return run_block(readme_block("vpc-id-only"), cwd=REPO, env=env).assert_ok().output


@pytest.fixture(scope="module")
def function(readme_deploy, aws):
    return aws("lambda").get_function_configuration(FunctionName=f"{NAME}-nat-zero")


@pytest.fixture(scope="module")
def reconciler_zones(function):
    return json.loads(function["Environment"]["Variables"]["NAT_ZERO_ZONES"])


def test_readme_shows_what_discovery_finds_before_it_deploys(vpc, readme_deploy):
    found, deployed = readme_deploy.split("PLAY [Deploy scale-to-zero NAT]")
    assert "localhost | SUCCESS" in found
    for zone in vpc.zones.values():
        for subnet, table, cidr in zip(zone.private_subnet_ids, zone.private_route_table_ids, zone.private_cidrs):
            assert subnet in found and table in found and cidr in found
        assert zone.public_subnet_id in found
    assert "failed=0" in deployed


def test_readme_deploy_serves_every_az_with_all_its_route_tables_and_cidrs(vpc, reconciler_zones):
    assert sorted(reconciler_zones) == list(AZS)
    for az, zone in vpc.zones.items():
        assert reconciler_zones[az]["route_table_ids"] == zone.private_route_table_ids
        assert reconciler_zones[az]["private_cidrs"] == zone.private_cidrs


def test_every_private_route_table_sends_the_default_route_to_its_azs_nat(aws, vpc, reconciler_zones):
    ec2 = aws("ec2")
    for az, zone in vpc.zones.items():
        for table in zone.private_route_table_ids:
            assert default_route_target(ec2, table) == reconciler_zones[az]["private_eni_id"], (az, table)


def test_each_nat_admits_every_private_cidr_of_the_deployment(aws, vpc, readme_deploy):
    every_cidr = sorted(c for zone in vpc.zones.values() for c in zone.private_cidrs)
    groups = aws("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc.vpc_id]}, {"Name": "tag:nat-zero:deployment", "Values": [NAME]}]
    )["SecurityGroups"]
    assert len(groups) == len(AZS)
    for group in groups:
        admitted = sorted(r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"])
        assert admitted == every_cidr, group["GroupName"]


def nats_by_az(ec2, vpc_id):
    filters = [
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": f"tag:{NAT_TAG[0]}", "Values": [NAT_TAG[1]]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    instances = [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
    return {i["Placement"]["AvailabilityZone"]: i for i in instances}


def test_a_workload_in_each_private_subnet_gets_its_azs_nat(
    aws, vpc, reconciler_zones, function, moto_endpoint, monkeypatch
):
    ec2 = aws("ec2")
    handler = deployed_handler(aws, function["FunctionName"], moto_endpoint, monkeypatch)
    image = ec2.describe_launch_template_versions(
        LaunchTemplateId=reconciler_zones["us-east-1a"]["launch_template_id"], Versions=["$Default"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
    workloads = []
    for az, zone in vpc.zones.items():
        for subnet, table in zip(zone.private_subnet_ids, zone.private_route_table_ids):
            [workload] = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"]
            workloads.append(workload["InstanceId"])
            handler(state_change(workload["InstanceId"], "running"), None)
            nat = nats_by_az(ec2, vpc.vpc_id)[az]
            # The workload's own route table leads to the NAT of its AZ, through the NAT's private ENI.
            devices = {n["NetworkInterfaceId"]: n["Attachment"]["DeviceIndex"] for n in nat["NetworkInterfaces"]}
            assert devices[default_route_target(ec2, table)] == 1, (az, subnet)
    assert sorted(nats_by_az(ec2, vpc.vpc_id)) == list(AZS)
    ec2.terminate_instances(InstanceIds=workloads)


def test_second_run_from_the_vpc_id_changes_nothing(readme_deploy, vpc, run_playbook):
    """The private route tables now point at this deployment's ENIs: that is not a conflict."""
    run = run_playbook("site.yml", {"nat_zero_name": NAME, "nat_zero_vpc_id": vpc.vpc_id}).assert_ok()

    assert run.recap["changed"] == 0, run.tail()


def test_teardown_from_the_vpc_id_removes_the_route_of_every_private_table(
    vpc, aws, run_playbook, readme_deploy, reconciler_zones
):
    run_playbook("teardown.yml", {"nat_zero_name": NAME, "nat_zero_vpc_id": vpc.vpc_id}).assert_ok()

    ec2 = aws("ec2")
    for zone in vpc.zones.values():
        for table in zone.private_route_table_ids:
            assert default_route_target(ec2, table) is None, table
    assert leftovers(deployment_resources(aws, NAME, vpc.vpc_id)) == {}


# -- what discovery refuses ------------------------------------------------------


def two_public_subnets(ec2, built):
    second = built.add_public_subnet(ec2, "us-east-1a", "10.0.50.0/24")
    return ["us-east-1a has 2 public subnets (%s, %s)" % (built.zones["us-east-1a"].public_subnet_id, second)]


def private_subnets_without_public_subnet(ec2, built):
    lonely = built.subnet(ec2, "us-east-1c", "10.0.60.0/24")
    return ["us-east-1c has private subnets (%s) but no public subnet" % lonely, "nat_zero_availability_zones"]


def private_table_routed_to_a_nat_gateway(ec2, built):
    zone = built.zones["us-east-1b"]
    nat = ec2.create_nat_gateway(SubnetId=zone.public_subnet_id)["NatGateway"]["NatGatewayId"]
    ec2.create_route(RouteTableId=zone.private_route_table_ids[0], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    return ["route table %s" % zone.private_route_table_ids[0], "already sends 0.0.0.0/0 to %s (a NAT gateway)" % nat]


def private_table_routed_to_a_peering(ec2, built):
    zone = built.zones["us-east-1a"]
    peer = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=built.vpc_id, PeerVpcId=peer)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    ec2.create_route(
        RouteTableId=zone.private_route_table_ids[0], DestinationCidrBlock="0.0.0.0/0", VpcPeeringConnectionId=pcx
    )
    return ["already sends 0.0.0.0/0 to %s (a VPC peering connection)" % pcx]


AMBIGUITIES = [
    two_public_subnets,
    private_subnets_without_public_subnet,
    private_table_routed_to_a_nat_gateway,
    private_table_routed_to_a_peering,
]


@pytest.fixture(scope="module")
def refusals(aws, run_playbook):
    """Per case: its VPC (2 AZs, 1 private subnet each), the expected message parts, the run."""
    ec2 = aws("ec2")

    def run(index_case):
        index, case = index_case
        built = build_vpc(ec2, ("us-east-1a", "us-east-1b"), private_per_az=1, second_octet=0)
        expected = case(ec2, built)
        variables = {"nat_zero_name": f"ambiguous{index}", "nat_zero_vpc_id": built.vpc_id}
        return case.__name__, (built, expected, run_playbook("site.yml", variables, label=case.__name__))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, enumerate(AMBIGUITIES)))


@pytest.mark.parametrize("case", [c.__name__ for c in AMBIGUITIES])
def test_ambiguity_is_refused_naming_it_before_any_change(refusals, aws, case):
    index = [c.__name__ for c in AMBIGUITIES].index(case)
    built, expected, run = refusals[case]

    assert run.returncode != 0, run.tail()
    missing = [part for part in expected if part not in run.output]
    assert not missing, f"message lacks {missing}:\n{run.tail(30)}"
    assert "give the subnets explicitly" in run.output
    assert run.output.count("[ERROR]") == 1 and run.recap.get("rescued", 0) == 0, run.tail(30)
    assert run.recap.get("changed", 0) == 0
    assert leftovers(deployment_resources(aws, f"ambiguous{index}", built.vpc_id)) == {}


def test_explicit_lists_win_over_an_ambiguous_vpc(refusals, run_playbook, aws):
    """The VPC discovery refuses (two public subnets in us-east-1a) deploys when the lists say which."""
    built, _, _ = refusals["two_public_subnets"]
    zones = [built.zones[az] for az in ("us-east-1a", "us-east-1b")]
    variables = {
        "nat_zero_name": "explicit",
        "nat_zero_vpc_id": built.vpc_id,
        "nat_zero_availability_zones": ["us-east-1a", "us-east-1b"],
        "nat_zero_public_subnets": [z.public_subnet_id for z in zones],
        "nat_zero_private_subnets": [z.private_subnet_ids[0] for z in zones],
        # The explicit form of several per AZ: an entry may be a list.
        "nat_zero_private_route_table_ids": [z.private_route_table_ids for z in zones],
        "nat_zero_private_subnets_cidr_blocks": [z.private_cidrs for z in zones],
    }

    run = run_playbook("site.yml", variables, check=True).assert_ok()

    assert "public subnets" not in run.output
    assert leftovers(deployment_resources(aws, "explicit", built.vpc_id)) == {}
