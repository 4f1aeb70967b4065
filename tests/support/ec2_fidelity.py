"""EC2 behaviour that moto does not reproduce, added back with botocore event hooks.

Moto is consistent and forgiving where EC2 is neither: it lets two instances
use one ENI, finishes every transition instantly and answers every read with
the latest state. The reconciler is written for the real thing, so tests that
depend on it install an Ec2Fidelity on the reconciler's own client:

- ENI exclusivity: RunInstances naming an ENI held by a live (or still
  shutting-down) instance fails with InvalidNetworkInterface.InUse.
- Slow shutdown: terminated NATs can be held in "shutting-down" (holding their
  ENIs) until the test lets them go.
- Stale reads: an instance's state can be served stale for the next N reads,
  and an instance can be missing from filtered reads for the next N calls.
- Injected failures: the next N calls of an operation fail with a given code.
- Spot needs its service-linked role: RunInstances of a Spot Instance (by its
  own market options or its launch template's) in an account without
  AWSServiceRoleForEC2Spot fails with AuthFailure.ServiceLinkedRoleCreationNotPermitted,
  as for any caller without iam:CreateServiceLinkedRole (the reconciler).
- Launches that die: the next N launched instances go pending -> terminated
  with a state reason such as Client.InvalidKMSKey.InvalidState.
- Request tags replace template tags: RunInstances given tags for instances
  drops the launch template's instance tags (moto merges the two).
- Address eventual consistency: a new allocation is unknown to the next N
  AssociateAddress calls naming it (InvalidAllocationID.NotFound), and an
  address just disassociated is still in use to the next N ReleaseAddress
  calls (InvalidIPAddress.InUse), as EC2 answers while it settles.
- Status checks: moto reports every running instance "ok" and never
  schedules an event. A test can impair an instance's instance or system
  check, or schedule its retirement, as DescribeInstanceStatus then shows;
  like EC2, the answer (without IncludeAllInstances) lists running instances only.
- Filters after paging: DescribeInstances applies its instance-state-name
  filter to each page it has cut, so a page holds at most MaxResults and may be
  short, or empty, and still carry a NextToken (aws/aws-sdk-js#940, #939:
  6 instances and a NextToken for MaxResults 7). The filter is applied here to
  the state a read shows (true, stale or shutting down), and the next N paged
  reads can be made to answer an empty page with a NextToken.
"""

from __future__ import annotations

import copy
from collections import defaultdict

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

# Where IAM keeps the EC2 Spot service-linked role (AWSServiceRoleForEC2Spot).
SPOT_ROLE_PATH = "/aws-service-role/spot.amazonaws.com/"

