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
    # An instance ID, or for an ECS task (kind "task") its ENI attachment ID.
    instance_id: str
    state: str
    kind: str = "instance"


# What the NAT's data plane reports of itself (nat-bootstrap.sh tags its own
# instance): forwarding since this launch, or not (yet), and why.
FORWARDING = "forwarding"
FAILED_PREFIX = "failed:"
NO_REPORT = "no report since launch"

# How fast a hung NAT (no report at all) is found: its last report turns
# stale STALE_REPORT_S after it was written, and the health rule, every
# HEALTH_RULE_PERIOD_S (EventBridge's floor, rate(1 minute)), reads it at most
# that much later: 60 + 60 = 120 s at worst, issue 17's target.
HEALTH_RULE_PERIOD_S = 60
STALE_REPORT_S = 60
# The guard (nat-zero-guard.timer: OnUnitActiveSec, RandomizedDelaySec,
# AccuracySec) re-reports every HEARTBEAT_PERIOD_S, each beat up to
# HEARTBEAT_LATE_S late (a random delay, drawn again at every beat, so NATs
# launched together do not call CreateTags in step). One lost beat (a
# throttled or failed CreateTags, retried only by the next beat) leaves a
# report 2 x (20 + 3) = 46 s old before the next one lands: 14 s to spare
# for sending it and for DescribeInstances to show it. Two lost beats in a
# row may count as a hung NAT. One CreateTags per beat: 3 a minute per
# running NAT, a free call (docs/architecture.md "Health" has the budget).
HEARTBEAT_PERIOD_S = 20
HEARTBEAT_LATE_S = 3
# Boot plus bootstrap (nftables install, forwarding checks) takes well under
# this on the smallest instance type; until then a missing report is no fault.
BOOT_GRACE_S = 240
# A NAT found unhealthy this soon after its launch is most likely the
# replacement of another that failed the same way (a broken AMI, template,
# or subnet): it is replaced no sooner than this after its launch, so a
# failing configuration costs at most one launch per period instead of a loop.
REPLACEMENT_BACKOFF_S = 900


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
    # Seconds since its launch and since its data-plane report (None: unknown).
    running_for_s: float | None = None
    report_age_s: float | None = None
    # What EC2 says is wrong with it: status checks impaired, retirement
    # scheduled (DescribeInstanceStatus; None: fine or not read).
    status_problem: str | None = None
    # Its tags as read, sorted (key, value) pairs; None when not read.
    tags: tuple[tuple[str, str], ...] | None = None


class Route(Record):
    """A private route table's 0.0.0.0/0 route as read: the ENI it targets
    (None: another kind of target), or absent."""

    route_table_id: str
    network_interface_id: str | None = None
    present: bool = True


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
    # The user's own address (tag nat-zero:eip-owner=user): never released.
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
    # always_on mode: the AZ's NAT runs whether or not workloads exist.
    always_on: bool = False
    # static EIP mode: the AZ's address stays on the public ENI while idle.
    static_eip: bool = False
    # The user's own allocation for this AZ (bring-your-own), if any.
    user_allocation_id: str | None = None
    # The NAT's guard re-reports every HEARTBEAT_PERIOD_S: a missing or stale
    # report is a fault. False for deployments whose NATs report once.
    heartbeat: bool = False
    # Drift repair, read by a sweep (None / empty: not read).
    private_eni_id: str = ""
    routes: tuple[Route, ...] | None = None
    # The AZ's ENIs whose source/dest check is on (a NAT forwards nothing then).
    source_dest_checked: tuple[str, ...] = ()
    # cross_az failover: the private ENI of another AZ's NAT that carries
    # traffic (None: none does), and whether other AZs' routes use this one.
    failover: bool = False
    failover_eni_id: str | None = None
    serves_other_azs: bool = False
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


class DisassociateEip(Record):
    """Take an address off the public ENI without releasing it: the user's own."""

    az: str
    allocation_id: str
    association_id: str


class PointRoute(Record):
    """Point a private route table's 0.0.0.0/0 at an ENI: CreateRoute when
    the route is missing, else ReplaceRoute. `was` says what was wrong."""

    az: str
    route_table_id: str
    network_interface_id: str
    replace: bool
    was: str


class DisableSourceDestCheck(Record):
    az: str
    network_interface_id: str


class Retag(Record):
    """Bring the tags of a NAT or an Elastic IP that stays to the deployment's, in
    place: a change of nat_zero_tags needs no new instance. Tags of the aws: and
    nat-zero: namespaces outside the deployment's set are left as they are."""

    az: str
    resource_id: str
    set_tags: tuple[tuple[str, str], ...] = ()
    remove_keys: tuple[str, ...] = ()


Action = Union[
    CreateNat,
    StartNat,
    StopNat,
    TerminateNat,
    AttachEip,
    ReleaseEip,
    DisassociateEip,
    PointRoute,
    DisableSourceDestCheck,
    Retag,
]

