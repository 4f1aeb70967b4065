"""Act: one decision's actions, in order, each as few EC2 calls as it takes.

Each action ends "done", "noop" (nothing left to do), "wait" (EC2 is still
moving; the next event or the sweep continues) or "error". The first outcome
that is not done or noop ends the AZ's plan: the reconciler is level-triggered,
so the next look starts from whatever state this one left.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .config import Config, Zone
from .decision import (
    Action,
    AttachEip,
    CreateNat,
    Decision,
    ReleaseEip,
    StartNat,
    StopNat,
    TerminateNat,
    describe_action,
)
from .observe import Observer

# EC2 refuses these while an instance or ENI is still between states: a wait.
_WAIT_CODES = {"IncorrectInstanceState", "InvalidNetworkInterface.InUse", "IncorrectState"}
_GONE_CODES = {
    "InvalidAllocationID.NotFound",
    "InvalidAssociationID.NotFound",
    "InvalidInstanceID.NotFound",
}


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _is_eni_in_use(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "").lower()
    return _code(exc) == "InvalidNetworkInterface.InUse" or ("in use" in message and "interface" in message)


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
            # Force: a NAT holds no state worth a graceful shutdown, and a
            # quick stop releases its cost sooner.
            self.ec2.stop_instances(InstanceIds=[action.instance_id], Force=True)
            return {"result": "done"}
        if isinstance(action, TerminateNat):
            self.ec2.terminate_instances(InstanceIds=[action.instance_id])
            return {"result": "done"}
        if isinstance(action, AttachEip):
            return self._attach_eip(zone, action)
        if isinstance(action, ReleaseEip):
            return self._release_eip(zone, action)
        raise TypeError(f"unknown action {action!r}")

    def _create_nat(self, zone: Zone) -> dict:
        # The ENIs are named in the call itself (not only in the launch
        # template) so the NAT always gets the persistent pair of its AZ. EC2
        # derives the AZ from the ENIs; naming it too keeps emulators honest.
        response = self.ec2.run_instances(
            LaunchTemplate={"LaunchTemplateId": zone.launch_template_id, "Version": "$Latest"},
            MinCount=1,
            MaxCount=1,
            Placement={"AvailabilityZone": zone.az},
            NetworkInterfaces=[
                {"NetworkInterfaceId": zone.public_eni_id, "DeviceIndex": 0},
                {"NetworkInterfaceId": zone.private_eni_id, "DeviceIndex": 1},
            ],
            TagSpecifications=_tag_spec("instance", self.config.nat_instance_tags(zone.az)),
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
            self.ec2.associate_address(
                AllocationId=allocation_id, NetworkInterfaceId=zone.public_eni_id, AllowReassociation=False
            )
        except (ClientError, BotoCoreError):
            if allocated:
                # Never leave an address we allocated unassociated: it costs
                # money and nothing would ever use it.
                self.ec2.release_address(AllocationId=allocation_id)
            raise
        return {"result": "done", "allocation_id": allocation_id, "allocated": allocated}

    def _release_eip(self, zone: Zone, action: ReleaseEip) -> dict:
        if action.allocation_id is not None:
            targets = [(action.allocation_id, action.association_id)]
        else:
            targets = [(a["AllocationId"], a.get("AssociationId")) for a in self.observer.addresses(zone.az)]
        if not targets:
            return {"result": "noop", "reason": "no_eip"}
        for allocation_id, association_id in targets:
            if association_id:
                try:
                    self.ec2.disassociate_address(AssociationId=association_id)
                except ClientError as exc:
                    if _code(exc) not in _GONE_CODES:
                        raise
            self.ec2.release_address(AllocationId=allocation_id)
        return {"result": "done", "released": [t[0] for t in targets]}
