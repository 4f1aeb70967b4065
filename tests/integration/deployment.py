"""What a deployment owns in AWS, read back by type, to assert on it."""

from __future__ import annotations

from typing import Dict, List

DEPLOYMENT_TAG = "nat-zero:deployment"
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


def tags_of(resource: dict) -> Dict[str, str]:
    tags = resource.get("Tags") or resource.get("TagSet") or ()
    return {t["Key"]: t["Value"] for t in tags}


def names(name: str) -> Dict[str, str]:
    """The names DESIGN.md and the role give a deployment's resources."""
    function = f"{name}-nat-zero"
    return {
        "function": function,
        "lambda_role": f"{name}-nat-zero-lambda",
        "instance_role": f"{name}-nat-zero-instance",
        "log_group": f"/aws/lambda/{function}",
        "state_rule": f"{name}-nat-zero-ec2-state",
        "sweep_rule": f"{name}-nat-zero-sweep",
    }


def _tag_filter(name: str) -> List[dict]:
    return [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [name]}]


def resources_of(aws, name: str, vpc_id: str) -> Dict[str, list]:
    """Every resource of deployment `name`, by type (empty lists when it is gone)."""
    ec2, named = aws("ec2"), names(name)
    found: Dict[str, list] = {}
    reservations = ec2.describe_instances(
        Filters=_tag_filter(name) + [{"Name": "instance-state-name", "Values": LIVE_STATES}]
    )["Reservations"]
    found["instances"] = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    found["elastic_ips"] = [a["AllocationId"] for a in ec2.describe_addresses(Filters=_tag_filter(name))["Addresses"]]
    found["enis"] = [
        e["NetworkInterfaceId"]
        for e in ec2.describe_network_interfaces(Filters=_tag_filter(name))["NetworkInterfaces"]
    ]
    found["security_groups"] = [
        g["GroupId"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        if tags_of(g).get(DEPLOYMENT_TAG) == name or g["GroupName"].startswith(f"{name}-")
    ]
    found["launch_templates"] = [
        t["LaunchTemplateId"]
        for t in ec2.describe_launch_templates()["LaunchTemplates"]
        if tags_of(t).get(DEPLOYMENT_TAG) == name or t["LaunchTemplateName"].startswith(f"{name}-")
    ]
    found["routes_to_enis"] = [
        f"{table['RouteTableId']}:{route.get('DestinationCidrBlock')}"
        for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
        for route in table["Routes"]
        if route.get("NetworkInterfaceId")
    ]
    iam = aws("iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    found["iam_roles"] = [r for r in roles if r in (named["lambda_role"], named["instance_role"])]
    profiles = [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    found["instance_profiles"] = [p for p in profiles if p.startswith(f"{name}-nat-zero")]
    functions = [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]
    found["functions"] = [f for f in functions if f == named["function"]]
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=named["log_group"])["logGroups"]
    found["log_groups"] = [g["logGroupName"] for g in groups]
    rules = aws("events").list_rules(NamePrefix=f"{name}-nat-zero")["Rules"]
    found["event_rules"] = [r["Name"] for r in rules]
    return found


def nothing_left(found: Dict[str, list]) -> Dict[str, list]:
    """The non-empty entries of resources_of(): {} when the deployment is gone."""
    return {kind: ids for kind, ids in found.items() if ids}
