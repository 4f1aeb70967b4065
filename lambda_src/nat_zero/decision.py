"""The decision: one AZ's snapshot in, the list of actions out.

Pure: no AWS calls, no clock, no environment. Everything the reconciler knows
about an AZ is in the Snapshot; everything it will do is in the returned
Decision. The handler observes, calls decide(), then acts.
"""

from __future__ import annotations

from typing import Union

from .config import RESERVED_TAG_PREFIXES
from .record import Record

PENDING = "pending"
RUNNING = "running"
STOPPING = "stopping"
STOPPED = "stopped"
SHUTTING_DOWN = "shutting-down"
TERMINATED = "terminated"

INSTANCE_STATES = (PENDING, RUNNING, STOPPING, STOPPED, SHUTTING_DOWN, TERMINATED)
ACTIVE_STATES = (PENDING, RUNNING)
# A NAT in one of these states still owns its ENIs and can be brought back.
LIVE_NAT_STATES = (PENDING, RUNNING, STOPPING, STOPPED)
# The one-step successor of each reversible state. An event one step ahead of
# the API's answer is newer than that answer (reads lag behind transitions).
_NEXT_STATE = {PENDING: RUNNING, RUNNING: STOPPING, STOPPING: STOPPED, STOPPED: PENDING}
_GONE_STATES = (SHUTTING_DOWN, TERMINATED)


def freshest_state(read_state: str | None, event_state: str | None) -> str | None:
    """The state to believe when the API's read and the triggering event disagree.

    EC2 reads are eventually consistent and lag behind the event that told us
    to look. An instance never leaves shutting-down/terminated, so such an event
    always wins. Otherwise the event wins only when it is exactly one step
    ahead of the read; anything else means the event is the late one (for
    example a "pending" event delivered after the instance is already running,
    or a "stopped" event for an instance that has since been restarted).
    """
    if event_state not in INSTANCE_STATES:
        return read_state
    if read_state is None:
        return event_state
    if read_state == TERMINATED or (read_state == SHUTTING_DOWN and event_state != TERMINATED):
        return read_state
    if event_state in _GONE_STATES:
        return event_state
    if _NEXT_STATE.get(read_state) == event_state:
        return event_state
    return read_state


class Workload(Record):
    instance_id: str
    state: str


# What the NAT's data plane reports of itself (nat-bootstrap.sh tags its own
# instance): forwarding since this launch, or not (yet), and why.
FORWARDING = "forwarding"


class Nat(Record):
    instance_id: str
    state: str
    config_version: str | None = None
    # Public IP of an Elastic IP seen on the NAT's public ENI (None: none seen).
    eip_public_ip: str | None = None
    launch_time: str = ""
    # A one-time spot instance cannot be stopped, only terminated.
    spot: bool = False
    # Attached to the AZ's persistent ENIs, the ones its route table and EIP use.
    on_zone_enis: bool = True
    # FORWARDING, or why not: the state it reported since its last launch
    # ("installing nftables", ...), "no report since launch", or None when it
    # is not running (a stopped NAT forwards nothing and is not expected to).
    dataplane: str | None = None
    # Its tags as read, sorted (key, value) pairs; None when not read.
    tags: tuple[tuple[str, str], ...] | None = None


class FailedLaunch(Record):
    """A NAT of this AZ that EC2 terminated while launching it (a KMS key it
    may not use, no capacity, an internal error): launching another at once
    would fail the same way, again and again."""

    instance_id: str
    reason_code: str
    reason_message: str = ""


class Eip(Record):
    allocation_id: str
    public_ip: str = ""
    association_id: str | None = None
    network_interface_id: str | None = None
    # Its tags as read, sorted (key, value) pairs; None when not read.
    tags: tuple[tuple[str, str], ...] | None = None
    # A user's own (bring-your-own): its tags are the user's to keep.
    user_owned: bool = False


class Snapshot(Record):
    """What is known about one AZ of the deployment at one moment.

    `failed_launch` is the triggering NAT when the event is its death at
    launch; a sweep does not look for those.

    `eips` is None when the deployment's Elastic IPs were not read (a single
    event costs at most two reads); then the only EIP knowledge is what the
    NAT's public ENI shows. A sweep reads them, so a sweep sees leaked ones.
    """

    az: str
    config_version: str
    public_eni_id: str
    workloads: tuple[Workload, ...] = ()
    nats: tuple[Nat, ...] = ()
    eips: tuple[Eip, ...] | None = None
    failed_launch: FailedLaunch | None = None
    # The tags this deployment gives its NAT and its Elastic IPs (user tags
    # included, config version left out); None: tags are not compared.
    nat_tags: tuple[tuple[str, str], ...] | None = None
    eip_tags: tuple[tuple[str, str], ...] | None = None


class CreateNat(Record):
    az: str


class StartNat(Record):
    az: str
    instance_id: str


class StopNat(Record):
    az: str
    instance_id: str


class TerminateNat(Record):
    az: str
    instance_id: str
    reason: str


