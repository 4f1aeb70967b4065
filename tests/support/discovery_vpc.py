"""A VPC as platform teams build them, for discovery tests (unit and integration).

Per AZ: one public subnet on a shared public route table (0.0.0.0/0 to the
internet gateway) and `private_per_az` private subnets, each with a route table
of its own and no default route. Works on any EC2 client (mock_aws or a moto
server).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DiscoveryZone:
    public_subnet_id: str
    private_subnet_ids: list[str] = field(default_factory=list)
    private_route_table_ids: list[str] = field(default_factory=list)
    private_cidrs: list[str] = field(default_factory=list)


@dataclass
class DiscoveryVpc:
    vpc_id: str
    internet_gateway_id: str
    public_route_table_id: str
    zones: dict[str, DiscoveryZone]

    def subnet(self, ec2, az: str, cidr: str) -> str:
        return ec2.create_subnet(VpcId=self.vpc_id, AvailabilityZone=az, CidrBlock=cidr)["Subnet"]["SubnetId"]

    def add_public_subnet(self, ec2, az: str, cidr: str) -> str:
        subnet_id = self.subnet(ec2, az, cidr)
        ec2.associate_route_table(RouteTableId=self.public_route_table_id, SubnetId=subnet_id)
        return subnet_id


def build_vpc(ec2, azs=("us-east-1a", "us-east-1b", "us-east-1c"), private_per_az: int = 2, second_octet: int = 0):
    vpc_id = ec2.create_vpc(CidrBlock=f"10.{second_octet}.0.0/16")["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_rtb = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    vpc = DiscoveryVpc(vpc_id, igw_id, public_rtb, {})
    for index, az in enumerate(azs):
        zone = DiscoveryZone(vpc.add_public_subnet(ec2, az, f"10.{second_octet}.{index}.0/24"))
        for n in range(private_per_az):
            cidr = f"10.{second_octet}.{100 + 10 * index + n}.0/24"
            subnet_id = vpc.subnet(ec2, az, cidr)
            table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
            zone.private_subnet_ids.append(subnet_id)
            zone.private_route_table_ids.append(table_id)
            zone.private_cidrs.append(cidr)
        vpc.zones[az] = zone
    return vpc
