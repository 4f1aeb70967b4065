"""Act: one decision's actions, in order, each as few EC2 calls as it takes.

Each action ends "done", "noop" (nothing left to do), "wait" (EC2 is still
moving; the next event or the sweep continues) or "error". The first outcome
that is not done or noop ends the AZ's plan: the reconciler is level-triggered,
so the next look starts from whatever state this one left.
"""

from __future__ import annotations

import time

from botocore.exceptions import BotoCoreError, ClientError

from .config import EIP_OWNER_TAG, EIP_OWNER_USER, Config, Zone
from .decision import (
    Action,
    AttachEip,
    CreateNat,
    Decision,
    DisableSourceDestCheck,
    DisassociateEip,
    PointRoute,
    ReleaseEip,
    Retag,
    StartNat,
    StopNat,
    TerminateNat,
    describe_action,
)
from .observe import Observer, tags_of

# EC2 refuses these while an instance or ENI is still between states: a wait.
_WAIT_CODES = {"IncorrectInstanceState", "InvalidNetworkInterface.InUse", "IncorrectState", "InvalidIPAddress.InUse"}
_GONE_CODES = {
    "InvalidAllocationID.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidInstanceID.NotFound",
}


# EC2's address reads and writes are eventually consistent: an address
# allocated a moment ago can still be unknown to AssociateAddress, and one
# disassociated a moment ago still "in use" to ReleaseAddress. These pauses
# add up to 7.5 s per address, well inside the function's 60 s timeout.
SETTLE_PAUSES = (0.5, 1.0, 2.0, 4.0)
_ALLOCATION_NOT_YET_KNOWN = "InvalidAllocationID.NotFound"
_ADDRESS_STILL_IN_USE = "InvalidIPAddress.InUse"


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _is_eni_in_use(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "").lower()
    return _code(exc) == "InvalidNetworkInterface.InUse" or ("in use" in message and "interface" in message)


def _until_settled(call, settling_code: str, **params):
    """Call, retrying while EC2 answers `settling_code` (not yet consistent)."""
    for pause in SETTLE_PAUSES:
        try:
            return call(**params)
        except ClientError as exc:
            if _code(exc) != settling_code:
                raise
        time.sleep(pause)
    return call(**params)