class AttachEip(Record):
    """Give the AZ's public ENI an Elastic IP: reuse a free one of this
    deployment+AZ if there is one, otherwise allocate one."""

    az: str
    allocation_id: str | None = None


class ReleaseEip(Record):
    """Disassociate and release. allocation_id None: every EIP of this
    deployment+AZ, looked up when acting."""

    az: str
    allocation_id: str | None = None
    association_id: str | None = None


class Retag(Record):
    """Bring the tags of a NAT or an Elastic IP that stays to the deployment's, in
    place: a change of nat_zero_tags needs no new instance. Tags of the aws: and
    nat-zero: namespaces outside the deployment's set are left as they are."""

    az: str
    resource_id: str
    set_tags: tuple[tuple[str, str], ...] = ()
    remove_keys: tuple[str, ...] = ()


Action = Union[CreateNat, StartNat, StopNat, TerminateNat, AttachEip, ReleaseEip, Retag]

ACTION_NAMES = {
    CreateNat: "create_nat",
    StartNat: "start_nat",
    StopNat: "stop_nat",
    TerminateNat: "terminate_nat",
    AttachEip: "attach_eip",
    ReleaseEip: "release_eip",
    Retag: "retag",
}


def action_name(action: Action) -> str:
    return ACTION_NAMES[type(action)]


def describe_action(action: Action) -> dict:
    """A JSON-friendly description of an action, for logs and summaries."""
    described = {"action": action_name(action)}
    described.update({k: v for k, v in action.fields().items() if v is not None and k != "az"})
    return described


class Decision(Record):
    az: str
    verdict: str
    actions: tuple[Action, ...] = ()


_STATE_PREFERENCE = {RUNNING: 0, PENDING: 1, STOPPING: 2, STOPPED: 3}


def _choose_nat(nats, config_version):
    """The NAT to keep among live duplicates: running before pending before
    stopping before stopped, then current config, then one holding an EIP,
    then the oldest. Returns (kept, extras).

    One with the NAT tags but not on the AZ's ENIs (launched by hand, say)
    can never carry the AZ's traffic: it is never kept, whatever its state,
    or the AZ would be left with it and without a working NAT."""
    live = [n for n in nats if n.state in LIVE_NAT_STATES]
    unusable = [n for n in live if not n.on_zone_enis]
    live = [n for n in live if n.on_zone_enis]
    if not live:
        return None, unusable
    ranked = sorted(
        live,
        key=lambda n: (
            _STATE_PREFERENCE[n.state],
            n.config_version != config_version,
            n.eip_public_ip is None,
            n.launch_time,
            n.instance_id,
        ),
    )
    return ranked[0], ranked[1:] + unusable


def _is_outdated(nat: Nat, config_version: str) -> bool:
    # An untagged NAT has an unknown configuration: it cannot be trusted to
    # match the launch template, so it is replaced like an outdated one.
    return bool(config_version) and nat.config_version != config_version


def _eip_on_public_eni(snapshot: Snapshot, nat: Nat | None):
    """(has an EIP on the public ENI, the Eip record if known)."""
    if snapshot.eips is not None:
        for eip in snapshot.eips:
            if eip.network_interface_id == snapshot.public_eni_id:
                return True, eip
        return False, None
    return bool(nat is not None and nat.eip_public_ip), None


def _give_eip(snapshot: Snapshot, has_eip: bool, eip_on_eni: Eip | None) -> tuple[Action, ...]:
    """EIP actions for a NAT that is, or is about to be, active: attach one if
    the public ENI has none (a free EIP of this deployment+AZ first), and
    release every other EIP of this deployment+AZ."""
    if has_eip:
        return _release_all_but(snapshot, eip_on_eni.allocation_id if eip_on_eni else None)
    free = [e for e in snapshot.eips or () if not e.association_id]
    attach = AttachEip(snapshot.az, free[0].allocation_id if free else None)
    return (attach,) + _release_all_but(snapshot, attach.allocation_id)


def _release_all_but(snapshot: Snapshot, keep_allocation_id: str | None) -> tuple[Action, ...]:
    return tuple(
        ReleaseEip(snapshot.az, e.allocation_id, e.association_id)
        for e in snapshot.eips or ()
        if e.allocation_id != keep_allocation_id
    )


def _release_loose(snapshot: Snapshot, eip_on_eni: Eip | None) -> tuple[Action, ...]:
    """Release the EIPs of this deployment+AZ that are not on the public ENI,
    when the look read them (a sweep), whatever else the AZ waits for. A
    crash between allocating and associating leaves such an EIP; left to the
    branches that attach one, it would outlive every sweep that meets a NAT
    stopping or shutting down."""
    return _release_all_but(snapshot, eip_on_eni.allocation_id if eip_on_eni else None)


def _release_all(snapshot: Snapshot, nat: Nat | None) -> tuple[Action, ...]:
    if snapshot.eips is None:
        # Only the public ENI's association is known: release what it shows.
        if nat is not None and nat.eip_public_ip:
            return (ReleaseEip(snapshot.az),)
        return ()
    return _release_all_but(snapshot, None)


