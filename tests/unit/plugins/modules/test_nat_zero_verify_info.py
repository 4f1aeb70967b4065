from __future__ import annotations

import io
import ipaddress
import zipfile
from pathlib import Path

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import nat_zero_verify_info
from ansible_collections.natzero.aws.plugins.modules.nat_zero_verify_info import outside_cidrs

PRIVATE = ["10.0.1.0/24", "10.0.2.0/24"]
LAMBDA_SRC = Path(__file__).resolve().parents[4] / "lambda_src"


def args(vpc, **extra):
    base = dict(
        name="prod",
        vpc_id=vpc["vpc_id"],
        availability_zones=["us-east-1a", "us-east-1b"],
        route_table_ids=[vpc["route_table_id"], vpc["route_table_id"]],
        private_cidrs=PRIVATE,
        function_name="prod-nat-zero",
        source_path=str(LAMBDA_SRC),
        source_include=["nat_zero"],
        rule_names=["prod-nat-zero-ec2-state", "prod-nat-zero-sweep"],
        log_group_name="/aws/lambda/prod-nat-zero",
        log_retention_days=14,
    )
    return dict(base, **extra)


@pytest.mark.parametrize(
    ("permission", "outside"),
    [
        ({"IpRanges": [{"CidrIp": "10.0.1.0/24"}]}, []),
        ({"IpRanges": [{"CidrIp": "10.0.1.128/25"}]}, []),
        ({"IpRanges": [{"CidrIp": "10.0.0.0/16"}]}, ["10.0.0.0/16"]),
        ({"IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.2.0/24"}]}, ["0.0.0.0/0"]),
        ({"Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, ["::/0"]),
        ({"PrefixListIds": [{"PrefixListId": "pl-12345678"}]}, ["pl-12345678"]),
        ({"UserIdGroupPairs": [{"GroupId": "sg-12345678"}]}, ["sg-12345678"]),
    ],
)
def test_ingress_from_anywhere_but_the_private_cidrs_is_outside(permission, outside):
    assert outside_cidrs(permission, [ipaddress.ip_network(c) for c in PRIVATE]) == outside


def test_lists_of_another_length_than_the_zones_fail_before_any_call(fails, vpc):
    result = fails(nat_zero_verify_info, args(vpc, private_cidrs=PRIVATE[:1]))
    assert "private_cidrs has 1 entries but availability_zones has 2" in result["msg"]


def test_nothing_deployed_is_a_list_of_findings_not_a_crash(run_module, vpc):
    result = run_module(nat_zero_verify_info, args(vpc))

    assert result["changed"] is False
    found = {(f["scope"], f["finding"]) for f in result["findings"]}
    for az in ("us-east-1a", "us-east-1b"):
        assert (az, "the public ENI is missing") in found
        assert (az, "the private ENI is missing") in found
        assert (az, "the launch template is missing") in found
        assert (az, "the default route 0.0.0.0/0 is missing") in found
    assert ("deployment", "the reconciler function does not exist") in found
    assert ("deployment", "the rule does not exist") in found
    assert ("deployment", "the log group does not exist") in found
    assert [r["scope"] for r in result["rows"]] == ["us-east-1a", "us-east-1b", "deployment"]
    assert all(r["status"].endswith("findings") for r in result["rows"])


