"""One deployment through its life: deploy, inspect, re-run, reconcile, update, tear down.

The tests of this module run in file order on one deployment; the read-only
ones share the first deploy.
"""

from __future__ import annotations

import base64
import json

import pytest

from playbooks.sandbox.inventory import DEPLOYMENT_TAG, deployment_resources, leftovers, resource_names, tags_of
from tests.dataplane.netns_topology import BOOTSTRAP, without_comment_lines
from tests.integration.conftest import TIMINGS
from tests.integration.reconciler import deployed_handler, state_change

pytestmark = pytest.mark.integration

NAME = "alpha"
NAMED = resource_names(NAME)
NAT_TAG = ("nat-zero:managed", "true")
STATE_CHANGE_PATTERN = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]},
}


@pytest.fixture(scope="module")
def variables(make_vpc):
    return {**make_vpc(NAME, second_octet=30), "nat_zero_tags": {"team": "platform"}}


@pytest.fixture(scope="module")
def zones(variables):
    """Per AZ: its subnets, route table and CIDR, from the fixture VPC."""
    return {
        az: {
            "public_subnet": variables["nat_zero_public_subnets"][i],
            "private_subnet": variables["nat_zero_private_subnets"][i],
            "route_table": variables["nat_zero_private_route_table_ids"][i],
            "cidr": variables["nat_zero_private_subnets_cidr_blocks"][i],
        }
        for i, az in enumerate(variables["nat_zero_availability_zones"])
    }


@pytest.fixture(scope="module")
def first_deploy(variables, run_playbook):
    run = run_playbook("site.yml", variables).assert_ok()
    TIMINGS["first deploy (2 AZs)"] = run.seconds
    return run


@pytest.fixture(scope="module")
def function(first_deploy, aws):
    return aws("lambda").get_function_configuration(FunctionName=NAMED["function"])


@pytest.fixture(scope="module")
def reconciler_zones(function):
    return json.loads(function["Environment"]["Variables"]["NAT_ZERO_ZONES"])


def _enis(aws, vpc_id):
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [NAME]}]
    return aws("ec2").describe_network_interfaces(Filters=filters)["NetworkInterfaces"]


def _launch_template_data(aws, template_id, version="$Latest"):
    versions = aws("ec2").describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])
    return versions["LaunchTemplateVersions"][0]


def _policy_document(document):
    return json.loads(document) if isinstance(document, str) else document


# -- what the first deploy created -------------------------------------------------


def test_first_deploy_reports_changes(first_deploy):
    assert first_deploy.recap["changed"] > 0
    assert first_deploy.recap["failed"] == 0


def test_each_az_has_a_security_group_open_to_the_deployments_private_cidrs_only(aws, variables, zones, first_deploy):
    groups = aws("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [variables["nat_zero_vpc_id"]]},
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [NAME]},
        ]
    )["SecurityGroups"]
    by_az = {tags_of(g)["nat-zero:az"]: g for g in groups}
    assert set(by_az) == set(zones)
    for az, group in by_az.items():
        # Every AZ's CIDR: a NAT may carry another AZ's traffic (failover).
        ingress = sorted((p["IpProtocol"], r["CidrIp"]) for p in group["IpPermissions"] for r in p.get("IpRanges", []))
        assert ingress == sorted(("-1", zone["cidr"]) for zone in zones.values()), f"{az} ingress {ingress}"
        egress = [(p["IpProtocol"], [r["CidrIp"] for r in p.get("IpRanges", [])]) for p in group["IpPermissionsEgress"]]
        assert egress == [("-1", ["0.0.0.0/0"])]
        assert tags_of(group)["team"] == "platform"


def test_each_az_has_a_public_and_a_private_eni_with_source_dest_check_off(aws, variables, zones, reconciler_zones):
    enis = {e["NetworkInterfaceId"]: e for e in _enis(aws, variables["nat_zero_vpc_id"])}
    assert len(enis) == 2 * len(zones)
    for az, zone in reconciler_zones.items():
        public, private = enis[zone["public_eni_id"]], enis[zone["private_eni_id"]]
        assert public["SubnetId"] == zones[az]["public_subnet"]
        assert private["SubnetId"] == zones[az]["private_subnet"]
        for eni in (public, private):
            assert eni["SourceDestCheck"] is False
            assert eni["AvailabilityZone"] == az
            assert tags_of(eni)[DEPLOYMENT_TAG] == NAME
        groups = {g["GroupId"] for eni in (public, private) for g in eni["Groups"]}
        assert len(groups) == 1