def _tag_spec(resource_type: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class Actor:
    def __init__(self, ec2, config: Config, observer: Observer):
        self.ec2 = ec2
        self.config = config
        self.observer = observer

    def carry_out(self, decision: Decision) -> list[dict]:
        outcomes = []
        for action in decision.actions:
            outcome = describe_action(action)
            try:
                outcome.update(self._do(action))
            except ClientError as exc:
                outcome.update(self._failed(action, exc))
            except BotoCoreError as exc:
                outcome.update(result="error", error=type(exc).__name__, message=str(exc)[:300])
            outcomes.append(outcome)
            if outcome["result"] not in ("done", "noop"):
                break
        return outcomes

    def _failed(self, action: Action, exc: ClientError) -> dict:
        code = _code(exc)
        if isinstance(action, CreateNat) and _is_eni_in_use(exc):
            # The previous NAT still holds the ENI while it shuts down (or a
            # NAT launched a moment ago is missing from our read): not an error.
            return {"result": "wait", "reason": "eni_in_use"}
        if code in _WAIT_CODES:
            return {"result": "wait", "reason": code}
        if code in _GONE_CODES:
            return {"result": "noop", "reason": code}
        return {"result": "error", "error": code, "message": exc.response.get("Error", {}).get("Message", "")[:300]}

    def _do(self, action: Action) -> dict:
        zone = self.config.zones[action.az]
        if isinstance(action, CreateNat):
            return self._create_nat(zone)
        if isinstance(action, StartNat):
            self.ec2.start_instances(InstanceIds=[action.instance_id])
            return {"result": "done"}
        if isinstance(action, StopNat):
            # No Force: it skips neither much time nor cost (the OS shuts down
            # in seconds), and EC2 keeps it for stuck instances, after which
            # the root file system asks for a check at the next start.
            self.ec2.stop_instances(InstanceIds=[action.instance_id])
            return {"result": "done"}
        if isinstance(action, TerminateNat):
            self.ec2.terminate_instances(InstanceIds=[action.instance_id])
            return {"result": "done"}
        if isinstance(action, AttachEip):
            return self._attach_eip(zone, action)
        if isinstance(action, ReleaseEip):
            return self._release_eip(zone, action)
        if isinstance(action, PointRoute):
            route = self.ec2.replace_route if action.replace else self.ec2.create_route
            route(
                RouteTableId=action.route_table_id,
                DestinationCidrBlock="0.0.0.0/0",
                NetworkInterfaceId=action.network_interface_id,
            )
            return {"result": "done"}
        if isinstance(action, DisableSourceDestCheck):
            self.ec2.modify_network_interface_attribute(
                NetworkInterfaceId=action.network_interface_id, SourceDestCheck={"Value": False}
            )
            return {"result": "done"}
        if isinstance(action, DisassociateEip):
            self.ec2.disassociate_address(AssociationId=action.association_id)
            return {"result": "done"}
        if isinstance(action, Retag):
            return self._retag(action)
        raise TypeError(f"unknown action {action!r}")

    def _retag(self, action: Retag) -> dict:
        if action.set_tags:
            tags = [{"Key": key, "Value": value} for key, value in action.set_tags]
            self.ec2.create_tags(Resources=[action.resource_id], Tags=tags)
        if action.remove_keys:
            self.ec2.delete_tags(Resources=[action.resource_id], Tags=[{"Key": key} for key in action.remove_keys])
        return {"result": "done"}

    def _create_nat(self, zone: Zone) -> dict:
        # The ENIs are named in the call itself (not only in the launch
        # template) so the NAT always gets the persistent pair of its AZ. EC2
        # derives the AZ from the ENIs; naming it too keeps emulators honest.
        tags = self.config.nat_instance_tags(zone.az)
        response = self.ec2.run_instances(
            LaunchTemplate={"LaunchTemplateId": zone.launch_template_id, "Version": "$Latest"},
            MinCount=1,
            MaxCount=1,
            Placement={"AvailabilityZone": zone.az},
            NetworkInterfaces=[
                {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
                {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
            ],
            # These replace the template's tags: the NAT's and its root volume's
            # complete set, the user's cost-allocation tags included.
            TagSpecifications=_tag_spec("instance", tags) + _tag_spec("volume", tags),
        )
        return {"result": "done", "instance_id": response["Instances"][0]["InstanceId"]}

    def _attach_eip(self, zone: Zone, action: AttachEip) -> dict:
        allocation_id = action.allocation_id
        if allocation_id is None:
            addresses = self.observer.addresses(zone.az)
            if any(a.get("NetworkInterfaceId") == zone.public_eni_id for a in addresses):
                return {"result": "noop", "reason": "already_attached"}
            free = [a for a in addresses if not a.get("AssociationId")]
            allocation_id = free[0]["AllocationId"] if free else None
        allocated = allocation_id is None
        if allocated:
            address = self.ec2.allocate_address(
                Domain="vpc", TagSpecifications=_tag_spec("elastic-ip", self.config.eip_tags(zone.az))
            )
            allocation_id = address["AllocationId"]
        try:
            _until_settled(
                self.ec2.associate_address,
                _ALLOCATION_NOT_YET_KNOWN,
                AllocationId=allocation_id,
                NetworkInterfaceId=zone.public_eni_id,
                AllowReassociation=False,
            )
        except (ClientError, BotoCoreError) as exc:
            return self._attach_failed(allocation_id, allocated, exc)
        return {"result": "done", "allocation_id": allocation_id, "allocated": allocated}

    def _attach_failed(self, allocation_id: str, allocated: bool, exc: Exception) -> dict:
        """An attach that failed is an error, whatever the code: the public ENI
        has no address, and the next event or sweep must try again."""
        failed = {"result": "error", "allocation_id": allocation_id, "allocated": allocated}
        if isinstance(exc, ClientError):
            failed.update(error=_code(exc), message=exc.response.get("Error", {}).get("Message", "")[:300])
        else:
            failed.update(error=type(exc).__name__, message=str(exc)[:300])
        if allocated:
            # Never leave an address we allocated unassociated: it costs
            # money and nothing would ever use it (the sweep releases it if
            # this release fails too: it carries the deployment's tags).
            try:
                self.ec2.release_address(AllocationId=allocation_id)
                failed["released"] = [allocation_id]
            except (ClientError, BotoCoreError):
                failed["released"] = []
        return failed

    def _release_eip(self, zone: Zone, action: ReleaseEip) -> dict:
        if action.allocation_id is not None:
            targets = [(action.allocation_id, action.association_id)]
        else:
            # A user's own address is never ours to release.
            targets = [
                (a["AllocationId"], a.get("AssociationId"))
                for a in self.observer.addresses(zone.az)
                if tags_of(a).get(EIP_OWNER_TAG) != EIP_OWNER_USER
            ]
        if not targets:
            return {"result": "noop", "reason": "no_eip"}
        for allocation_id, association_id in targets:
            if association_id:
                try:
                    self.ec2.disassociate_address(AssociationId=association_id)
                except ClientError as exc:
                    if _code(exc) not in _GONE_CODES:
                        raise
            _until_settled(self.ec2.release_address, _ADDRESS_STILL_IN_USE, AllocationId=allocation_id)
        return {"result": "done", "released": [t[0] for t in targets]}