# EC2's numeric codes of the instance states.
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def client_error(operation: str, code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


class Ec2Fidelity:
    def __init__(self, client, raw_client=None, hold_terminations: bool = False):
        """`client` is the client under test; `raw_client` an unhooked client
        on the same backend, used to look behind the scenes."""
        self.client = client
        self.raw = raw_client or boto3.client(
            "ec2", region_name=client.meta.region_name, endpoint_url=client.meta.endpoint_url
        )
        self.hold_terminations = hold_terminations
        self.shutting_down: set = set()
        self.stale_states: dict[str, list] = {}  # instance -> [state, reads left]
        self.hidden: dict[str, int] = {}  # instance -> filtered reads left
        self.failures: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.throttles: dict[str, int] = defaultdict(int)
        self.throttled = 0
        self.eni_conflicts = 0
        self.doomed_launches: list[tuple[str, str]] = []
        self.died_at_launch: dict[str, dict] = {}  # instance -> its StateReason
        self.settling_calls = 0
        # allocation ID -> [operation that does not see the change yet, calls left]
        self.unsettled: dict[str, list] = {}
        self._last_params: dict[str, dict] = {}
        self.impaired: dict[str, str] = {}  # instance -> "InstanceStatus" or "SystemStatus"
        self.retiring: set = set()
        self.empty_pages = 0
        self._empty_page_states: set = set()
        self._wanted_states: set | None = None  # the last DescribeInstances' state filter
        self._handlers = [
            ("after-call.ec2.DescribeInstanceStatus", self._status_checks),
            ("before-parameter-build.ec2.*", self._remember_params),
            ("before-parameter-build.ec2.RunInstances", self._reject_enis_in_use),
            ("before-parameter-build.ec2.RunInstances", self._require_spot_service_linked_role),
            ("before-parameter-build.ec2.DescribeInstances", self._filter_states_after_paging),
            ("before-call.ec2.*", self._inject_failure),
            ("before-call.ec2.DescribeInstances", self._answer_empty_page),
            ("after-call.ec2.AllocateAddress", self._new_allocation_unsettled),
            ("before-call.ec2.DisassociateAddress", self._disassociation_unsettled),
            ("before-call.ec2.AssociateAddress", self._refuse_unsettled),
            ("before-call.ec2.ReleaseAddress", self._refuse_unsettled),
            ("after-call.ec2.DescribeInstances", self._age_reads),
            ("after-call.ec2.TerminateInstances", self._hold_shutdown),
            ("after-call.ec2.RunInstances", self._drop_template_tags),
            ("after-call.ec2.RunInstances", self._doom_launches),
        ]
        for event, handler in self._handlers:
            client.meta.events.register(event, handler)
        # Throttling is answered at the HTTP layer, ahead of moto, so that
        # botocore's own retry logic sees it exactly as it would from EC2.
        client.meta.events.register_first("before-send.ec2", self._throttle)

    def uninstall(self) -> None:
        for event, handler in self._handlers:
            self.client.meta.events.unregister(event, handler)
        self.client.meta.events.unregister("before-send.ec2", self._throttle)

    # -- what tests control -------------------------------------------------

    def fail_next(self, operation: str, code: str, times: int = 1, message: str = "") -> None:
        self.failures[operation].extend([(code, message)] * times)

    def throttle_next(self, operation: str, times: int = 1) -> None:
        """The next `times` HTTP requests of `operation` get RequestLimitExceeded."""
        self.throttles[operation] += times

    def fail_next_launches(self, code: str, message: str, launches: int = 1) -> None:
        """The next `launches` instances launched die at launch with this state reason."""
        self.doomed_launches.extend([(code, message)] * launches)

    def settle_addresses_after(self, calls: int) -> None:
        """From now on, each new allocation fails the next `calls`
        AssociateAddress calls naming it, and each disassociated address the
        next `calls` ReleaseAddress calls."""
        self.settling_calls = calls

    def impair(self, instance_id: str, check: str = "InstanceStatus") -> None:
        """Its `check` (InstanceStatus or SystemStatus) fails from now on."""
        self.impaired[instance_id] = check

    def schedule_retirement(self, instance_id: str) -> None:
        self.retiring.add(instance_id)

    def serve_stale_state(self, instance_id: str, state: str, reads: int = 1) -> None:
        self.stale_states[instance_id] = [state, reads]

    def hide_from_filtered_reads(self, instance_id: str, reads: int = 1) -> None:
        self.hidden[instance_id] = reads

    def answer_empty_pages(self, pages: int, states) -> None:
        """The next `pages` paged DescribeInstances reads filtered to exactly
        these instance states answer no instance and a NextToken."""
        self.empty_pages = pages
        self._empty_page_states = set(states)

    def finish_shutdowns(self) -> list[str]:
        """Let every held shutdown complete: the instances are terminated and
        their ENIs free."""
        done = sorted(self.shutting_down)
        self.shutting_down.clear()
        return done

    # -- hooks ---------------------------------------------------------------

    def _remember_params(self, params, model, **_):
        self._last_params[model.name] = copy.deepcopy(params)

    def _reject_enis_in_use(self, params, **_):
        eni_ids = [n["NetworkInterfaceId"] for n in params.get("NetworkInterfaces", ()) if "NetworkInterfaceId" in n]
        if not eni_ids:
            return
        for eni in self.raw.describe_network_interfaces(NetworkInterfaceIds=eni_ids)["NetworkInterfaces"]:
            holder = (eni.get("Attachment") or {}).get("InstanceId")
            if holder and self._holds_enis(holder):
                self.eni_conflicts += 1
                raise client_error(
                    "RunInstances",
                    "InvalidNetworkInterface.InUse",
                    f"Interface: [{eni['NetworkInterfaceId']}] in use.",
                )

    def _require_spot_service_linked_role(self, params, **_):
        if not self._asks_for_spot(params):
            return
        if self._iam().list_roles(PathPrefix=SPOT_ROLE_PATH)["Roles"]:
            return
        raise client_error(
            "RunInstances",
            "AuthFailure.ServiceLinkedRoleCreationNotPermitted",
            "The provided credentials do not have permission to create the service-linked role for EC2 Spot Instances.",
        )

    def _iam(self):
        # An emulator's own endpoint serves IAM too; AWS's EC2 endpoint does not.
        endpoint = self.raw.meta.endpoint_url
        custom = None if endpoint.endswith(".amazonaws.com") else endpoint
        return boto3.client("iam", region_name=self.raw.meta.region_name, endpoint_url=custom)

    def _asks_for_spot(self, params) -> bool:
        options = params.get("InstanceMarketOptions")
        template = params.get("LaunchTemplate")
        if options is None and template:
            ref = {k: v for k, v in template.items() if k in ("LaunchTemplateId", "LaunchTemplateName")}
            versions = self.raw.describe_launch_template_versions(**ref, Versions=[template.get("Version", "$Default")])
            options = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"].get("InstanceMarketOptions")
        return (options or {}).get("MarketType") == "spot"

    def _holds_enis(self, instance_id: str) -> bool:
        if instance_id in self.shutting_down:
            return True
        reservations = self.raw.describe_instances(InstanceIds=[instance_id])["Reservations"]
        states = [i["State"]["Name"] for r in reservations for i in r["Instances"]]
        return any(s != "terminated" for s in states)

    def _filter_states_after_paging(self, params, **_):
        # moto pages over all states, the state filter is applied to each page after.
        filters = params.get("Filters") or []
        wanted = [f for f in filters if f.get("Name") == "instance-state-name"]
        self._wanted_states = {v for f in wanted for v in f.get("Values", ())} if wanted else None
        if wanted:
            params["Filters"] = [f for f in filters if f.get("Name") != "instance-state-name"]
        if params.get("NextToken", "").startswith(_EMPTY_PAGE_TOKEN):
            # The empty page cut nothing: the next page starts where it started.
            del params["NextToken"]

    def _answer_empty_page(self, model, params, **_):
        if self.empty_pages <= 0 or not _query_param(params, "MaxResults"):
            return None
        if self._wanted_states != self._empty_page_states:
            return None
        self.empty_pages -= 1
        return AWSResponse("https://answered-by-fidelity-hook.invalid/", 200, {}, None), {
            "Reservations": [],
            "NextToken": f"{_EMPTY_PAGE_TOKEN}{self.empty_pages}",
        }

    def _inject_failure(self, model, **_):
        queued = self.failures.get(model.name)
        if queued:
            code, message = queued.pop(0)
            raise client_error(model.name, code, message)

    def _doom_launches(self, parsed, **_):
        for instance in parsed.get("Instances", ()):
            if not self.doomed_launches:
                return
            code, message = self.doomed_launches.pop(0)
            self.died_at_launch[instance["InstanceId"]] = {"Code": code, "Message": message}
            self.raw.terminate_instances(InstanceIds=[instance["InstanceId"]])

    def _drop_template_tags(self, parsed, **_):
        params = self._last_params.get("RunInstances", {})
        template = params.get("LaunchTemplate") or {}
        requested = {
            t["Key"]
            for spec in params.get("TagSpecifications", ())
            if spec.get("ResourceType") == "instance"
            for t in spec.get("Tags", ())
        }
        if not template.get("LaunchTemplateId") or not requested:
            return
        version = self.raw.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=[template.get("Version", "$Default")]
        )["LaunchTemplateVersions"][0]
        from_template = {
            t["Key"]
            for spec in version["LaunchTemplateData"].get("TagSpecifications", ())
            if spec.get("ResourceType") == "instance"
            for t in spec.get("Tags", ())
        }
        dropped = sorted(from_template - requested)
        for instance in parsed.get("Instances", ()) if dropped else ():
            self.raw.delete_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": k} for k in dropped])
            instance["Tags"] = [t for t in instance.get("Tags", ()) if t["Key"] not in dropped]

    def _new_allocation_unsettled(self, parsed, **_):
        if self.settling_calls and parsed.get("AllocationId"):
            self.unsettled[parsed["AllocationId"]] = ["AssociateAddress", self.settling_calls]

    def _disassociation_unsettled(self, params, **_):
        if not self.settling_calls:
            return
        filters = [{"Name": "association-id", "Values": [_query_param(params, "AssociationId")]}]
        for address in self.raw.describe_addresses(Filters=filters)["Addresses"]:
            self.unsettled[address["AllocationId"]] = ["ReleaseAddress", self.settling_calls]

    def _refuse_unsettled(self, model, params, **_):
        allocation_id = _query_param(params, "AllocationId")
        unsettled = self.unsettled.get(allocation_id)
        if not unsettled or unsettled[0] != model.name or unsettled[1] <= 0:
            return
        unsettled[1] -= 1
        if model.name == "AssociateAddress":
            raise client_error(
                model.name, "InvalidAllocationID.NotFound", f"The allocation ID '{allocation_id}' does not exist"
            )
        public_ip = self.raw.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]["PublicIp"]
        raise client_error(model.name, "InvalidIPAddress.InUse", f"Address {public_ip} is in use.")

    def _throttle(self, request, **_):
        body = request.body or b""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        for operation, left in self.throttles.items():
            if left > 0 and f"Action={operation}&" in f"{body}&":
                self.throttles[operation] -= 1
                self.throttled += 1
                return ec2_error_response(answered(request), "RequestLimitExceeded", "Request limit exceeded.")
        return None

    def _hold_shutdown(self, parsed, **_):
        if not self.hold_terminations:
            return
        for change in parsed.get("TerminatingInstances", ()):
            self.shutting_down.add(change["InstanceId"])
            change["CurrentState"] = {"Code": 32, "Name": "shutting-down"}

    def _status_checks(self, parsed, **_):
        statuses = parsed.get("InstanceStatuses") or []
        parsed["InstanceStatuses"] = [s for s in statuses if (s.get("InstanceState") or {}).get("Name") == "running"]
        for status in parsed["InstanceStatuses"]:
            iid = status["InstanceId"]
            if iid in self.impaired:
                check = self.impaired[iid]
                status[check] = {"Status": "impaired", "Details": [{"Name": "reachability", "Status": "failed"}]}
            if iid in self.retiring:
                status["Events"] = [
                    {
                        "Code": "instance-retirement",
                        "Description": "The instance is running on degraded hardware",
                        "InstanceEventId": "instance-event-0123456789abcdef0",
                    }
                ]

    def _age_reads(self, parsed, **_):
        params = self._last_params.get("DescribeInstances", {})
        filtered = not params.get("InstanceIds")
        for reservation in parsed.get("Reservations", ()):
            seen = (self._view(instance, filtered) for instance in reservation.get("Instances", ()))
            reservation["Instances"] = [instance for instance in seen if instance is not None]
            if self._wanted_states is not None:
                reservation["Instances"] = [
                    instance
                    for instance in reservation["Instances"]
                    if instance["State"]["Name"] in self._wanted_states
                ]
        parsed["Reservations"] = [r for r in parsed.get("Reservations", ()) if r.get("Instances")]

    def _view(self, instance: dict, filtered: bool) -> dict | None:
        """What EC2 would answer about one instance, or None when a filtered
        read misses it. Subclasses start from a truer state, then call this."""
        iid = instance["InstanceId"]
        if filtered and self.hidden.get(iid, 0) > 0:
            self.hidden[iid] -= 1
            return None
        if iid in self.shutting_down:
            instance["State"] = {"Code": 32, "Name": "shutting-down"}
        if iid in self.died_at_launch:
            instance["StateReason"] = self.died_at_launch[iid]
        stale: list | None = self.stale_states.get(iid)
        if stale and stale[1] > 0:
            instance["State"] = {"Code": STATE_CODES.get(stale[0], 0), "Name": stale[0]}
            stale[1] -= 1
        return instance