def test_each_private_route_table_sends_the_default_route_to_the_private_eni(aws, zones, reconciler_zones):
    for az, zone in reconciler_zones.items():
        table = aws("ec2").describe_route_tables(RouteTableIds=[zones[az]["route_table"]])["RouteTables"][0]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert len(default) == 1
        assert default[0].get("NetworkInterfaceId") == zone["private_eni_id"]


def test_each_launch_template_is_hardened_and_boots_the_nat_bootstrap(aws, zones, reconciler_zones, function):
    config_version = function["Environment"]["Variables"]["NAT_ZERO_CONFIG_VERSION"]
    profile = aws("iam").get_instance_profile(InstanceProfileName=NAMED["instance_role"])["InstanceProfile"]
    for _az, zone in reconciler_zones.items():
        version = _launch_template_data(aws, zone["launch_template_id"])
        data = version["LaunchTemplateData"]
        assert data["InstanceType"] == "t4g.nano"
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        image = aws("ec2").describe_images(ImageIds=[data["ImageId"]])["Images"][0]
        [mapping] = data["BlockDeviceMappings"]
        [snapshot] = [m["Ebs"] for m in image["BlockDeviceMappings"] if m["DeviceName"] == image["RootDeviceName"]]
        # The image's own root device, never smaller than its snapshot; the AWS
        # managed key, not the account's default one.
        assert mapping["DeviceName"] == image["RootDeviceName"]
        root = mapping["Ebs"]
        assert (root["Encrypted"], root["KmsKeyId"]) == (True, "alias/aws/ebs")
        assert (root["VolumeType"], root["Iops"], root["Throughput"]) == ("gp3", 3000, 125)
        assert root["VolumeSize"] == max(10, snapshot["VolumeSize"])
        assert data["IamInstanceProfile"]["Arn"] == profile["Arn"]
        assert image["Architecture"] == "arm64"
        user_data = base64.b64decode(data["UserData"]).decode()
        assert user_data.startswith("#!/usr/bin/env bash\n")
        all_cidrs = ",".join(z["cidr"] for z in zones.values())
        assert f"NAT_PRIVATE_CIDRS={all_cidrs}\n" in user_data
        installed = user_data.split("<<'NAT_ZERO_BOOTSTRAP_EOF'\n", 1)[1].split("NAT_ZERO_BOOTSTRAP_EOF\n", 1)[0]
        assert installed == without_comment_lines(BOOTSTRAP.read_text())
        instance_tags = {
            t["Key"]: t["Value"]
            for spec in data["TagSpecifications"]
            if spec["ResourceType"] == "instance"
            for t in spec["Tags"]
        }
        assert instance_tags[NAT_TAG[0]] == NAT_TAG[1]
        assert instance_tags["nat-zero:config-version"] == config_version
        assert "NetworkInterfaces" not in data or not data["NetworkInterfaces"]
        assert "KeyName" not in data  # no SSH key, ever


def role_account(aws):
    return aws("sts").get_caller_identity()["Account"]


def test_function_runs_the_reconciler_with_its_environment(function, reconciler_zones, variables, aws):
    assert function["Handler"] == "nat_zero.handler.handler"
    assert function["Runtime"] == "python3.12"
    assert function["MemorySize"] == 128
    assert function["Timeout"] == 60
    environment = function["Environment"]["Variables"]
    assert environment["NAT_ZERO_NAME"] == NAME
    assert environment["NAT_ZERO_VPC_ID"] == variables["nat_zero_vpc_id"]
    assert environment["NAT_ZERO_REGION"] == "us-east-1"
    assert environment["NAT_ZERO_NAT_TAG_KEY"] == NAT_TAG[0]
    assert environment["NAT_ZERO_IGNORE_TAG_KEY"] == "nat-zero:ignore"
    assert environment["NAT_ZERO_ACCOUNT_ID"] == role_account(aws)
    # RunInstances tags replace the template's: the reconciler sends the user's too.
    assert json.loads(environment["NAT_ZERO_TAGS"]) == {"team": "platform"}
    assert set(reconciler_zones) == set(variables["nat_zero_availability_zones"])
    role = aws("iam").get_role(RoleName=NAMED["lambda_role"])["Role"]
    assert function["Role"] == role["Arn"]