ACTION_NAMES = {
    CreateNat: "create_nat",
    StartNat: "start_nat",
    StopNat: "stop_nat",
    TerminateNat: "terminate_nat",
    AttachEip: "attach_eip",
    ReleaseEip: "release_eip",
    DisassociateEip: "disassociate_eip",
    PointRoute: "point_route",
    DisableSourceDestCheck: "disable_source_dest_check",
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
    the public ENI has none (the user's own allocation, else a free EIP of
    this deployment+AZ, else a new one), and release every other EIP of this
    deployment+AZ (the user's are only taken off the ENI)."""
    wanted = snapshot.user_allocation_id
    if has_eip and (wanted is None or eip_on_eni is None or eip_on_eni.allocation_id == wanted):
        return _release_all_but(snapshot, eip_on_eni.allocation_id if eip_on_eni else None)
    if has_eip:
        # The user's allocation replaces another address: that one goes
        # first, as AssociateAddress (without reassociation) refuses an ENI
        # that has one.
        return _release_all_but(snapshot, wanted) + (AttachEip(snapshot.az, wanted),)
    if wanted is None:
        free = [e for e in snapshot.eips or () if not e.association_id and not e.user_owned]
        wanted = free[0].allocation_id if free else None
    return (AttachEip(snapshot.az, wanted),) + _release_all_but(snapshot, wanted)


def _let_go(snapshot: Snapshot, eip: Eip) -> tuple[Action, ...]:
    """Release an address of ours; take a user's own off our ENI, never release it."""
    if not eip.user_owned:
        return (ReleaseEip(snapshot.az, eip.allocation_id, eip.association_id),)
    if eip.association_id and eip.network_interface_id == snapshot.public_eni_id:
        return (DisassociateEip(snapshot.az, eip.allocation_id, eip.association_id),)
    return ()


def _release_all_but(snapshot: Snapshot, keep_allocation_id: str | None) -> tuple[Action, ...]:
    return tuple(
        action for e in snapshot.eips or () if e.allocation_id != keep_allocation_id for action in _let_go(snapshot, e)
    )


def _release_loose(snapshot: Snapshot, eip_on_eni: Eip | None) -> tuple[Action, ...]:
    """Release the EIPs of this deployment+AZ that are not on the public ENI,
    when the look read them (a sweep), whatever else the AZ waits for. A
    crash between allocating and associating leaves such an EIP; left to the
    branches that attach one, it would outlive every sweep that meets a NAT
    stopping or shutting down."""
    return _release_all_but(snapshot, eip_on_eni.allocation_id if eip_on_eni else None)


def _keeps_address_while_idle(snapshot: Snapshot) -> bool:
    # A user's own allocation is a fixed address by definition.
    return snapshot.static_eip or snapshot.user_allocation_id is not None


def _release_all(snapshot: Snapshot, nat: Nat | None, eip_on_eni: Eip | None) -> tuple[Action, ...]:
    """The idle AZ's EIP actions: release its addresses, but the one on the
    public ENI in static mode."""
    if _keeps_address_while_idle(snapshot):
        return _release_loose(snapshot, eip_on_eni)
    if snapshot.eips is None:
        # Only the public ENI's association is known: release what it shows.
        if nat is not None and nat.eip_public_ip:
            return (ReleaseEip(snapshot.az),)
        return ()
    return _release_all_but(snapshot, None)


def health_problem(nat: Nat, heartbeat: bool) -> str | None:
    """Why a running NAT does not carry traffic, or None.

    EC2's status checks always count. The data-plane report counts when it
    says the NAT fails; its absence or age only when the NAT's guard
    re-reports (heartbeat), and a missing report only after boot."""
    if nat.state != RUNNING:
        return None
    if nat.status_problem:
        return nat.status_problem
    report = nat.dataplane
    booted = nat.running_for_s is not None and nat.running_for_s > BOOT_GRACE_S
    if report is not None and report.startswith(FAILED_PREFIX):
        return f"data plane {report}"
    if not heartbeat or not booted:
        return None
    if report == FORWARDING or report is None:
        if nat.report_age_s is not None and nat.report_age_s > STALE_REPORT_S:
            return f"data-plane report {round(nat.report_age_s)} s old"
        return None
    return f"data plane {report}"


def _replace_unhealthy(snapshot: Snapshot, kept: Nat, problem: str, eip_on_eni: Eip | None):
    """Terminate a sick NAT; the replacement is launched once it is gone (its
    ENIs are exclusive), on the same ENIs, so it gets the same EIP."""
    # An unknown age counts as young: a loop of launches is the worse mistake.
    young = kept.running_for_s is None or kept.running_for_s < REPLACEMENT_BACKOFF_S
    if young and not kept.status_problem:
        return "back_off_unhealthy_nat", _release_loose(snapshot, eip_on_eni)
    terminate = TerminateNat(snapshot.az, kept.instance_id, f"unhealthy: {problem}")
    return "replace_unhealthy_nat", (terminate,) + _release_loose(snapshot, eip_on_eni)


def decide(snapshot: Snapshot) -> Decision:
    """The decision table of DESIGN.md, for one AZ."""
    az = snapshot.az
    kept, extras = _choose_nat(snapshot.nats, snapshot.config_version)
    actions = [TerminateNat(az, n.instance_id, "duplicate") for n in extras]
    dying = [n for n in snapshot.nats if n.state == SHUTTING_DOWN]
    has_eip, eip_on_eni = _eip_on_public_eni(snapshot, kept)

    if snapshot.workloads or snapshot.always_on or snapshot.serves_other_azs:
        verdict, more = _scale_up(snapshot, kept, dying, has_eip, eip_on_eni)
    else:
        verdict, more = _scale_down(snapshot, kept, dying, has_eip, eip_on_eni)
    actions.extend(more)
    if extras and verdict == "steady":
        verdict = "terminate_duplicates"
    repairs = _repairs(snapshot, kept, verdict)
    if repairs and verdict == "steady":
        verdict = "repair_drift"
    # Last: a retag that fails must not hold back what traffic needs.
    retags = _retags(snapshot, kept, actions)
    if retags and verdict == "steady":
        verdict = "retag"
    # Traffic moves off a NAT before anything happens to it.
    return Decision(az, verdict, tuple(repairs) + tuple(actions) + retags)


_REPLACING = ("replace_unhealthy_nat", "replace_outdated_nat", "back_off_unhealthy_nat")


def carries_traffic(nat: Nat | None, heartbeat: bool) -> bool:
    """Running and healthy; with the heartbeat, also reporting forwarding."""
    if nat is None or nat.state != RUNNING or health_problem(nat, heartbeat):
        return False
    return not heartbeat or nat.dataplane == FORWARDING


def serves_traffic(snapshot: Snapshot) -> bool:
    """Whether this AZ's NAT can take another AZ's traffic (failover target)."""
    kept, _extras = _choose_nat(snapshot.nats, snapshot.config_version)
    return carries_traffic(kept, snapshot.heartbeat) and not _is_outdated(kept, snapshot.config_version)


def with_failover_targets(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Each snapshot told which other AZ's NAT may carry its traffic, and
    whether other AZs' routes point at its own. Pure, over one sweep's look."""
    serving = [s for s in snapshots if serves_traffic(s)]
    marked = []
    for snap in snapshots:
        others = [s.private_eni_id for s in serving if s.az != snap.az]
        routes_of_others = (r for s in snapshots if s.az != snap.az for r in s.routes or ())
        marked.append(
            snap.replace(
                failover_eni_id=others[0] if others else None,
                # Only our own failover moves a route on purpose; a hand-made
                # one is drift, repaired in this sweep, and keeps nothing up.
                serves_other_azs=snap.failover
                and any(r.network_interface_id == snap.private_eni_id for r in routes_of_others),
            )
        )
    return marked


def _route_target(snapshot: Snapshot, kept: Nat | None, verdict: str) -> str:
    """The ENI the AZ's private routes should use: its own, unless failover is
    on and its own NAT is needed but cannot carry traffic now."""
    own = snapshot.private_eni_id
    needed = bool(snapshot.workloads) or snapshot.always_on
    if not snapshot.failover or not needed or not snapshot.failover_eni_id:
        return own
    if carries_traffic(kept, snapshot.heartbeat) and verdict not in _REPLACING:
        return own
    return snapshot.failover_eni_id


def _repairs(snapshot: Snapshot, kept: Nat | None, verdict: str) -> list[Action]:
    az = snapshot.az
    repairs: list[Action] = []
    if snapshot.routes is not None and snapshot.private_eni_id:
        target = _route_target(snapshot, kept, verdict)
        for route in snapshot.routes:
            if route.network_interface_id != target:
                was = (route.network_interface_id or "another target") if route.present else "missing"
                repairs.append(PointRoute(az, route.route_table_id, target, route.present, was))
    repairs.extend(DisableSourceDestCheck(az, eni) for eni in snapshot.source_dest_checked)
    return repairs


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
    problem = health_problem(kept, snapshot.heartbeat)
    if problem:
        return _replace_unhealthy(snapshot, kept, problem, eip_on_eni)
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
        release = _release_all(snapshot, kept, eip_on_eni)
        if not release and not _keeps_address_while_idle(snapshot):
            release = (ReleaseEip(az),)
        return "terminate_idle_spot_nat", (TerminateNat(az, kept.instance_id, "idle_spot"),) + release
    if kept is not None and kept.state in ACTIVE_STATES:
        return "stop_nat", (StopNat(az, kept.instance_id),) + _release_loose(snapshot, eip_on_eni)
    if kept is not None and kept.state == STOPPING:
        return "wait_for_stopping_nat", _release_loose(snapshot, eip_on_eni)
    release = _release_all(snapshot, kept, eip_on_eni)
    return ("release_eip" if release else "steady"), release
