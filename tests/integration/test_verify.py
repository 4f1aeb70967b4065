"""playbooks/verify.yml on a live deployment: passes when all is as deployed,
names each hand-made breakage with its resource, and never changes anything.

One deployment for the whole module, on a moto server of its own that records
every request (moto's recorder): each test breaks one thing, runs verify.yml,
restores what it broke, and checks that verify.yml sent reads only.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Callable

import pytest

from playbooks.sandbox import create_vpc
from playbooks.sandbox.emulator import moto_server
from plugins.module_utils.package import build_zip
from tests.integration.conftest import TIMINGS
from tests.support.moto import REGION, clients
from tests.support.runs import REPO

pytestmark = pytest.mark.integration

NAME = "verified"
FUNCTION = f"{NAME}-nat-zero"
# The region's dispatcher rule: verify checks it for every deployment of the region.
STATE_RULE = "nat-zero-dispatch-ec2-state"
SWEEP_RULE = f"{NAME}-nat-zero-sweep"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
READ_PREFIXES = ("Describe", "Get", "List")


@pytest.fixture(scope="module")
def recording_server(tmp_path_factory):
    """A moto server of this module only, recording requests into a file of its own."""
    recording = tmp_path_factory.mktemp("recording") / "requests.jsonl"
    with moto_server(environment={"MOTO_RECORDER_FILEPATH": str(recording)}) as url:
        yield url


@pytest.fixture(scope="module")
def aws(recording_server):
    return clients(recording_server)


@pytest.fixture(scope="module")
def variables(aws):
    return create_vpc.create_vpc(aws("ec2"), NAME, ("us-east-1a", "us-east-1b"), 60)


@pytest.fixture(scope="module")
def deployed(variables, run_playbook, recording_server):
    run = run_playbook("site.yml", variables, env={"AWS_ENDPOINT_URL": recording_server}).assert_ok()
    TIMINGS["deploy for verify (2 AZs)"] = run.seconds
    return run


@pytest.fixture(scope="module")
def deployment(deployed, aws, variables):
    """What the deploy made that the breakages touch."""
    function = aws("lambda").get_function_configuration(FunctionName=FUNCTION)
    zones = json.loads(function["Environment"]["Variables"]["NAT_ZERO_ZONES"])
    first_az = variables["nat_zero_availability_zones"][0]
    private_eni = zones[first_az]["private_eni_id"]
    eni = aws("ec2").describe_network_interfaces(NetworkInterfaceIds=[private_eni])["NetworkInterfaces"][0]
    return {
        "az": first_az,
        "route_table": variables["nat_zero_private_route_table_ids"][0],
        "private_eni": private_eni,
        "security_group": eni["Groups"][0]["GroupId"],
        "launch_template": zones[first_az]["launch_template_id"],
        "environment": function["Environment"]["Variables"],
        "vpc_id": variables["nat_zero_vpc_id"],
    }


def _recorder(url: str, action: str) -> bytes:
    method = "GET" if action == "download-recording" else "POST"
    request = urllib.request.Request(f"{url}/moto-api/recorder/{action}", method=method, data=None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def operation(entry: dict) -> str:
    """The API operation of a recorded request: X-Amz-Target, the query's Action, or METHOD path."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    if "x-amz-target" in headers:
        return headers["x-amz-target"].rsplit(".", 1)[-1]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    action = urllib.parse.parse_qs(body).get("Action") or urllib.parse.parse_qs(
        urllib.parse.urlparse(entry["url"]).query
    ).get("Action")
    if action:
        return action[0]
    return "%s %s" % (entry["method"], urllib.parse.urlparse(entry["url"]).path)


def is_read(name: str) -> bool:
    return name.startswith(READ_PREFIXES) or name.startswith("GET ")


@pytest.fixture
def verify(run_playbook, variables, recording_server, deployment):
    """verify(check=False) -> (run, mutating operations it sent)."""

    def run(check: bool = False):
        _recorder(recording_server, "reset-recording")
        _recorder(recording_server, "start-recording")
        try:
            result = run_playbook(
                "verify.yml", variables, check=check, env={"AWS_ENDPOINT_URL": recording_server}, label="verify"
            )
        finally:
            _recorder(recording_server, "stop-recording")
        entries = [json.loads(line) for line in _recorder(recording_server, "download-recording").splitlines() if line]
        operations = [operation(e) for e in entries]
        assert operations, "the recorder saw no request: the count below would prove nothing"
        return result, [name for name in operations if not is_read(name)]

    return run