def test_function_is_the_single_writer_with_bounded_retries(function, aws):
    client = aws("lambda")
    concurrency = client.get_function_concurrency(FunctionName=NAMED["function"])
    assert concurrency["ReservedConcurrentExecutions"] == 1
    invoke_config = client.get_function_event_invoke_config(FunctionName=NAMED["function"])
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["MaximumEventAgeInSeconds"] == 3600


def test_log_group_keeps_14_days(aws, first_deploy):
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=NAMED["log_group"])["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(NAMED["log_group"], 14)]


def test_state_changes_go_to_the_region_s_dispatcher_and_the_sweep_to_the_function(aws, function):
    events, function_arn = aws("events"), function["FunctionArn"]
    # No rule of the deployment's own for EC2 events: the region's dispatcher
    # hands them to the reconciler of their VPC (tests/integration/test_dispatcher.py).
    assert [r["Name"] for r in events.list_rules(NamePrefix=NAMED["state_rule"])["Rules"]] == []
    dispatch_rule = events.describe_rule(Name="nat-zero-dispatch-ec2-state")
    assert json.loads(dispatch_rule["EventPattern"]) == STATE_CHANGE_PATTERN
    assert dispatch_rule["State"] == "ENABLED"
    dispatcher_arn = aws("lambda").get_function_configuration(FunctionName="nat-zero-dispatch")["FunctionArn"]
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule="nat-zero-dispatch-ec2-state")["Targets"]] == [
        dispatcher_arn
    ]
    sweep_rule = events.describe_rule(Name=NAMED["sweep_rule"])
    assert sweep_rule["ScheduleExpression"] == "rate(5 minutes)"
    assert sweep_rule["State"] == "ENABLED"
    sweep_targets = events.list_targets_by_rule(Rule=NAMED["sweep_rule"])["Targets"]
    assert [t["Arn"] for t in sweep_targets] == [function_arn]
    assert json.loads(sweep_targets[0]["Input"]) == {"action": "reconcile"}

    health_rule = events.describe_rule(Name=NAMED["health_rule"])
    policy = json.loads(aws("lambda").get_policy(FunctionName=NAMED["function"])["Policy"])
    sources = sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"])
    assert sources == sorted([sweep_rule["Arn"], health_rule["Arn"]])
    for statement in policy["Statement"]:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "lambda:InvokeFunction"


def test_health_rule_waits_disabled_for_the_reconciler_and_no_spot_rule_without_spot(aws, function):
    events = aws("events")
    health_rule = events.describe_rule(Name=NAMED["health_rule"])
    assert health_rule["ScheduleExpression"] == "rate(1 minute)"
    # The reconciler enables it while a NAT runs: an idle deployment pays nothing.
    assert health_rule["State"] == "DISABLED"
    [target] = events.list_targets_by_rule(Rule=NAMED["health_rule"])["Targets"]
    assert target["Arn"] == function["FunctionArn"] and json.loads(target["Input"]) == {"action": "health"}
    assert NAMED["spot_warning_rule"] not in [r["Name"] for r in events.list_rules(NamePrefix=NAME)["Rules"]]


def test_the_reconciler_gets_the_health_failover_and_eip_settings(function, reconciler_zones, zones):
    environment = function["Environment"]["Variables"]
    assert environment["NAT_ZERO_MODE"] == "scale_to_zero"
    assert environment["NAT_ZERO_FAILOVER"] == "none"
    assert environment["NAT_ZERO_EIP_MODE"] == "ephemeral"
    assert environment["NAT_ZERO_EIP_ALLOCATIONS"] == ""
    assert environment["NAT_ZERO_HEALTH_RULE"] == NAMED["health_rule"]
    for az, zone in reconciler_zones.items():
        assert zone["route_table_ids"] == [zones[az]["route_table"]]