def eni(ec2, vpc, subnet_id, az, interface, source_dest_check=False):
    tags = {
        "nat-zero:deployment": "prod",
        "nat-zero:vpc": vpc["vpc_id"],
        "nat-zero:az": az,
        "nat-zero:interface": interface,
    }
    eni_id = ec2.create_network_interface(
        SubnetId=subnet_id,
        TagSpecifications=[
            {"ResourceType": "network-interface", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    )["NetworkInterface"]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, SourceDestCheck={"Value": source_dest_check})
    return eni_id


def test_a_route_to_another_zones_nat_is_a_failover_not_a_finding(run_module, ec2, vpc):
    eni(ec2, vpc, vpc["public_subnet_id"], "us-east-1a", "public")
    eni(ec2, vpc, vpc["private_subnet_id"], "us-east-1a", "private")
    other_private = eni(ec2, vpc, vpc["other_az_subnet_id"], "us-east-1b", "private")
    ec2.create_route(
        RouteTableId=vpc["route_table_id"], DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=other_private
    )

    result = run_module(
        nat_zero_verify_info,
        args(
            vpc, availability_zones=["us-east-1a"], route_table_ids=[vpc["route_table_id"]], private_cidrs=PRIVATE[:1]
        ),
    )

    route_findings = [f for f in result["findings"] if f["resource_id"] == vpc["route_table_id"]]
    assert route_findings == []
    assert "%s (failover)" % other_private in result["rows"][0]["summary"]


def test_source_dest_check_on_names_the_eni_and_the_command_that_fixes_it(run_module, ec2, vpc):
    private = eni(ec2, vpc, vpc["private_subnet_id"], "us-east-1a", "private", source_dest_check=True)

    result = run_module(
        nat_zero_verify_info,
        args(
            vpc, availability_zones=["us-east-1a"], route_table_ids=[vpc["route_table_id"]], private_cidrs=PRIVATE[:1]
        ),
    )

    (finding,) = [f for f in result["findings"] if f["resource_id"] == private]
    assert finding["finding"].startswith("source/dest check is on")
    assert finding["fix"] == (
        "aws ec2 modify-network-interface-attribute --network-interface-id %s --no-source-dest-check" % private
    )


def test_it_supports_check_mode_and_reports_the_same(run_module, vpc):
    normal = run_module(nat_zero_verify_info, args(vpc))
    checked = run_module(nat_zero_verify_info, args(vpc), check_mode=True)
    assert checked["findings"] == normal["findings"]


def test_a_deleted_route_table_is_a_finding_not_a_crash(run_module, ec2, vpc):
    # EC2 answers DescribeRouteTables naming a deleted table with InvalidRouteTableID.NotFound.
    ec2.delete_route_table(RouteTableId=vpc["route_table_id"])

    result = run_module(
        nat_zero_verify_info,
        args(
            vpc, availability_zones=["us-east-1a"], route_table_ids=[vpc["route_table_id"]], private_cidrs=PRIVATE[:1]
        ),
    )

    assert {"resource_id": vpc["route_table_id"], "finding": "the private route table does not exist"}.items() <= [
        f for f in result["findings"] if f["resource_id"] == vpc["route_table_id"]
    ][0].items()


def test_a_missing_dispatcher_is_a_finding_that_says_events_do_not_arrive(run_module, vpc):
    result = run_module(
        nat_zero_verify_info,
        args(vpc, dispatcher_function_name="nat-zero-dispatch", dispatcher_rule_name="nat-zero-dispatch-ec2-state"),
    )

    found = {(f["scope"], f["resource_id"], f["finding"]) for f in result["findings"]}
    assert (
        "deployment",
        "nat-zero-dispatch",
        "the region's dispatcher does not exist: no EC2 instance event reaches the reconciler",
    ) in found
    assert ("deployment", "nat-zero-dispatch-ec2-state", "the rule does not exist") in found


def test_a_dispatcher_rule_that_targets_something_else_is_a_finding(run_module, vpc, lam, function_arn):
    import boto3

    configuration = lam.get_function_configuration(FunctionName="prod-nat-zero")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    pass\n")
    dispatcher = lam.create_function(
        FunctionName="nat-zero-dispatch",
        Runtime="python3.12",
        Role=configuration["Role"],
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="nat-zero-dispatch-ec2-state", EventPattern='{"source": ["aws.ec2"]}')
    events.put_targets(Rule="nat-zero-dispatch-ec2-state", Targets=[{"Id": "x", "Arn": function_arn}])

    result = run_module(
        nat_zero_verify_info,
        args(vpc, dispatcher_function_name="nat-zero-dispatch", dispatcher_rule_name="nat-zero-dispatch-ec2-state"),
    )

    found = {(f["resource_id"], f["finding"]) for f in result["findings"]}
    assert ("nat-zero-dispatch-ec2-state", f"the rule does not target the dispatcher {dispatcher}") in found
    assert not any(f["resource_id"] == "nat-zero-dispatch" for f in result["findings"])


TOPIC = "prod-nat-zero-alarms"


def alarm(name, actions, enabled=True):
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=actions,
        ActionsEnabled=enabled,
    )


def test_alarms_asked_for_are_checked_to_exist_act_and_notify_their_topic(run_module, vpc):
    topic = "arn:aws:sns:us-east-1:123456789012:%s" % TOPIC
    alarm("prod-nat-zero-errors", [topic])
    alarm("prod-nat-zero-sweep-not-running", [topic], enabled=False)
    alarm("prod-nat-zero-reconcile-errors", ["arn:aws:sns:us-east-1:123456789012:elsewhere"])
    names = ["prod-nat-zero-errors", "prod-nat-zero-sweep-not-running", "prod-nat-zero-reconcile-errors", "gone"]

    result = run_module(nat_zero_verify_info, args(vpc, alarm_names=names, alarm_topic=TOPIC))

    alarms = {f["resource_id"]: f for f in result["findings"] if f["resource_id"] in names}
    assert "prod-nat-zero-errors" not in alarms
    assert alarms["prod-nat-zero-sweep-not-running"]["fix"] == (
        "aws cloudwatch enable-alarm-actions --alarm-names prod-nat-zero-sweep-not-running"
    )
    assert alarms["prod-nat-zero-reconcile-errors"]["finding"].endswith("not %s" % topic)
    assert alarms["gone"]["finding"] == "the alarm does not exist"


def test_a_missing_dashboard_and_an_eni_without_its_flow_log_are_findings(run_module, ec2, vpc):
    logged = eni(ec2, vpc, vpc["public_subnet_id"], "us-east-1a", "public")
    unlogged = eni(ec2, vpc, vpc["private_subnet_id"], "us-east-1a", "private")
    ec2.create_flow_logs(
        ResourceIds=[logged],
        ResourceType="NetworkInterface",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName="prod-nat-zero-flow-logs",
        DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/prod-nat-zero-flow-logs",
        TagSpecifications=[
            {"ResourceType": "vpc-flow-log", "Tags": [{"Key": "Name", "Value": "prod-nat-zero-flow-logs"}]}
        ],
    )

    result = run_module(
        nat_zero_verify_info,
        args(vpc, dashboard_name="prod-nat-zero-us-east-1", flow_logs_name="prod-nat-zero-flow-logs"),
    )

    found = {(f["resource_id"], f["finding"]) for f in result["findings"]}
    assert ("prod-nat-zero-us-east-1", "the dashboard does not exist") in found
    assert (unlogged, "the ENI has no flow log prod-nat-zero-flow-logs") in found
    # Moto's delivery role does not exist, so its flow log reports FAILED as AWS would.
    assert any(r == logged and f.startswith("its flow log fl-") and "cannot deliver" in f for r, f in found)