def test_operation_names_the_recorded_calls():
    """The classifier the read-only assertions rely on, on one request of each protocol."""
    query = {"headers": {}, "method": "POST", "url": "/", "body": "Action=DeleteRoute&Version=2016-11-15"}
    json_target = {"headers": {"X-Amz-Target": "AWSEvents.DisableRule"}, "method": "POST", "url": "/", "body": ""}
    rest = {"headers": {}, "method": "PUT", "url": "/2017-10-31/functions/f/concurrency", "body": ""}
    assert [operation(e) for e in (query, json_target, rest)] == [
        "DeleteRoute",
        "DisableRule",
        "PUT /2017-10-31/functions/f/concurrency",
    ]
    assert not any(is_read(operation(e)) for e in (query, json_target, rest))
    assert is_read("DescribeRouteTables") and is_read("GET /2015-03-31/functions/f")


def test_fresh_deployment_passes_with_one_row_per_az_and_one_for_the_deployment(verify, variables):
    run, mutating = verify()
    TIMINGS["verify (2 AZs)"] = run.seconds
    run.assert_ok()
    assert mutating == []
    for scope in [*variables["nat_zero_availability_zones"], "deployment"]:
        assert any(
            line.strip(' "').startswith(scope) and line.rstrip('",').endswith("ok") for line in run.output.splitlines()
        ), f"no ok row for {scope}:\n{run.tail()}"


def test_fresh_deployment_passes_in_check_mode(verify):
    run, mutating = verify(check=True)
    run.assert_ok()
    assert mutating == []


# -- breakages: each one is made, found by name, and undone ---------------------------


@dataclass
class Breakage:
    name: str
    # (aws, deployment) -> the text the finding must contain
    break_it: Callable[[Callable, dict], list[str]]
    restore: Callable[[Callable, dict], None]


def _delete_route(aws, d):
    aws("ec2").delete_route(RouteTableId=d["route_table"], DestinationCidrBlock="0.0.0.0/0")
    return [d["route_table"], "default route 0.0.0.0/0 is missing"]


def _restore_route(aws, d):
    aws("ec2").create_route(
        RouteTableId=d["route_table"], DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=d["private_eni"]
    )


