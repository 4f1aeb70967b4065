#!/usr/bin/env python3
"""Create (or delete) a small VPC to deploy scale-to-zero NAT into.

Per AZ: a public subnet routed to an internet gateway and a private subnet with
its own route table (no default route: the role adds it). Writes the role's
inputs as a vars file for playbooks/site.yml:

    create_vpc.py --name demo --output demo-vars.yml
    create_vpc.py --name demo --output demo-vars.yml --reuse   # keep it if its VPC still exists
    ansible-playbook playbooks/site.yml -e @demo-vars.yml
    create_vpc.py --delete vpc-0123456789abcdef0

boto3 honours AWS_ENDPOINT_URL, so the same script builds the local sandbox on
a moto server and a real VPC in an AWS account.
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
import yaml

SANDBOX_TAG = "nat-zero:sandbox"


def _tags(resource_type: str, name: str, sandbox: str) -> list:
    tags = [{"Key": "Name", "Value": name}, {"Key": SANDBOX_TAG, "Value": sandbox}]
    return [{"ResourceType": resource_type, "Tags": tags}]


def create_vpc(ec2, name: str, availability_zones=("us-east-1a", "us-east-1b"), second_octet: int = 0) -> dict:
    """The VPC, and the nat_zero_* variables that deploy NAT into it."""
    prefix = f"10.{second_octet}"
    vpc_id = ec2.create_vpc(CidrBlock=f"{prefix}.0.0/16", TagSpecifications=_tags("vpc", name, name))["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", name, name))["InternetGateway"][
        "InternetGatewayId"
    ]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_rtb = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", f"{name}-public", name))[
        "RouteTable"
    ]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    variables = {
        "nat_zero_name": name,
        "nat_zero_vpc_id": vpc_id,
        "nat_zero_availability_zones": list(availability_zones),
        "nat_zero_public_subnets": [],
        "nat_zero_private_subnets": [],
        "nat_zero_private_route_table_ids": [],
        "nat_zero_private_subnets_cidr_blocks": [],
    }
    for index, az in enumerate(availability_zones):
        public_cidr, private_cidr = f"{prefix}.{index}.0/24", f"{prefix}.{100 + index}.0/24"
        public = ec2.create_subnet(
            VpcId=vpc_id,
            AvailabilityZone=az,
            CidrBlock=public_cidr,
            TagSpecifications=_tags("subnet", f"{name}-public-{az}", name),
        )["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=public_rtb, SubnetId=public)
        private = ec2.create_subnet(
            VpcId=vpc_id,
            AvailabilityZone=az,
            CidrBlock=private_cidr,
            TagSpecifications=_tags("subnet", f"{name}-private-{az}", name),
        )["Subnet"]["SubnetId"]
        private_rtb = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=_tags("route-table", f"{name}-private-{az}", name)
        )["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=private_rtb, SubnetId=private)
        variables["nat_zero_public_subnets"].append(public)
        variables["nat_zero_private_subnets"].append(private)
        variables["nat_zero_private_route_table_ids"].append(private_rtb)
        variables["nat_zero_private_subnets_cidr_blocks"].append(private_cidr)
    return variables


def delete_vpc(ec2, vpc_id: str) -> None:
    """Delete what create_vpc made (run the NAT teardown first)."""
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]
    for table in ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]:
        if any(a.get("Main") for a in table.get("Associations", [])):
            continue
        for association in table.get("Associations", []):
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])
    for subnet in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    igw_filter = [{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    for igw in ec2.describe_internet_gateways(Filters=igw_filter)["InternetGateways"]:
        ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
        ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    ec2.delete_vpc(VpcId=vpc_id)


def existing_vars(ec2, path: str) -> dict | None:
    """The vars file at path, if the VPC it names still exists (an emulator
    restart forgets every VPC, and the file would name subnets that are gone)."""
    try:
        with open(path, encoding="utf-8") as handle:
            variables = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        return None
    vpc_id = variables.get("nat_zero_vpc_id")
    if not vpc_id:
        return None
    try:
        ec2.describe_vpcs(VpcIds=[vpc_id])
    except ec2.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidVpcID.NotFound":
            return None
        raise
    return variables


def write_vars(variables: dict, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n")
        yaml.safe_dump(variables, handle, default_flow_style=False, sort_keys=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="sandbox", help="deployment name (and Name tag prefix)")
    parser.add_argument("--azs", default="us-east-1a,us-east-1b", help="comma-separated availability zones")
    parser.add_argument("--output", default="-", help="vars file to write ('-' for stdout)")
    parser.add_argument("--delete", metavar="VPC_ID", help="delete this sandbox VPC instead")
    parser.add_argument("--reuse", action="store_true", help="keep the --output file if the VPC it names still exists")
    args = parser.parse_args(argv)
    ec2 = boto3.client("ec2")
    if args.delete:
        delete_vpc(ec2, args.delete)
        return 0
    if args.reuse and args.output != "-" and existing_vars(ec2, args.output):
        print(f"kept {args.output}: its VPC still exists")
        return 0
    variables = create_vpc(ec2, args.name, [az for az in args.azs.split(",") if az])
    print(f"created {variables['nat_zero_vpc_id']}", file=sys.stderr if args.output == "-" else sys.stdout)
    if args.output == "-":
        yaml.safe_dump(variables, sys.stdout, default_flow_style=False, sort_keys=False)
    else:
        write_vars(variables, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