def decide(snapshot: Snapshot) -> Decision:
    """The decision table of DESIGN.md, for one AZ."""
    az = snapshot.az
    kept, extras = _choose_nat(snapshot.nats, snapshot.config_version)
    actions = [TerminateNat(az, n.instance_id, "duplicate") for n in extras]
    dying = [n for n in snapshot.nats if n.state == SHUTTING_DOWN]
    has_eip, eip_on_eni = _eip_on_public_eni(snapshot, kept)

    if snapshot.workloads:
        verdict, more = _scale_up(snapshot, kept, dying, has_eip, eip_on_eni)
    else:
        verdict, more = _scale_down(snapshot, kept, dying, has_eip, eip_on_eni)
    actions.extend(more)
    if extras and verdict == "steady":
        verdict = "terminate_duplicates"
    # Last: a retag that fails must not hold back what traffic needs.
    retags = _retags(snapshot, kept, actions)
    if retags and verdict == "steady":
        verdict = "retag"
    return Decision(az, verdict, tuple(actions) + retags)


def _retag(az: str, resource_id: str, current, desired) -> Retag | None:
    if current is None or desired is None:
        return None
    # The reconciler's own keys (aws:, nat-zero:) say what a resource is: never retagged.
    current = {k: v for k, v in current if not k.startswith(RESERVED_TAG_PREFIXES)}
    desired = {k: v for k, v in desired if not k.startswith(RESERVED_TAG_PREFIXES)}
    set_tags = tuple(sorted((k, v) for k, v in desired.items() if current.get(k) != v))
    remove_keys = tuple(sorted(k for k in current if k not in desired))
    if not set_tags and not remove_keys:
        return None
    return Retag(az, resource_id, set_tags, remove_keys)


def _retags(snapshot: Snapshot, kept: Nat | None, actions: list) -> tuple[Retag, ...]:
    """In-place tag updates of the NAT kept and of the Elastic IPs that stay."""
    leaving = {getattr(a, "instance_id", None) for a in actions if isinstance(a, TerminateNat)}
    leaving |= {a.allocation_id for a in actions if isinstance(a, ReleaseEip)}
    retags = []
    if kept is not None and kept.instance_id not in leaving:
        retags.append(_retag(snapshot.az, kept.instance_id, kept.tags, snapshot.nat_tags))
    for eip in snapshot.eips or ():
        if eip.allocation_id not in leaving and not eip.user_owned:
            retags.append(_retag(snapshot.az, eip.allocation_id, eip.tags, snapshot.eip_tags))
    return tuple(r for r in retags if r is not None)


def _scale_up(snapshot, kept, dying, has_eip, eip_on_eni):
    az = snapshot.az
    if kept is None:
        if dying:
            # Its ENIs are still attached until it is terminated; launching now
            # fails "in use". The terminated event (or the sweep) brings us back.
            return "wait_for_terminating_nat", _release_loose(snapshot, eip_on_eni)
        if snapshot.failed_launch is not None:
            # Each terminated event would launch the next doomed NAT at once,
            # in a loop: back off to the sweep, one launch per sweep period.
            return "back_off_failed_launch", _release_loose(snapshot, eip_on_eni)
        # The EIP goes on the public ENI right after launch, while the
        # instance boots, so the NAT has its address the moment it runs.
        return "create_nat", (CreateNat(az),) + _give_eip(snapshot, has_eip, eip_on_eni)
    if _is_outdated(kept, snapshot.config_version):
        # The ENIs and the EIP on them survive termination: the replacement
        # launched on the terminated event gets the same public address.
        terminate = (TerminateNat(az, kept.instance_id, "config_outdated"),)
        return "replace_outdated_nat", terminate + _release_loose(snapshot, eip_on_eni)
    if kept.state == STOPPING:
        return "wait_for_stopping_nat", _release_loose(snapshot, eip_on_eni)
    if kept.state == STOPPED:
        return "start_nat", (StartNat(az, kept.instance_id),) + _give_eip(snapshot, has_eip, eip_on_eni)
    eip_actions = _give_eip(snapshot, has_eip, eip_on_eni)
    if not has_eip:
        return "attach_eip", eip_actions
    return ("release_extra_eips" if eip_actions else "steady"), eip_actions


def _scale_down(snapshot, kept, dying, has_eip, eip_on_eni):
    az = snapshot.az
    if kept is not None and kept.state in ACTIVE_STATES and kept.spot:
        # Its EIP goes now: once terminated, no later event shows its ENI.
        release = _release_all(snapshot, kept) or (ReleaseEip(az),)
        return "terminate_idle_spot_nat", (TerminateNat(az, kept.instance_id, "idle_spot"),) + release
    if kept is not None and kept.state in ACTIVE_STATES:
        return "stop_nat", (StopNat(az, kept.instance_id),) + _release_loose(snapshot, eip_on_eni)
    if kept is not None and kept.state == STOPPING:
        return "wait_for_stopping_nat", _release_loose(snapshot, eip_on_eni)
    release = _release_all(snapshot, kept)
    return ("release_eip" if release else "steady"), release
