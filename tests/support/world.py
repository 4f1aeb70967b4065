"""A deployment's world in moto: VPC, subnets and NAT infrastructure per AZ,
the reconciler's environment, and helpers to launch workloads and deliver
EventBridge-shaped events. Shared by unit tests, simulation and benchmarks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3

REGION = "us-east-1"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
AMI = "ami-12c6146b"  # one of moto's built-in images
NAT_TAG = ("nat-zero:managed", "true")
IGNORE_TAG = ("nat-zero:ignore", "true")


def state_change_event(instance_id: str, state: str, region: str = REGION, account: str = "123456789012") -> dict:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account,
        "time": "2026-11-23T17:00:00Z",
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


SWEEP_EVENT = {"action": "reconcile"}


@dataclass
class Zone:
    az: str
    public_subnet_id: str
    private_subnet_id: str
    public_eni_id: str
    private_eni_id: str
    launch_template_id: str


@dataclass
class World:
    """One VPC with a deployment named `name` across `azs`."""

    ec2: object
    name: str
    vpc_id: str
    zones: dict[str, Zone]
    config_version: str = "v1"
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        zones = {
            az: {
                "launch_template_id": z.launch_template_id,
                "public_eni_id": z.public_eni_id,
                "private_eni_id": z.private_eni_id,
                "private_subnet_ids": [z.private_subnet_id],
            }
            for az, z in self.zones.items()
        }
        env = {
            "NAT_ZERO_NAME": self.name,
            "NAT_ZERO_VPC_ID": self.vpc_id,
            "NAT_ZERO_REGION": REGION,
            "NAT_ZERO_ZONES": json.dumps(zones, sort_keys=True),
            "NAT_ZERO_CONFIG_VERSION": self.config_version,
            "NAT_ZERO_NAT_TAG_KEY": NAT_TAG[0],
            "NAT_ZERO_NAT_TAG_VALUE": NAT_TAG[1],
            "NAT_ZERO_IGNORE_TAG_KEY": IGNORE_TAG[0],
            "NAT_ZERO_IGNORE_TAG_VALUE": IGNORE_TAG[1],
        }
        env.update(self.extra_env)
        return env

    def launch_workload(self, az: str, tags: dict[str, str] | None = None, subnet: str = "private") -> str:
        zone = self.zones[az]
        kwargs = {}
        if tags:
            kwargs["TagSpecifications"] = [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        subnet_id = zone.private_subnet_id if subnet == "private" else zone.public_subnet_id
        response = self.ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet_id, **kwargs
        )
        return response["Instances"][0]["InstanceId"]

    def launch_nat(self, az: str, deployment: str | None = None, on_zone_enis: bool = False, **run_args) -> str:
        """An instance with a deployment's NAT tags launched by hand, not by the
        reconciler: a stray in the public subnet with ENIs of its own, another
        deployment's NAT, or (on_zone_enis) one on the AZ's persistent pair."""
        zone = self.zones[az]
        tags = {NAT_TAG[0]: NAT_TAG[1], "nat-zero:deployment": deployment or self.name}
        if deployment is None:
            tags["nat-zero:config-version"] = self.config_version
        if on_zone_enis:
            run_args.update(
                Placement={"AvailabilityZone": az},
                NetworkInterfaces=[
                    {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
                    {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
                ],
            )
        else:
            run_args["SubnetId"] = zone.public_subnet_id
        response = self.ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
            **run_args,
        )
        return response["Instances"][0]["InstanceId"]

    def instances(self, az: str | None = None, nat: bool | None = None) -> list[dict]:
        filters = [{"Name": "vpc-id", "Values": [self.vpc_id]}]
        if az:
            filters.append({"Name": "availability-zone", "Values": [az]})
        found = [i for r in self.ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
        if nat is None:
            return found
        return [i for i in found if _is_nat(i) == nat]

    def nats(self, az: str, states=("pending", "running", "stopping", "stopped", "shutting-down")) -> list[dict]:
        return [i for i in self.instances(az, nat=True) if i["State"]["Name"] in states]

    def eips(self, az: str | None = None) -> list[dict]:
        filters = [{"Name": "tag:nat-zero:deployment", "Values": [self.name]}]
        if az:
            filters.append({"Name": "tag:nat-zero:az", "Values": [az]})
        return self.ec2.describe_addresses(Filters=filters)["Addresses"]


def _is_nat(instance: dict) -> bool:
    return any(t["Key"] == NAT_TAG[0] and t["Value"] == NAT_TAG[1] for t in instance.get("Tags", ()))


def build_world(name: str = "demo", azs=AZS[:2], ec2=None, cidr_second_octet: int = 0) -> World:
    """Create a VPC and, per AZ, what the role deploys: subnets, the two
    persistent ENIs and a launch template. Call inside mock_aws (or with an
    ec2 client pointed at a moto server)."""
    ec2 = ec2 or boto3.client("ec2", region_name=REGION)
    base = f"10.{cidr_second_octet}"
    vpc_id = ec2.create_vpc(CidrBlock=f"{base}.0.0/16")["Vpc"]["VpcId"]
    zones = {}
    for index, az in enumerate(azs):
        # /20s: room for the thousands of instances the benchmarks launch.
        public = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{base}.{index * 32}.0/20", AvailabilityZone=az)
        private = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{base}.{index * 32 + 16}.0/20", AvailabilityZone=az)
        public_id, private_id = public["Subnet"]["SubnetId"], private["Subnet"]["SubnetId"]
        eni_tags = [
            {
                "ResourceType": "network-interface",
                "Tags": [
                    {"Key": "nat-zero:deployment", "Value": name},
                    {"Key": "nat-zero:az", "Value": az},
                ],
            }
        ]
        public_eni = ec2.create_network_interface(SubnetId=public_id, TagSpecifications=eni_tags)
        private_eni = ec2.create_network_interface(SubnetId=private_id, TagSpecifications=eni_tags)
        for eni in (public_eni, private_eni):
            # As the role leaves them: a NAT forwards nothing through a checked ENI.
            eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
            ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False})
        template = ec2.create_launch_template(
            LaunchTemplateName=f"{name}-{vpc_id}-nat-{az}",
            LaunchTemplateData={
                "ImageId": AMI,
                "InstanceType": "t4g.nano",
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            },
        )
        zones[az] = Zone(
            az=az,
            public_subnet_id=public_id,
            private_subnet_id=private_id,
            public_eni_id=public_eni["NetworkInterface"]["NetworkInterfaceId"],
            private_eni_id=private_eni["NetworkInterface"]["NetworkInterfaceId"],
            launch_template_id=template["LaunchTemplate"]["LaunchTemplateId"],
        )
    return World(ec2=ec2, name=name, vpc_id=vpc_id, zones=zones)
