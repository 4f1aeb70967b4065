"""The reconciler's IAM policy as the role renders it, and IAM's verdict on
every EC2 call the reconciler makes.

render_policy() renders roles/nat_zero/templates/lambda_policy.json.j2 with
Ansible's own templar, from the role's defaults and vars plus the facts the
role gathers while it deploys (account and partition, zones, AMI, instance
role), as the role's template lookup does.

Moto's IAM enforcement judges an EC2 request by its action alone: it passes
"*" as the resource and no condition keys, so a statement scoped to ARNs
never matches and a condition always holds. What scopes this policy to one
deployment (its Resource and Condition elements) would go untested, so:

- as_moto_evaluates() is the policy with every Resource widened to "*", the
  only form moto can grant: under moto's enforcement it proves the action
  lists (the reconciler needs no other action, every other one is denied);
- Ec2Authorizer does for each call what IAM does: it lists the resources the
  call acts on (ARNs, per the EC2 service authorization reference) with their
  condition keys (tags read from moto, request tags, ec2:Vpc,
  ec2:CreateAction, iam:PassedToService, and on RunInstances
  ec2:LaunchTemplate and ec2:IsLaunchTemplateResource) and evaluates each against the exact
  policy; a call with one resource not allowed fails UnauthorizedOperation,
  as EC2 answers.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ec2_fidelity import client_error

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nat_zero"
TEMPLATE = ROLE / "templates" / "lambda_policy.json.j2"
DEPLOYMENT_TAG = "nat-zero:deployment"


@dataclass(frozen=True)
class Facts:
    """What the role knows when it renders the policy."""

    name: str
    vpc_id: str
    region: str
    account_id: str
    zones: dict  # AZ -> {"launch_template_id", "public_eni_id", "private_eni_id", "route_table_ids"}
    image_id: str
    instance_role_arn: str
    partition: str = "aws"
    overrides: dict = field(default_factory=dict)  # any role input, e.g. nat_zero_market_type


def render_role_template(role: Path, template: str, variables: dict) -> dict:
    """A role's JSON template rendered as the role's template lookup does:
    its defaults and vars, then what the role knows at that point."""
    # Imported here: every module process of tests/security/deployer.py's runs
    # imports this file, and needs none of the templating.
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    from tests.support.role_vars import trusted

    loader = DataLoader()
    merged = {
        **trusted(loader.load_from_file(str(role / "defaults" / "main.yml"))),
        **trusted(loader.load_from_file(str(role / "vars" / "main.yml"))),
        **variables,
    }
    text = (role / "templates" / template).read_text()
    return json.loads(Templar(loader=loader, variables=merged).template(trust_as_template(text)))


def render_policy(facts: Facts) -> dict:
    variables = {
        "nat_zero_name": facts.name,
        "nat_zero_vpc_id": facts.vpc_id,
        "nat_zero_region": facts.region,
        # validate.yml sets it from the region AWS answered from.
        "nat_zero__region": facts.region,
        "nat_zero_availability_zones": sorted(facts.zones),
        "nat_zero__partition": facts.partition,
        "nat_zero__account_id": facts.account_id,
        "nat_zero__zones": facts.zones,
        "nat_zero__ami": {"image_id": facts.image_id},
        "nat_zero__instance_role": {"arn": facts.instance_role_arn},
        **facts.overrides,
    }
    return render_role_template(ROLE, TEMPLATE.name, variables)


def as_moto_evaluates(policy: dict) -> dict:
    """The policy with every Resource "*": moto matches an EC2 request's
    resource as "*", so only this form can grant anything under moto."""
    widened = copy.deepcopy(policy)
    for statement in widened["Statement"]:
        statement["Resource"] = "*"
    return widened


# The deployer's EC2 changes the authorizer knows (tests/security/deployer.py).
SECURITY_GROUP_OPERATIONS = (
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "DeleteSecurityGroup",
)
DEPLOYER_OPERATIONS = (
    "CreateSecurityGroup",
    "CreateNetworkInterface",
    "CreateLaunchTemplate",
    "CreateLaunchTemplateVersion",
    "ModifyLaunchTemplate",
    "DeleteLaunchTemplate",
    "DeleteNetworkInterface",
    "ModifyNetworkInterfaceAttribute",
    "DetachNetworkInterface",
    "CreateRoute",
    "ReplaceRoute",
    "DeleteRoute",
) + SECURITY_GROUP_OPERATIONS


# -- evaluation ---------------------------------------------------------------------


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, expected, actual) -> bool:
    if operator.startswith("ForAllValues:"):
        # Every value of a multivalued key must match (no value at all: it holds).
        single = operator.removeprefix("ForAllValues:")
        return all(_condition_holds(single, expected, [value]) for value in actual or ())
    if operator.endswith("IfExists"):
        if actual is None:
            return True
        operator = operator.removesuffix("IfExists")
    if operator == "StringNotEquals":
        # A missing key matches no value, so IAM counts it as not equal.
        return actual is None or not any(a == e for a in actual for e in _as_list(expected))
    if actual is None:
        return False  # a missing key fails every other operator the policies use
    if operator in ("StringEquals", "ArnEquals"):
        return any(a == e for a in actual for e in _as_list(expected))
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(a, e) for a in actual for e in _as_list(expected))
    if operator == "StringNotLike":
        return not any(fnmatch.fnmatchcase(a, e) for a in actual for e in _as_list(expected))
    if operator == "Bool":
        return any(a.lower() == str(e).lower() for a in actual for e in _as_list(expected))
    raise NotImplementedError(f"condition operator {operator}: teach the authorizer before the policy uses it")


def allowing_statement(policy: dict, action: str, resource: str, context: dict) -> str | None:
    """The Sid of a statement that allows it, or None (an explicit Deny also gives None)."""
    allowed = None
    for statement in policy["Statement"]:
        actions = [a.lower() for a in _as_list(statement["Action"])]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if not all(
            _condition_holds(operator, expected, context.get(key))
            for operator, block in conditions.items()
            for key, expected in block.items()
        ):
            continue
        if statement["Effect"] == "Deny":
            return None
        allowed = allowed or statement.get("Sid", "?")
    return allowed


@dataclass
class Request:
    """One (action, resource) pair IAM authorizes for a call."""

    operation: str
    action: str
    resource: str
    context: dict
    sid: str | None = None


class Ec2Authorizer:
    """Installed on a client, authorizes each of its EC2 calls against `policy`."""

    def __init__(self, client, policy: dict, raw_ec2, region: str, account_id: str, partition: str = "aws"):
        self.policy = policy
        self.raw = raw_ec2
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self.seen: list[Request] = []
        if client is not None:  # None: only requests() is wanted (tests/security/deployer.py)
            client.meta.events.register("before-parameter-build.ec2.*", self._authorize)

    def _authorize(self, params, model, **_):
        requests = self.requests(model.name, params)
        for request in requests:
            request.sid = allowing_statement(self.policy, request.action, request.resource, request.context)
            self.seen.append(request)
        denied = [r for r in requests if r.sid is None]
        if denied:
            raise client_error(
                model.name,
                "UnauthorizedOperation",
                "You are not authorized to perform this operation: "
                + "; ".join(f"{r.action} on {r.resource}" for r in denied),
            )

    # -- ARNs and condition keys ---------------------------------------------------------

    def arn(self, resource_type: str, resource_id: str) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account_id}:{resource_type}/{resource_id}"

    def _arn_of(self, resource_id: str) -> str:
        kinds = {
            "i": "instance",
            "eipalloc": "elastic-ip",
            "eni": "network-interface",
            "vol": "volume",
            "sg": "security-group",
            "lt": "launch-template",
            "rtb": "route-table",
            "subnet": "subnet",
        }
        return self.arn(kinds.get(resource_id.split("-", 1)[0], "unknown"), resource_id)

    def vpc_arn(self, vpc_id: str) -> str:
        return self.arn("vpc", vpc_id)

    @staticmethod
    def _tags(resource: dict) -> dict:
        return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or ()}

    @staticmethod
    def resource_tags(tags: dict) -> dict:
        return {f"ec2:ResourceTag/{k}": [v] for k, v in tags.items()}

    @staticmethod
    def request_tags(tag_specifications, resource_type: str) -> dict:
        tags = {
            t["Key"]: t["Value"]
            for spec in tag_specifications or ()
            if spec.get("ResourceType") == resource_type
            for t in spec.get("Tags", ())
        }
        return {f"aws:RequestTag/{k}": [v] for k, v in tags.items()}

    def _instance(self, instance_id: str) -> dict:
        reservations = self.raw.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservations[0]["Instances"][0]

    def _eni(self, eni_id: str) -> dict:
        return self.raw.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]

    def _address(self, **filters) -> dict | None:
        name, value = next(iter(filters.items()))
        found = self.raw.describe_addresses(Filters=[{"Name": name, "Values": [value]}])["Addresses"]
        return found[0] if found else None

    def _eip_request(self, operation: str, address: dict | None, fallback_id: str) -> Request:
        tags = self._tags(address) if address else {}
        allocation = address["AllocationId"] if address else fallback_id
        return Request(operation, f"ec2:{operation}", self.arn("elastic-ip", allocation), self.resource_tags(tags))

    def _eni_request(self, operation: str, eni_id: str) -> list[Request]:
        eni = self._eni(eni_id)
        vpc = {"ec2:Vpc": [self.vpc_arn(eni["VpcId"])]}
        action = f"ec2:{operation}"
        requests = [
            Request(
                operation, action, self.arn("network-interface", eni_id), {**self.resource_tags(self._tags(eni)), **vpc}
            )
        ]
        holder = (eni.get("Attachment") or {}).get("InstanceId")
        if operation in ("AssociateAddress", "DisassociateAddress") and holder:
            # The Service Authorization Reference lists the instance among
            # these actions' resources: an ENI attached to one is authorized
            # through it too (the reading that grants less).
            instance_tags = self.resource_tags(self._tags(self._instance(holder)))
            requests.append(Request(operation, action, self.arn("instance", holder), {**instance_tags, **vpc}))
        if operation == "RunInstances":
            requests.append(Request(operation, action, self.arn("subnet", eni["SubnetId"]), vpc))
            requests += [
                Request(operation, action, self.arn("security-group", group["GroupId"]), vpc)
                for group in eni.get("Groups", ())
            ]
        return requests

    def requests(self, operation: str, params: dict) -> list[Request]:
        action = f"ec2:{operation}"
        if operation.startswith("Describe"):
            return [Request(operation, action, "*", {})]
        if operation in ("StartInstances", "StopInstances", "TerminateInstances"):
            return [
                Request(
                    operation, action, self.arn("instance", iid), self.resource_tags(self._tags(self._instance(iid)))
                )
                for iid in params.get("InstanceIds", ())
            ]
        if operation == "AllocateAddress":
            tags = self.request_tags(params.get("TagSpecifications"), "elastic-ip")
            return [Request(operation, action, self.arn("elastic-ip", "*"), tags)] + self._create_tags(
                operation, "elastic-ip", tags
            )
        if operation == "AssociateAddress":
            address = self._address(**{"allocation-id": params["AllocationId"]})
            requests = [self._eip_request(operation, address, params["AllocationId"])]
            if params.get("NetworkInterfaceId"):
                requests += self._eni_request(operation, params["NetworkInterfaceId"])
            return requests
        if operation == "DisassociateAddress":
            address = self._address(**{"association-id": params["AssociationId"]})
            requests = [self._eip_request(operation, address, "*")]
            if address and address.get("NetworkInterfaceId"):
                requests += self._eni_request(operation, address["NetworkInterfaceId"])
            return requests
        if operation == "ReleaseAddress":
            address = self._address(**{"allocation-id": params["AllocationId"]})
            return [self._eip_request(operation, address, params["AllocationId"])]
        if operation == "RunInstances":
            return self._run_instances(params)
        if operation in ("CreateTags", "DeleteTags"):
            # Tagging what exists already: no ec2:CreateAction in the context.
            tags = {f"aws:RequestTag/{t['Key']}": [t.get("Value", "")] for t in params.get("Tags", ())}
            tags["aws:TagKeys"] = [t["Key"] for t in params.get("Tags", ())]
            return [
                Request(operation, action, self._arn_of(rid), {**tags, **self._existing(rid)})
                for rid in params.get("Resources", ())
            ]
        if operation in DEPLOYER_OPERATIONS:
            return self._deployer_requests(operation, params)
        raise NotImplementedError(f"{operation}: teach the authorizer its resources and condition keys")

    # -- the deployer's EC2 calls (tools/deployer_policy.py) -----------------------------------

    def _existing(self, resource_id: str) -> dict:
        """ec2:ResourceTag/* and ec2:Vpc of an existing resource, as IAM sees them."""
        kind = resource_id.split("-", 1)[0]
        if kind == "sg":
            found = self.raw.describe_security_groups(GroupIds=[resource_id])["SecurityGroups"][0]
        elif kind == "eni":
            found = self._eni(resource_id)
        elif kind == "lt":
            found = self.raw.describe_launch_templates(LaunchTemplateIds=[resource_id])["LaunchTemplates"][0]
        elif kind == "rtb":
            found = self.raw.describe_route_tables(RouteTableIds=[resource_id])["RouteTables"][0]
        elif kind == "subnet":
            found = self.raw.describe_subnets(SubnetIds=[resource_id])["Subnets"][0]
        elif kind == "i":
            found = self._instance(resource_id)
        elif kind == "eipalloc":
            found = self._address(**{"allocation-id": resource_id}) or {}
        else:
            return {}
        context = self.resource_tags(self._tags(found))
        if found.get("VpcId"):
            context["ec2:Vpc"] = [self.vpc_arn(found["VpcId"])]
        return context

    def _on(self, operation: str, resource_type: str, resource_id: str, action: str | None = None) -> Request:
        return Request(
            operation, action or f"ec2:{operation}", self.arn(resource_type, resource_id), self._existing(resource_id)
        )

    def _creating(self, operation: str, resource_type: str, params: dict, vpc_id: str | None) -> list[Request]:
        """The new resource, with its request tags (and its VPC), and the CreateTags of those tags."""
        tags = self.request_tags(params.get("TagSpecifications"), resource_type)
        vpc = {"ec2:Vpc": [self.vpc_arn(vpc_id)]} if vpc_id else {}
        return [Request(operation, f"ec2:{operation}", self.arn(resource_type, "*"), {**tags, **vpc})] + (
            self._create_tags(operation, resource_type, tags)
        )

    def _deployer_requests(self, operation: str, params: dict) -> list[Request]:
        if operation == "CreateSecurityGroup":
            vpc_id = params["VpcId"]
            return self._creating(operation, "security-group", params, vpc_id) + [
                Request(operation, f"ec2:{operation}", self.vpc_arn(vpc_id), {})
            ]
        if operation == "CreateNetworkInterface":
            subnet = self._on(operation, "subnet", params["SubnetId"])
            vpc_id = subnet.context["ec2:Vpc"][0].rsplit("/", 1)[1]
            groups = [self._on(operation, "security-group", group) for group in params.get("Groups", ())]
            return self._creating(operation, "network-interface", params, vpc_id) + [subnet] + groups
        if operation == "CreateLaunchTemplate":
            return self._creating(operation, "launch-template", params, None)
        if operation in ("CreateLaunchTemplateVersion", "ModifyLaunchTemplate", "DeleteLaunchTemplate"):
            template_id = (
                params.get("LaunchTemplateId")
                or self.raw.describe_launch_templates(LaunchTemplateNames=[params["LaunchTemplateName"]])[
                    "LaunchTemplates"
                ][0]["LaunchTemplateId"]
            )
            return [self._on(operation, "launch-template", template_id)]
        if operation in SECURITY_GROUP_OPERATIONS:
            return [self._on(operation, "security-group", params["GroupId"])]
        if operation in ("DeleteNetworkInterface", "ModifyNetworkInterfaceAttribute"):
            groups = [self._on(operation, "security-group", group) for group in params.get("Groups", ())]
            return [self._on(operation, "network-interface", params["NetworkInterfaceId"])] + groups
        if operation == "DetachNetworkInterface":
            filters = [{"Name": "attachment.attachment-id", "Values": [params["AttachmentId"]]}]
            [eni] = self.raw.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
            instance = eni["Attachment"]["InstanceId"]
            return [
                self._on(operation, "network-interface", eni["NetworkInterfaceId"]),
                self._on(operation, "instance", instance),
            ]
        if operation in ("CreateRoute", "ReplaceRoute", "DeleteRoute"):
            return [self._on(operation, "route-table", params["RouteTableId"])]
        raise NotImplementedError(operation)

    def _create_tags(self, creating: str, resource_type: str, request_tags: dict) -> list[Request]:
        # Tags given at creation are a CreateTags on the new resource, authorized too.
        if not request_tags:
            return []
        context = {**request_tags, "ec2:CreateAction": [creating]}
        return [Request(creating, "ec2:CreateTags", self.arn(resource_type, "*"), context)]

    def _run_instances(self, params: dict) -> list[Request]:
        operation, action = "RunInstances", "ec2:RunInstances"
        template = params.get("LaunchTemplate") or {}
        data = {}
        if template.get("LaunchTemplateId"):
            versions = self.raw.describe_launch_template_versions(
                LaunchTemplateId=template["LaunchTemplateId"], Versions=[template.get("Version", "$Default")]
            )["LaunchTemplateVersions"]
            data = versions[0]["LaunchTemplateData"]
        # The template's tags count as requested (the reading that grants
        # more); the call's own win over them, key by key.
        specs = list(data.get("TagSpecifications") or ()) + list(params.get("TagSpecifications") or ())
        instance_tags = self.request_tags(specs, "instance")
        volume_tags = self.request_tags(specs, "volume")
        image = params.get("ImageId") or data.get("ImageId")
        requests = [
            Request(operation, action, self.arn("instance", "*"), instance_tags),
            Request(operation, action, self.arn("volume", "*"), volume_tags),
            Request(
                operation,
                action,
                f"arn:{self.partition}:ec2:{self.region}::image/{image}",
                self._from_template(data, params, "ImageId"),
            ),
        ]
        if template.get("LaunchTemplateId"):
            requests.append(Request(operation, action, self.arn("launch-template", template["LaunchTemplateId"]), {}))
        for eni in params.get("NetworkInterfaces") or ():
            requests += [
                self._given_in_call(request) for request in self._eni_request(operation, eni["NetworkInterfaceId"])
            ]
        if params.get("SubnetId"):
            subnet = self.raw.describe_subnets(SubnetIds=[params["SubnetId"]])["Subnets"][0]
            vpc = {"ec2:Vpc": [self.vpc_arn(subnet["VpcId"])], "ec2:IsLaunchTemplateResource": ["false"]}
            requests.append(Request(operation, action, self.arn("subnet", params["SubnetId"]), vpc))
        key_name = params.get("KeyName") or data.get("KeyName")
        if key_name:
            requests.append(Request(operation, action, self.arn("key-pair", key_name), {}))
        market = (params.get("InstanceMarketOptions") or data.get("InstanceMarketOptions") or {}).get("MarketType")
        if market == "spot":
            requests.append(Request(operation, action, self.arn("spot-instances-request", "*"), instance_tags))
        profile = (params.get("IamInstanceProfile") or data.get("IamInstanceProfile") or {}).get("Arn")
        if profile:
            # Passing the profile passes its role; the role's profile carries its role's name.
            role = profile.replace(":instance-profile/", ":role/")
            requests.append(Request(operation, "iam:PassRole", role, {"iam:PassedToService": ["ec2.amazonaws.com"]}))
        launched = (
            requests
            + self._create_tags(operation, "instance", instance_tags)
            + self._create_tags(operation, "volume", volume_tags)
        )
        if template.get("LaunchTemplateId"):
            self._launched_from(launched, self.arn("launch-template", template["LaunchTemplateId"]))
        return launched

    @staticmethod
    def _launched_from(requests: list[Request], template_arn: str) -> None:
        # IAM puts ec2:LaunchTemplate on every resource of a RunInstances that
        # names a template, and leaves it out of one that names none.
        for request in requests:
            if request.action == "ec2:RunInstances":
                request.context = {**request.context, "ec2:LaunchTemplate": [template_arn]}

    @staticmethod
    def _from_template(data: dict, params: dict, parameter: str) -> dict:
        """ec2:IsLaunchTemplateResource: true when the template sets the parameter and the call leaves it."""
        if not data:
            return {}
        return {"ec2:IsLaunchTemplateResource": [str(parameter in data and parameter not in params).lower()]}

    @staticmethod
    def _given_in_call(request: Request) -> Request:
        if request.action == "ec2:RunInstances":
            request.context = {**request.context, "ec2:IsLaunchTemplateResource": ["false"]}
        return request