def test_nat_instance_role_has_ssm_core_and_may_tag_only_itself(aws, first_deploy):
    iam = aws("iam")
    trust = _policy_document(iam.get_role(RoleName=NAMED["instance_role"])["Role"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = iam.list_attached_role_policies(RoleName=NAMED["instance_role"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert iam.list_role_policies(RoleName=NAMED["instance_role"])["PolicyNames"] == ["nat-zero-report-dataplane"]
    report = _policy_document(
        iam.get_role_policy(RoleName=NAMED["instance_role"], PolicyName="nat-zero-report-dataplane")["PolicyDocument"]
    )
    [statement] = report["Statement"]
    assert statement["Action"] == ["ec2:CreateTags"]
    # Its own instance only (the resource's ARN is the caller's), this one tag key only.
    assert statement["Condition"]["StringEquals"]["aws:ARN"] == "${ec2:SourceInstanceARN}"
    assert statement["Condition"]["StringEquals"]["ec2:ResourceTag/nat-zero:deployment"] == NAME
    assert statement["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["nat-zero:dataplane"]}
    profile = iam.get_instance_profile(InstanceProfileName=NAMED["instance_role"])["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [NAMED["instance_role"]]


def test_reconciler_role_may_change_only_this_deployments_nat_resources(aws, first_deploy, reconciler_zones):
    iam = aws("iam")
    trust = _policy_document(iam.get_role(RoleName=NAMED["lambda_role"])["Role"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert iam.list_attached_role_policies(RoleName=NAMED["lambda_role"])["AttachedPolicies"] == []
    [policy_name] = iam.list_role_policies(RoleName=NAMED["lambda_role"])["PolicyNames"]
    policy = _policy_document(
        iam.get_role_policy(RoleName=NAMED["lambda_role"], PolicyName=policy_name)["PolicyDocument"]
    )
    statements = {s["Sid"]: s for s in policy["Statement"]}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "ec2:DescribeAddresses",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:RunInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:ModifyNetworkInterfaceAttribute",
        "events:EnableRule",
        "events:DisableRule",
        "ec2:StartInstances",
        "ec2:StopInstances",
        "ec2:TerminateInstances",
        "ec2:AllocateAddress",
        "ec2:AssociateAddress",
        "ec2:DisassociateAddress",
        "ec2:ReleaseAddress",
        "iam:PassRole",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    # Only reads are unconditional on every resource.
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert all(action.startswith("ec2:Describe") for action in statement["Action"]), statement
    launch = statements["LaunchTaggedNatInstances"]["Condition"]
    assert launch["StringEquals"] == {
        f"aws:RequestTag/{NAT_TAG[0]}": NAT_TAG[1],
        "aws:RequestTag/nat-zero:deployment": NAME,
    }
    templates = [r for r in statements["LaunchFromThisDeploymentsTemplates"]["Resource"] if ":launch-template/" in r]
    assert sorted(t.rsplit("/", 1)[1] for t in templates) == sorted(
        z["launch_template_id"] for z in reconciler_zones.values()
    )
    assert sorted(launch["ArnEquals"]["ec2:LaunchTemplate"]) == sorted(templates)
    retag = statements["RetagThisDeploymentsNatsAndElasticIps"]["Condition"]
    assert retag["StringEquals"]["ec2:ResourceTag/nat-zero:deployment"] == NAME
    lifecycle = statements["StartStopTerminateThisDeploymentsNats"]["Condition"]["StringEquals"]
    assert lifecycle["ec2:ResourceTag/nat-zero:deployment"] == NAME
    assert statements["TagOnlyWhileCreating"]["Condition"]["StringEquals"]["ec2:CreateAction"] == [
        "RunInstances",
        "AllocateAddress",
    ]
    assert statements["AllocateTaggedElasticIps"]["Condition"]["StringEquals"] == {
        "aws:RequestTag/nat-zero:deployment": NAME
    }
    assert statements["MoveThisDeploymentsElasticIps"]["Condition"]["StringEquals"] == {
        "ec2:ResourceTag/nat-zero:deployment": NAME
    }
    instance_role = iam.get_role(RoleName=NAMED["instance_role"])["Role"]["Arn"]
    assert statements["PassTheNatInstanceRole"]["Resource"] == [instance_role]
    assert all(NAMED["log_group"] in r for r in statements["WriteItsLogs"]["Resource"])


# -- re-runs -----------------------------------------------------------------------


def test_second_run_changes_nothing(first_deploy, variables, run_playbook):
    run = run_playbook("site.yml", variables).assert_ok()
    TIMINGS["second deploy (no-op)"] = run.seconds
    assert run.recap["changed"] == 0, run.tail()


def test_check_mode_on_a_fresh_vpc_changes_nothing(make_vpc, run_playbook, aws):
    fresh = {**make_vpc("checkmode", second_octet=31), "nat_zero_name": "checkmode"}
    run = run_playbook("site.yml", fresh, check=True).assert_ok()
    assert run.recap["changed"] > 0
    assert leftovers(deployment_resources(aws, "checkmode", fresh["nat_zero_vpc_id"])) == {}


# -- the deployed reconciler, driven in-process -------------------------------------


def _instances(aws, vpc_id, *, nat: bool, states=("pending", "running", "stopping", "stopped")):
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "instance-state-name", "Values": list(states)}]
    reservations = aws("ec2").describe_instances(Filters=filters)["Reservations"]
    found = [i for r in reservations for i in r["Instances"]]
    return [i for i in found if (tags_of(i).get(NAT_TAG[0]) == NAT_TAG[1]) == nat]


def _deployment_eips(aws):
    return aws("ec2").describe_addresses(Filters=[{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [NAME]}])["Addresses"]


def _start_workload(aws, zones, az, image_id):
    reservation = aws("ec2").run_instances(
        ImageId=image_id, InstanceType="t4g.nano", MinCount=1, MaxCount=1, SubnetId=zones[az]["private_subnet"]
    )
    return reservation["Instances"][0]["InstanceId"]


@pytest.fixture(scope="module")
def image_id(aws, reconciler_zones):
    zone = next(iter(reconciler_zones.values()))
    return _launch_template_data(aws, zone["launch_template_id"])["LaunchTemplateData"]["ImageId"]


def test_reconciler_starts_a_nat_for_a_workload_and_stops_it_after(
    aws, moto_endpoint, monkeypatch, variables, zones, reconciler_zones, image_id
):
    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    vpc_id, az = variables["nat_zero_vpc_id"], "us-east-1a"

    workload = _start_workload(aws, zones, az, image_id)
    summary = handler(state_change(workload, "running"), None)
    assert summary["zones"][0]["verdict"] == "create_nat", summary
    [nat] = _instances(aws, vpc_id, nat=True)
    assert nat["Placement"]["AvailabilityZone"] == az
    handler(state_change(nat["InstanceId"], "running"), None)

    [nat] = _instances(aws, vpc_id, nat=True)
    devices = {n["NetworkInterfaceId"]: n["Attachment"]["DeviceIndex"] for n in nat["NetworkInterfaces"]}
    assert devices == {reconciler_zones[az]["public_eni_id"]: 0, reconciler_zones[az]["private_eni_id"]: 1}
    [eip] = _deployment_eips(aws)
    assert eip["NetworkInterfaceId"] == reconciler_zones[az]["public_eni_id"]
    assert tags_of(eip)["nat-zero:az"] == az

    aws("ec2").stop_instances(InstanceIds=[workload])
    summary = handler(state_change(workload, "stopped"), None)
    assert summary["zones"][0]["verdict"] == "stop_nat", summary
    handler(state_change(nat["InstanceId"], "stopped"), None)

    [nat] = _instances(aws, vpc_id, nat=True)
    assert nat["State"]["Name"] == "stopped"
    assert _deployment_eips(aws) == []
    aws("ec2").terminate_instances(InstanceIds=[workload])


def test_sweep_converges_when_the_workloads_events_were_lost(
    aws, moto_endpoint, monkeypatch, variables, zones, image_id
):
    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    _start_workload(aws, zones, "us-east-1b", image_id)
    # No state-change event arrives (the rule was still propagating): the sweep repairs it.
    handler({"action": "reconcile"}, None)
    nats_b = [
        n
        for n in _instances(aws, variables["nat_zero_vpc_id"], nat=True)
        if n["Placement"]["AvailabilityZone"] == "us-east-1b"
    ]
    assert [n["State"]["Name"] for n in nats_b] in (["pending"], ["running"])
    assert [e for e in _deployment_eips(aws) if tags_of(e)["nat-zero:az"] == "us-east-1b"]


# -- an update --------------------------------------------------------------------


def test_new_tags_retag_the_running_nat_and_its_eip_in_place(
    aws, moto_endpoint, monkeypatch, variables, function, run_playbook
):
    vpc_id = variables["nat_zero_vpc_id"]
    [before] = [n for n in _instances(aws, vpc_id, nat=True) if n["Placement"]["AvailabilityZone"] == "us-east-1b"]
    run_playbook("site.yml", {**variables, "nat_zero_tags": {"team": "network", "cost-centre": "42"}}).assert_ok()
    updated = aws("lambda").get_function_configuration(FunctionName=NAMED["function"])["Environment"]["Variables"]
    assert updated["NAT_ZERO_CONFIG_VERSION"] == function["Environment"]["Variables"]["NAT_ZERO_CONFIG_VERSION"]

    # The sweep the role asked for, run in-process (moto does not run Lambda code).
    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    summary = handler({"action": "reconcile"}, None)

    assert {z["az"]: z["verdict"] for z in summary["zones"]}["us-east-1b"] == "retag", summary
    [after] = [n for n in _instances(aws, vpc_id, nat=True) if n["Placement"]["AvailabilityZone"] == "us-east-1b"]
    assert (after["InstanceId"], after["State"]["Name"]) == (before["InstanceId"], before["State"]["Name"])
    assert (tags_of(after)["team"], tags_of(after)["cost-centre"]) == ("network", "42")
    [eip] = [e for e in _deployment_eips(aws) if tags_of(e)["nat-zero:az"] == "us-east-1b"]
    assert (tags_of(eip)["team"], tags_of(eip)["cost-centre"]) == ("network", "42")


def test_new_instance_type_gives_a_new_template_version_and_the_nat_is_replaced(
    aws, moto_endpoint, monkeypatch, variables, function, reconciler_zones, run_playbook
):
    old_version = function["Environment"]["Variables"]["NAT_ZERO_CONFIG_VERSION"]
    template_id = reconciler_zones["us-east-1b"]["launch_template_id"]
    old_template = _launch_template_data(aws, template_id)
    run_playbook("site.yml", {**variables, "nat_zero_instance_type": "t4g.micro"}).assert_ok()

    new_template = _launch_template_data(aws, template_id)
    assert new_template["VersionNumber"] == old_template["VersionNumber"] + 1
    assert new_template["DefaultVersion"] is True
    assert new_template["LaunchTemplateData"]["InstanceType"] == "t4g.micro"
    updated = aws("lambda").get_function_configuration(FunctionName=NAMED["function"])
    new_version = updated["Environment"]["Variables"]["NAT_ZERO_CONFIG_VERSION"]
    assert new_version != old_version

    handler = deployed_handler(aws, NAMED["function"], moto_endpoint, monkeypatch)
    vpc_id = variables["nat_zero_vpc_id"]
    # The sweep terminates the outdated NAT, the next one launches its replacement.
    for _ in range(4):
        nats = [n for n in _instances(aws, vpc_id, nat=True) if n["Placement"]["AvailabilityZone"] == "us-east-1b"]
        if [tags_of(n)["nat-zero:config-version"] for n in nats] == [new_version]:
            break
        handler({"action": "reconcile"}, None)
    [nat] = [n for n in _instances(aws, vpc_id, nat=True) if n["Placement"]["AvailabilityZone"] == "us-east-1b"]
    assert tags_of(nat)["nat-zero:config-version"] == new_version
    assert nat["InstanceType"] == "t4g.micro"


# -- teardown ---------------------------------------------------------------------


def test_teardown_with_a_nat_running_leaves_nothing(aws, variables, run_playbook):
    running = [n for n in _instances(aws, variables["nat_zero_vpc_id"], nat=True) if n["State"]["Name"] == "running"]
    assert running, "the previous test leaves a NAT running"
    run = run_playbook("teardown.yml", variables).assert_ok()
    TIMINGS["teardown (NAT running)"] = run.seconds
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}


def test_teardown_of_a_deployment_already_gone_succeeds(variables, run_playbook, aws):
    run = run_playbook("teardown.yml", variables).assert_ok()
    assert run.recap["changed"] == 0
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}
