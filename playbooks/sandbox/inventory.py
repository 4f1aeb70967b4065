"""Everything a deployment owns in AWS, by resource type: what teardown must
leave empty. Used by the sandbox demo and the integration tests."""

from __future__ import annotations

from typing import Callable

DEPLOYMENT_TAG = "nat-zero:deployment"
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def tags_of(resource: dict) -> dict[str, str]:
    # ENIs answer with "TagSet", everything else with "Tags".
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or ()}


def resource_names(name: str) -> dict[str, str]:
    """The names DESIGN.md and the role give a deployment's resources."""
    function = f"{name}-nat-zero"
    return {
        "function": function,
        "lambda_role": f"{name}-nat-zero-lambda",
        "instance_role": f"{name}-nat-zero-instance",
        "log_group": f"/aws/lambda/{function}",
        "state_rule": f"{name}-nat-zero-ec2-state",
        "sweep_rule": f"{name}-nat-zero-sweep",
        "health_rule": f"{name}-nat-zero-health",
        "spot_warning_rule": f"{name}-nat-zero-spot-warning",
        "task_rule": f"{name}-nat-zero-ecs-task",
        "alarm_topic": f"{function}-alarms",
        # Name tag of the flow logs, their log group and delivery role.
        "flow_logs": f"{function}-flow-logs",
    }


def deployment_resources(client: Callable[[str], object], name: str, vpc_id: str) -> dict[str, list[str]]:
    """client(service) -> boto3 client. Every resource of deployment `name`."""
    ec2, named = client("ec2"), resource_names(name)
    by_tag = [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [name]}]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    found: dict[str, list[str]] = {}
    reservations = ec2.describe_instances(Filters=by_tag + [{"Name": "instance-state-name", "Values": LIVE_STATES}])
    found["instances"] = [i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]]
    found["elastic_ips"] = [a["AllocationId"] for a in ec2.describe_addresses(Filters=by_tag)["Addresses"]]
    found["enis"] = [
        e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=by_tag)["NetworkInterfaces"]
    ]
    found["security_groups"] = [
        g["GroupId"]
        for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
        if tags_of(g).get(DEPLOYMENT_TAG) == name or g["GroupName"].startswith(f"{name}-nat")
    ]
    found["launch_templates"] = [
        t["LaunchTemplateId"]
        for t in ec2.describe_launch_templates()["LaunchTemplates"]
        if tags_of(t).get(DEPLOYMENT_TAG) == name or t["LaunchTemplateName"].startswith(f"{name}-nat")
    ]
    found["routes_to_enis"] = [
        f"{table['RouteTableId']}:{route.get('DestinationCidrBlock')}"
        for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        for route in table["Routes"]
        if route.get("NetworkInterfaceId")
    ]
    iam = client("iam")
    found["iam_roles"] = [
        r["RoleName"]
        for r in iam.list_roles()["Roles"]
        if r["RoleName"] in (named["lambda_role"], named["instance_role"], named["flow_logs"])
    ]
    found["instance_profiles"] = [
        p["InstanceProfileName"]
        for p in iam.list_instance_profiles()["InstanceProfiles"]
        if p["InstanceProfileName"].startswith(f"{name}-nat-zero")
    ]
    found["functions"] = [
        f["FunctionName"]
        for f in client("lambda").list_functions()["Functions"]
        if f["FunctionName"] == named["function"]
    ]
    found["log_groups"] = [
        g["logGroupName"]
        for g in client("logs").describe_log_groups(logGroupNamePrefix=named["log_group"])["logGroups"]
    ]
    found["event_rules"] = [r["Name"] for r in client("events").list_rules(NamePrefix=f"{name}-nat-zero")["Rules"]]
    found.update(observability_resources(client, named))
    return found


def observability_resources(client: Callable[[str], object], named: dict[str, str]) -> dict[str, list[str]]:
    """The dashboard, alarms, alarm topic and flow logs (with their log group) of a deployment."""
    cloudwatch, prefix = client("cloudwatch"), f"{named['function']}-"
    by_name = [{"Name": "tag:Name", "Values": [named["flow_logs"]]}]
    return {
        "dashboards": [
            d["DashboardName"] for d in cloudwatch.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]
        ],
        "alarms": [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]],
        "alarm_topics": [
            t["TopicArn"]
            for t in client("sns").list_topics()["Topics"]
            if t["TopicArn"].split(":")[-1] == named["alarm_topic"]
        ],
        "flow_logs": [f["FlowLogId"] for f in client("ec2").describe_flow_logs(Filters=by_name)["FlowLogs"]],
        "flow_log_groups": [
            g["logGroupName"]
            for g in client("logs").describe_log_groups(logGroupNamePrefix=named["flow_logs"])["logGroups"]
        ],
    }


def leftovers(found: dict[str, list[str]]) -> dict[str, list[str]]:
    """The non-empty entries: {} when the deployment is gone."""
    return {kind: ids for kind, ids in found.items() if ids}


def zone_status(ec2, name: str, availability_zones: list[str]) -> list[dict]:
    """Per AZ of deployment `name`: its NAT instances (ID and state) and its Elastic IPs."""
    rows = []
    for az in availability_zones:
        filters = [
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [name]},
            {"Name": "availability-zone", "Values": [az]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
        nats = [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
        addresses = ec2.describe_addresses(
            Filters=[
                {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [name]},
                {"Name": "tag:nat-zero:az", "Values": [az]},
            ]
        )["Addresses"]
        rows.append(
            {
                "az": az,
                "nat": ",".join(n["State"]["Name"] for n in nats) or "none",
                "nat_ids": [n["InstanceId"] for n in nats],
                "nat_count": len(nats),
                "eip": ",".join(a["PublicIp"] for a in addresses),
                "eip_count": len(addresses),
                # No EIP is no associated EIP.
                "eip_associated": bool(addresses) and all(a.get("AssociationId") for a in addresses),
            }
        )
    return rows