# The NextToken of an empty page a hook answered (EC2's tokens are opaque base64).
_EMPTY_PAGE_TOKEN = "fidelity-empty-page-"


def _query_param(request_dict: dict, name: str) -> str:
    """A parameter of an EC2 (query protocol) request as before-call sees it."""
    body = request_dict.get("body")
    return str(body.get(name, "")) if isinstance(body, dict) else ""


def answered(request) -> str:
    """Keep moto from also executing a request a hook answers; returns its URL.

    botocore runs every before-send handler and takes the first answer, so
    moto's stubber (registered after ours) would still carry out a throttled
    RunInstances. It leaves alone URLs outside AWS: point this attempt there.
    (Each attempt is a new request; a retry goes to moto again.)"""
    url = request.url
    request.url = "https://answered-by-fidelity-hook.invalid/"
    return url


class _RawBody:
    def __init__(self, payload: bytes):
        self.payload = payload

    def stream(self, **_):
        yield self.payload

    def read(self, *_):
        payload, self.payload = self.payload, b""
        return payload


def ec2_error_response(url: str, code: str, message: str, status: int = 503) -> AWSResponse:
    payload = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
        f"</Error></Errors><RequestID>fidelity</RequestID></Response>"
    ).encode()
    return AWSResponse(url, status, {"Content-Type": "text/xml"}, _RawBody(payload))


def ec2_xml_response(url: str, payload: str) -> AWSResponse:
    """A successful EC2 answer, for hooks that answer a call in EC2's place."""
    return AWSResponse(url, 200, {"Content-Type": "text/xml"}, _RawBody(payload.encode()))


# What EC2 stops reporting of an instance once it is terminated: it is no
# longer in a subnet, so DescribeInstances omits VpcId and SubnetId (callers
# that index instance["VpcId"] fail on terminated instances:
# mvanholsteijn/aws-visualizer#4, PaloAltoNetworks/terraform-aws-vmseries-modules#419).
# Moto keeps reporting them.
TERMINATED_DROPS = ("VpcId", "SubnetId", "PrivateIpAddress", "PrivateDnsName")


def _scrub_terminated(parsed, **_):
    for reservation in parsed.get("Reservations") or ():
        for instance in reservation.get("Instances") or ():
            if (instance.get("State") or {}).get("Name") == "terminated":
                for key in TERMINATED_DROPS:
                    instance.pop(key, None)
                instance["NetworkInterfaces"] = []


def scrub_terminated(client) -> None:
    """Answer DescribeInstances on `client` as EC2 does for terminated instances."""
    client.meta.events.register("after-call.ec2.DescribeInstances", _scrub_terminated)