def _route_to_gateway(aws, d):
    filters = [{"Name": "attachment.vpc-id", "Values": [d["vpc_id"]]}]
    gateway = aws("ec2").describe_internet_gateways(Filters=filters)["InternetGateways"][0]["InternetGatewayId"]
    aws("ec2").replace_route(RouteTableId=d["route_table"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    return [d["route_table"], f"the default route goes to {gateway}"]


def _restore_route_target(aws, d):
    aws("ec2").replace_route(
        RouteTableId=d["route_table"], DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=d["private_eni"]
    )


def _source_dest_check(value):
    def change(aws, d):
        aws("ec2").modify_network_interface_attribute(
            NetworkInterfaceId=d["private_eni"], SourceDestCheck={"Value": value}
        )
        return [d["private_eni"], "source/dest check is on"]

    return change


OPEN_SSH = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def _open_group(aws, d):
    aws("ec2").authorize_security_group_ingress(GroupId=d["security_group"], IpPermissions=OPEN_SSH)
    return [d["security_group"], "admits 0.0.0.0/0"]


def _close_group(aws, d):
    aws("ec2").revoke_security_group_ingress(GroupId=d["security_group"], IpPermissions=OPEN_SSH)


def _disable_rule(aws, d):
    aws("events").disable_rule(Name=STATE_RULE)
    return [STATE_RULE, "the rule is DISABLED", f"aws events enable-rule --name {STATE_RULE}"]


def _remove_permission(aws, d):
    aws("lambda").remove_permission(FunctionName=FUNCTION, StatementId=f"events-{SWEEP_RULE}")
    return [FUNCTION, f"no permission lets the rule arn:aws:events:{REGION}"]


def _add_permission(aws, d):
    aws("lambda").add_permission(
        FunctionName=FUNCTION,
        StatementId=f"events-{SWEEP_RULE}",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=aws("events").describe_rule(Name=SWEEP_RULE)["Arn"],
    )


def _concurrency(value):
    def change(aws, d):
        aws("lambda").put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=value)
        return [FUNCTION, "reserved concurrency is 5, not 1"]

    return change


def _change_code(aws, d):
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("nat_zero/handler.py", "def handler(event, context):\n    return None\n")
    aws("lambda").update_function_code(FunctionName=FUNCTION, ZipFile=package.getvalue())
    return [FUNCTION, "the deployed code (CodeSha256"]


def _restore_code(aws, d):
    aws("lambda").update_function_code(FunctionName=FUNCTION, ZipFile=build_zip(str(REPO / "lambda_src"), ["nat_zero"]))


def _change_environment(aws, d):
    variables = dict(d["environment"], NAT_ZERO_NAME="someone-else")
    aws("lambda").update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": variables})
    return [FUNCTION, "environment NAT_ZERO_NAME is 'someone-else', expected 'verified'"]


def _restore_environment(aws, d):
    aws("lambda").update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": d["environment"]})


def _orphan_eip(aws, d):
    tags = {"nat-zero:deployment": NAME, "nat-zero:vpc": d["vpc_id"], "nat-zero:az": d["az"]}
    address = aws("ec2").allocate_address(
        Domain="vpc",
        TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    d["orphan"] = address["AllocationId"]
    return [address["AllocationId"], "the Elastic IP is orphaned", f"release-address --allocation-id {d['orphan']}"]


def _release_orphan(aws, d):
    aws("ec2").release_address(AllocationId=d.pop("orphan"))


def _latest_version(aws, template_id):
    templates = aws("ec2").describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"]
    return str(templates[0]["LatestVersionNumber"])


def _imds_optional(aws, d):
    d["deployed_version"] = _latest_version(aws, d["launch_template"])
    aws("ec2").create_launch_template_version(
        LaunchTemplateId=d["launch_template"],
        SourceVersion=d["deployed_version"],
        LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}},
    )
    return [d["launch_template"], "does not require IMDSv2"]


def _latest_as_deployed(aws, d):
    # A new $Latest copied from the deployed version: moto 5.2.5 answers
    # DeleteLaunchTemplateVersions with a 500.
    aws("ec2").create_launch_template_version(
        LaunchTemplateId=d["launch_template"], SourceVersion=d.pop("deployed_version"), LaunchTemplateData={}
    )


def _short_retention(aws, d):
    aws("logs").put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=1)
    return [LOG_GROUP, "keeps logs for 1 days, not 14"]


def _restore_retention(aws, d):
    aws("logs").put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=14)


BREAKAGES = [
    Breakage("route deleted", _delete_route, _restore_route),
    Breakage("route to another target", _route_to_gateway, _restore_route_target),
    Breakage("source/dest check on", _source_dest_check(True), lambda aws, d: _source_dest_check(False)(aws, d)),
    Breakage("security group open to the internet", _open_group, _close_group),
    Breakage("rule disabled", _disable_rule, lambda aws, d: aws("events").enable_rule(Name=STATE_RULE)),
    Breakage("permission removed", _remove_permission, _add_permission),
    Breakage("concurrency changed", _concurrency(5), _concurrency(1)),
    Breakage("code changed in place", _change_code, _restore_code),
    Breakage("environment changed", _change_environment, _restore_environment),
    Breakage("EIP orphaned", _orphan_eip, _release_orphan),
    Breakage("launch template allows IMDSv1", _imds_optional, _latest_as_deployed),
    Breakage("log retention changed", _short_retention, _restore_retention),
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.name for b in BREAKAGES])
def test_each_breakage_fails_verify_naming_the_resource_and_the_fix(breakage, verify, aws, deployment):
    expected = breakage.break_it(aws, deployment)
    try:
        run, mutating = verify()
    finally:
        breakage.restore(aws, deployment)
    assert run.returncode != 0, f"verify passed despite {breakage.name}:\n{run.tail()}"
    assert mutating == []
    failure = next(line for line in run.output.splitlines() if "fix:" in line)
    for text in expected:
        assert text in failure, f"{text!r} not in the failure:\n{run.tail()}"
