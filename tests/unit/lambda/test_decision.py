"""The decision table, row by row, as a table."""

import pytest

from nat_zero.decision import (
    BOOT_GRACE_S,
    HEALTH_RULE_PERIOD_S,
    HEARTBEAT_LATE_S,
    HEARTBEAT_PERIOD_S,
    STALE_REPORT_S,
    AttachEip,
    CreateNat,
    DisableSourceDestCheck,
    DisassociateEip,
    Eip,
    FailedLaunch,
    Nat,
    PointRoute,
    ReleaseEip,
    Route,
    Snapshot,
    StartNat,
    StopNat,
    TerminateNat,
    Workload,
    decide,
    freshest_state,
    with_failover_targets,
)

AZ = "us-east-1a"
PUBLIC_ENI = "eni-0aaaaaaaaaaaaaaaa"
VERSION = "cfg-2"


def snapshot(workloads=0, nats=(), eips=None, workload_state="running", failed_launch=None):
    return Snapshot(
        failed_launch=failed_launch,
        az=AZ,
        config_version=VERSION,
        public_eni_id=PUBLIC_ENI,
        workloads=tuple(Workload(f"i-0w{n:015d}", workload_state) for n in range(workloads)),
        nats=tuple(nats),
        eips=None if eips is None else tuple(eips),
    )


def tasks(pending=0, running=0, instances=0, nats=()):
    """A snapshot whose workloads are ECS tasks (by attachment ID), and instances."""
    workloads = [Workload(f"0000000{n}-task-pend-ing0-000000000000", "pending", "task") for n in range(pending)]
    workloads += [Workload(f"0000000{n}-task-runn-ing0-000000000000", "running", "task") for n in range(running)]
    workloads += [Workload(f"i-0w{n:015d}", "running") for n in range(instances)]
    return Snapshot(AZ, VERSION, PUBLIC_ENI, workloads=tuple(workloads), nats=tuple(nats))


def nat(state, iid="i-0nat000000000001", version=VERSION, eip=None, launched="2026-11-01", spot=False):
    return Nat(iid, state, config_version=version, eip_public_ip=eip, launch_time=launched, spot=spot)


def eip_on_eni(alloc="eipalloc-1", ip="198.51.100.1"):
    return Eip(alloc, ip, association_id=f"eipassoc-{alloc[-1]}", network_interface_id=PUBLIC_ENI)


def free_eip(alloc="eipalloc-2", ip="198.51.100.2"):
    return Eip(alloc, ip)


NAT_ID = "i-0nat000000000001"
NAT_2 = "i-0nat000000000002"
NAT_3 = "i-0nat000000000003"

DIED = FailedLaunch("i-0nat00000000000f", "Client.InvalidKMSKey.InvalidState", "The KMS key is not usable")

TABLE = [
    # --- scale up ---------------------------------------------------------
    ("scale_up_from_none", snapshot(1), "create_nat", (CreateNat(AZ), AttachEip(AZ))),
    (
        "scale_up_from_stopped",
        snapshot(1, [nat("stopped")]),
        "start_nat",
        (StartNat(AZ, NAT_ID), AttachEip(AZ)),
    ),
    (
        "scale_up_from_stopped_reuses_eip_left_on_eni",
        snapshot(1, [nat("stopped", eip="198.51.100.1")]),
        "start_nat",
        (StartNat(AZ, NAT_ID),),
    ),
    ("scale_up_while_stopping_waits", snapshot(1, [nat("stopping")]), "wait_for_stopping_nat", ()),
    ("scale_up_running_with_eip_is_steady", snapshot(1, [nat("running", eip="198.51.100.1")]), "steady", ()),
    ("scale_up_pending_with_eip_is_steady", snapshot(1, [nat("pending", eip="198.51.100.1")]), "steady", ()),
    # --- EIP ----------------------------------------------------------------
    ("eip_allocated_for_running_nat", snapshot(1, [nat("running")]), "attach_eip", (AttachEip(AZ),)),
    ("eip_allocated_for_pending_nat", snapshot(1, [nat("pending")]), "attach_eip", (AttachEip(AZ),)),
    (
        "eip_free_one_reused_before_allocating",
        snapshot(1, [nat("running")], eips=[free_eip()]),
        "attach_eip",
        (AttachEip(AZ, "eipalloc-2"),),
    ),
    (
        "eip_already_attached_known_list_is_steady",
        snapshot(1, [nat("running", eip="198.51.100.1")], eips=[eip_on_eni()]),
        "steady",
        (),
    ),
    (
        "eip_extras_released_keeping_the_attached_one",
        snapshot(1, [nat("running", eip="198.51.100.1")], eips=[eip_on_eni(), free_eip(), free_eip("eipalloc-3")]),
        "release_extra_eips",
        (ReleaseEip(AZ, "eipalloc-2"), ReleaseEip(AZ, "eipalloc-3")),
    ),
    (
        "eip_create_with_two_free_uses_one_releases_other",
        snapshot(1, [], eips=[free_eip(), free_eip("eipalloc-3")]),
        "create_nat",
        (CreateNat(AZ), AttachEip(AZ, "eipalloc-2"), ReleaseEip(AZ, "eipalloc-3")),
    ),
    (
        "eip_on_eni_survives_replacement_and_is_not_reallocated",
        snapshot(1, [], eips=[eip_on_eni()]),
        "create_nat",
        (CreateNat(AZ),),
    ),
    # --- scale down ---------------------------------------------------------
    (
        "scale_down_running_nat_is_stopped",
        snapshot(0, [nat("running", eip="198.51.100.1")]),
        "stop_nat",
        (StopNat(AZ, NAT_ID),),
    ),
    ("scale_down_pending_nat_is_stopped", snapshot(0, [nat("pending")]), "stop_nat", (StopNat(AZ, NAT_ID),)),
    ("scale_down_stopping_nat_waits", snapshot(0, [nat("stopping", eip="198.51.100.1")]), "wait_for_stopping_nat", ()),
    (
        "scale_down_stopped_nat_releases_eip_seen_on_eni",
        snapshot(0, [nat("stopped", eip="198.51.100.1")]),
        "release_eip",
        (ReleaseEip(AZ),),
    ),
    ("scale_down_stopped_nat_without_eip_is_steady", snapshot(0, [nat("stopped")]), "steady", ()),
    ("scale_down_no_nat_is_steady", snapshot(0), "steady", ()),
    (
        "scale_down_no_nat_releases_every_known_eip",
        snapshot(0, [], eips=[eip_on_eni(), free_eip()]),
        "release_eip",
        (ReleaseEip(AZ, "eipalloc-1", "eipassoc-1"), ReleaseEip(AZ, "eipalloc-2")),
    ),
    (
        "scale_down_with_sibling_workload_still_running_keeps_nat",
        snapshot(1, [nat("running", eip="198.51.100.1")]),
        "steady",
        (),
    ),
    ("shutting_down_workload_is_not_counted", snapshot(0, [nat("running")]), "stop_nat", (StopNat(AZ, NAT_ID),)),
    # --- spot: a one-time spot NAT cannot be stopped ----------------------------
    (
        "scale_down_idle_spot_nat_is_terminated_and_its_eip_released",
        snapshot(0, [nat("running", eip="198.51.100.1", spot=True)]),
        "terminate_idle_spot_nat",
        (TerminateNat(AZ, NAT_ID, "idle_spot"), ReleaseEip(AZ)),
    ),
    (
        "scale_down_idle_spot_nat_releases_known_eips",
        snapshot(0, [nat("running", spot=True)], eips=[eip_on_eni(), free_eip()]),
        "terminate_idle_spot_nat",
        (
            TerminateNat(AZ, NAT_ID, "idle_spot"),
            ReleaseEip(AZ, "eipalloc-1", "eipassoc-1"),
            ReleaseEip(AZ, "eipalloc-2"),
        ),
    ),
    (
        "scale_up_spot_nat_running_is_steady",
        snapshot(1, [nat("running", eip="198.51.100.1", spot=True)]),
        "steady",
        (),
    ),
    # --- config version -----------------------------------------------------
    (
        "config_outdated_with_workloads_is_replaced",
        snapshot(1, [nat("running", version="cfg-1", eip="198.51.100.1")]),
        "replace_outdated_nat",
        (TerminateNat(AZ, NAT_ID, "config_outdated"),),
    ),
    (
        "config_untagged_with_workloads_is_replaced",
        snapshot(1, [nat("running", version=None, eip="198.51.100.1")]),
        "replace_outdated_nat",
        (TerminateNat(AZ, NAT_ID, "config_outdated"),),
    ),
    (
        "config_outdated_stopped_is_replaced_not_started",
        snapshot(1, [nat("stopped", version="cfg-1")]),
        "replace_outdated_nat",
        (TerminateNat(AZ, NAT_ID, "config_outdated"),),
    ),
    (
        "config_current_is_kept",
        snapshot(1, [nat("running", version=VERSION, eip="198.51.100.1")]),
        "steady",
        (),
    ),
    (
        "config_outdated_without_workloads_is_just_stopped",
        snapshot(0, [nat("running", version="cfg-1")]),
        "stop_nat",
        (StopNat(AZ, NAT_ID),),
    ),
    # --- terminated / dying NATs ---------------------------------------------
    ("terminated_nat_with_workloads_creates_new", snapshot(1, []), "create_nat", (CreateNat(AZ), AttachEip(AZ))),
    (
        "shutting_down_nat_with_workloads_waits_for_its_enis",
        snapshot(1, [nat("shutting-down")]),
        "wait_for_terminating_nat",
        (),
    ),
    # --- NATs that die at launch ----------------------------------------------
    (
        "nat_died_at_launch_with_workloads_backs_off_to_the_sweep",
        snapshot(1, [], failed_launch=DIED),
        "back_off_failed_launch",
        (),
    ),
    (
        "nat_died_at_launch_backs_off_but_releases_a_loose_eip",
        snapshot(1, [], eips=[free_eip()], failed_launch=DIED),
        "back_off_failed_launch",
        (ReleaseEip(AZ, "eipalloc-2", None),),
    ),
    (
        "nat_died_at_launch_but_another_is_stopped_starts_that_one",
        snapshot(1, [nat("stopped")], failed_launch=DIED),
        "start_nat",
        (StartNat(AZ, NAT_ID), AttachEip(AZ)),
    ),
    ("nat_died_at_launch_without_workloads_is_steady", snapshot(0, [], failed_launch=DIED), "steady", ()),
    # --- duplicates ----------------------------------------------------------
    (
        "duplicates_mixed_states_keep_running",
        snapshot(
            1,
            [
                nat("stopped", iid=NAT_ID, launched="2026-11-01"),
                nat("running", iid=NAT_2, eip="198.51.100.1", launched="2026-11-02"),
                nat("pending", iid=NAT_3, launched="2026-11-03"),
            ],
        ),
        "terminate_duplicates",
        (TerminateNat(AZ, NAT_3, "duplicate"), TerminateNat(AZ, NAT_ID, "duplicate")),
    ),
    (
        "duplicates_all_stopped_keep_oldest_and_start_it",
        snapshot(
            1,
            [
                nat("stopped", iid=NAT_2, launched="2026-11-02"),
                nat("stopped", iid=NAT_ID, launched="2026-11-01"),
            ],
        ),
        "start_nat",
        (TerminateNat(AZ, NAT_2, "duplicate"), StartNat(AZ, NAT_ID), AttachEip(AZ)),
    ),
    (
        "duplicates_without_workloads_terminate_extras_and_stop_kept",
        snapshot(0, [nat("running", iid=NAT_ID), nat("running", iid=NAT_2, launched="2026-11-05")]),
        "stop_nat",
        (TerminateNat(AZ, NAT_2, "duplicate"), StopNat(AZ, NAT_ID)),
    ),
    (
        "duplicates_prefer_current_config",
        snapshot(
            1,
            [
                nat("running", iid=NAT_ID, version="cfg-1", eip="198.51.100.1"),
                nat("running", iid=NAT_2, version=VERSION, launched="2026-11-09"),
            ],
        ),
        "attach_eip",
        (TerminateNat(AZ, NAT_ID, "duplicate"), AttachEip(AZ)),
    ),
    (
        "duplicates_only_steady_reports_termination",
        snapshot(0, [nat("stopped", iid=NAT_ID), nat("stopped", iid=NAT_2, launched="2026-11-09")]),
        "terminate_duplicates",
        (TerminateNat(AZ, NAT_2, "duplicate"),),
    ),
    # --- ECS tasks are workloads like instances ----------------------------
    ("task_provisioning_scales_up_from_none", tasks(pending=1), "create_nat", (CreateNat(AZ), AttachEip(AZ))),
    (
        "task_running_starts_a_stopped_nat",
        tasks(running=1, nats=[nat("stopped")]),
        "start_nat",
        (StartNat(AZ, NAT_ID), AttachEip(AZ)),
    ),
    ("task_keeps_a_running_nat", tasks(running=1, nats=[nat("running", eip="198.51.100.1")]), "steady", ()),
    (
        "task_and_instance_keep_a_running_nat",
        tasks(running=1, instances=1, nats=[nat("running", eip="198.51.100.1")]),
        "steady",
        (),
    ),
    ("task_waits_for_a_stopping_nat", tasks(pending=1, nats=[nat("stopping")]), "wait_for_stopping_nat", ()),
]


@pytest.mark.parametrize("name,snap,verdict,actions", TABLE, ids=[row[0] for row in TABLE])
def test_decision_table(name, snap, verdict, actions):
    decision = decide(snap)
    assert decision.az == AZ
    assert decision.verdict == verdict
    assert decision.actions == actions


def test_decide_is_pure_and_repeatable():
    snap = snapshot(2, [nat("stopped")], eips=[free_eip()])
    assert decide(snap) == decide(snap)


def test_every_action_names_the_snapshot_az():
    for _, snap, _, _ in TABLE:
        assert all(action.az == AZ for action in decide(snap).actions)


FRESHNESS = [
    # read, event, believed
    (None, "pending", "pending"),  # missing from the read: the event stands in
    ("pending", "running", "running"),
    ("running", "stopping", "stopping"),
    ("stopping", "stopped", "stopped"),  # stale "stopping" read, fresh "stopped" event
    ("stopped", "pending", "pending"),
    ("running", "pending", "running"),  # late "pending" event
    ("running", "stopped", "running"),  # two steps apart: the read is the safer truth
    ("pending", "stopped", "pending"),
    ("running", "shutting-down", "shutting-down"),
    ("stopped", "terminated", "terminated"),
    ("shutting-down", "running", "shutting-down"),  # nothing comes back from shutting-down
    ("shutting-down", "terminated", "terminated"),
    ("terminated", "pending", "terminated"),
    ("running", "bogus", "running"),
    ("running", None, "running"),
]


@pytest.mark.parametrize("read,event,believed", FRESHNESS)
def test_freshest_state(read, event, believed):
    assert freshest_state(read, event) == believed


# --- issue 17: health, always-on, static and bring-your-own addresses --------


def healthy(**kw):
    """A running NAT of the current config with its EIP, booted long ago."""
    return nat("running", eip="198.51.100.1").replace(**{"running_for_s": 3600.0, "dataplane": "forwarding", **kw})


def with_heartbeat(snap):
    return snap.replace(heartbeat=True)


def user_eip(alloc="eipalloc-9", on_eni=False):
    eni = dict(association_id="eipassoc-9", network_interface_id=PUBLIC_ENI) if on_eni else {}
    return Eip(alloc, "203.0.113.9", user_owned=True, **eni)


HEALTH_TABLE = [
    ("healthy_nat_is_steady", with_heartbeat(snapshot(1, [healthy(report_age_s=30.0)])), "steady", ()),
    (
        "status_impaired_nat_is_replaced",
        snapshot(1, [healthy(status_problem="instance status impaired")]),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: instance status impaired"),),
    ),
    (
        "status_impaired_young_nat_is_replaced_at_once",
        snapshot(1, [healthy(status_problem="system status impaired", running_for_s=60.0)]),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: system status impaired"),),
    ),
    (
        "retirement_scheduled_nat_is_replaced",
        snapshot(1, [healthy(status_problem="instance-retirement scheduled")]),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: instance-retirement scheduled"),),
    ),
    (
        "failed_report_is_a_fault_even_without_heartbeat",
        snapshot(1, [healthy(dataplane="failed:install nftables")]),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: data plane failed:install nftables"),),
    ),
    (
        "not_forwarding_report_with_heartbeat_is_a_fault",
        with_heartbeat(snapshot(1, [healthy(dataplane="not-forwarding:ip_forward off", report_age_s=20.0)])),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: data plane not-forwarding:ip_forward off"),),
    ),
    (
        "report_just_under_the_age_limit_is_healthy",
        with_heartbeat(snapshot(1, [healthy(report_age_s=STALE_REPORT_S - 1.0)])),
        "steady",
        (),
    ),
    (
        # The beat after a throttled CreateTags lands two periods (each up to
        # HEARTBEAT_LATE_S late) after the last one that got through.
        "one_lost_heartbeat_is_no_fault",
        with_heartbeat(snapshot(1, [healthy(report_age_s=2.0 * (HEARTBEAT_PERIOD_S + HEARTBEAT_LATE_S))])),
        "steady",
        (),
    ),
    (
        "stale_report_with_heartbeat_is_a_fault",
        with_heartbeat(snapshot(1, [healthy(report_age_s=STALE_REPORT_S + 1.0)])),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, f"unhealthy: data-plane report {STALE_REPORT_S + 1} s old"),),
    ),
    ("stale_report_without_heartbeat_is_no_fault", snapshot(1, [healthy(report_age_s=3600.0)]), "steady", ()),
    (
        "missing_report_after_boot_with_heartbeat_is_a_fault",
        with_heartbeat(snapshot(1, [healthy(dataplane="no report since launch")])),
        "replace_unhealthy_nat",
        (TerminateNat(AZ, NAT_ID, "unhealthy: data plane no report since launch"),),
    ),
    (
        "missing_report_during_boot_is_no_fault",
        with_heartbeat(snapshot(1, [healthy(dataplane="no report since launch", running_for_s=BOOT_GRACE_S - 40.0)])),
        "steady",
        (),
    ),
    (
        "young_nat_with_data_plane_fault_backs_off",
        with_heartbeat(snapshot(1, [healthy(dataplane="no report since launch", running_for_s=600.0)])),
        "back_off_unhealthy_nat",
        (),
    ),
    (
        "unhealthy_idle_nat_is_just_stopped",
        snapshot(0, [healthy(status_problem="instance status impaired")]),
        "stop_nat",
        (StopNat(AZ, NAT_ID),),
    ),
    (
        "stopped_nat_is_not_judged",
        with_heartbeat(snapshot(1, [nat("stopped", eip="198.51.100.1").replace(running_for_s=9999.0)])),
        "start_nat",
        (StartNat(AZ, NAT_ID),),
    ),
    # --- always_on --------------------------------------------------------------
    (
        "always_on_without_workloads_creates",
        snapshot(0).replace(always_on=True),
        "create_nat",
        (CreateNat(AZ), AttachEip(AZ)),
    ),
    ("always_on_idle_running_nat_is_steady", snapshot(0, [healthy()]).replace(always_on=True), "steady", ()),
    (
        "always_on_starts_a_nat_stopped_by_hand",
        snapshot(0, [nat("stopped", eip="198.51.100.1")]).replace(always_on=True),
        "start_nat",
        (StartNat(AZ, NAT_ID),),
    ),
    # --- static EIP ---------------------------------------------------------------
    (
        "static_idle_keeps_the_address_on_the_eni",
        snapshot(0, [nat("stopped")], eips=[eip_on_eni(), free_eip()]).replace(static_eip=True),
        "release_eip",
        (ReleaseEip(AZ, "eipalloc-2"),),
    ),
    (
        "static_stop_keeps_the_address",
        snapshot(0, [healthy()], eips=[eip_on_eni()]).replace(static_eip=True),
        "stop_nat",
        (StopNat(AZ, NAT_ID),),
    ),
    (
        "static_idle_event_path_releases_nothing",
        snapshot(0, [nat("stopped", eip="198.51.100.1")]).replace(static_eip=True),
        "steady",
        (),
    ),
    (
        "static_idle_spot_keeps_the_address",
        snapshot(0, [healthy(spot=True)], eips=[eip_on_eni()]).replace(static_eip=True),
        "terminate_idle_spot_nat",
        (TerminateNat(AZ, NAT_ID, "idle_spot"),),
    ),
    # --- bring-your-own address ---------------------------------------------------
    (
        "byo_allocation_is_attached_on_scale_up",
        snapshot(1, [], eips=[user_eip()]).replace(user_allocation_id="eipalloc-9"),
        "create_nat",
        (CreateNat(AZ), AttachEip(AZ, "eipalloc-9")),
    ),
    (
        "byo_allocation_replaces_our_address_on_the_eni",
        snapshot(1, [healthy()], eips=[eip_on_eni(), user_eip()]).replace(user_allocation_id="eipalloc-9"),
        "release_extra_eips",
        (ReleaseEip(AZ, "eipalloc-1", "eipassoc-1"), AttachEip(AZ, "eipalloc-9")),
    ),
    (
        "byo_address_on_eni_is_kept_idle_even_when_ephemeral",
        snapshot(0, [nat("stopped")], eips=[user_eip(on_eni=True)]).replace(user_allocation_id="eipalloc-9"),
        "steady",
        (),
    ),
    (
        "user_address_no_longer_wanted_is_disassociated_never_released",
        snapshot(0, [nat("stopped")], eips=[user_eip(on_eni=True)]),
        "release_eip",
        (DisassociateEip(AZ, "eipalloc-9", "eipassoc-9"),),
    ),
    (
        "user_address_elsewhere_is_left_alone",
        snapshot(1, [healthy()], eips=[eip_on_eni(), user_eip()]),
        "steady",
        (),
    ),
]


@pytest.mark.parametrize("name,snap,verdict,actions", HEALTH_TABLE, ids=[row[0] for row in HEALTH_TABLE])
def test_issue_17_decision_table(name, snap, verdict, actions):
    decision = decide(snap)
    assert (decision.verdict, decision.actions) == (verdict, actions)


def test_a_hung_nat_is_found_within_two_minutes_and_one_lost_heartbeat_is_not_one():
    """Issue 17's target, and the heartbeat's budget: a report turns stale
    STALE_REPORT_S after the NAT hangs and the next health run, at most one
    period later, sees it; one lost beat must leave at least 10 s for the next
    one's CreateTags and for DescribeInstances to show its tag."""
    assert STALE_REPORT_S + HEALTH_RULE_PERIOD_S <= 120
    assert 2 * (HEARTBEAT_PERIOD_S + HEARTBEAT_LATE_S) + 10 <= STALE_REPORT_S


def test_no_action_ever_releases_a_users_address():
    for _, snap, _, _ in HEALTH_TABLE:
        users = {e.allocation_id for e in snap.eips or () if e.user_owned}
        released = {a.allocation_id for a in decide(snap).actions if isinstance(a, ReleaseEip)}
        assert not users & released


# --- drift repair and cross-AZ failover ------------------------------------------

PRIVATE_ENI = "eni-0bbbbbbbbbbbbbbbb"
OTHER_AZ_ENI = "eni-0cccccccccccccccc"
RTB = "rtb-0123456789abcdef0"


def swept(snap, route_eni=PRIVATE_ENI, present=True, **kw):
    """The snapshot as a sweep reads it: with the AZ's route table."""
    route = Route(RTB, route_eni if present else None, present)
    return snap.replace(private_eni_id=PRIVATE_ENI, routes=(route,), **kw)


def failing_over(snap, **kw):
    return swept(snap, failover=True, failover_eni_id=OTHER_AZ_ENI, **kw)


DRIFT_TABLE = [
    ("route_in_place_is_steady", swept(snapshot(1, [healthy()])), "steady", ()),
    (
        "deleted_route_is_created",
        swept(snapshot(1, [healthy()]), present=False),
        "repair_drift",
        (PointRoute(AZ, RTB, PRIVATE_ENI, False, "missing"),),
    ),
    (
        "route_pointed_elsewhere_is_replaced",
        swept(snapshot(1, [healthy()]), route_eni="eni-0ffffffffffffffff"),
        "repair_drift",
        (PointRoute(AZ, RTB, PRIVATE_ENI, True, "eni-0ffffffffffffffff"),),
    ),
    (
        "route_to_a_gateway_is_replaced",
        swept(snapshot(0), route_eni=None),
        "repair_drift",
        (PointRoute(AZ, RTB, PRIVATE_ENI, True, "another target"),),
    ),
    (
        "source_dest_check_turned_on_is_turned_off",
        swept(snapshot(1, [healthy()]), source_dest_checked=(PUBLIC_ENI,)),
        "repair_drift",
        (DisableSourceDestCheck(AZ, PUBLIC_ENI),),
    ),
    (
        "repairs_come_with_the_verdicts_actions",
        swept(snapshot(1, [nat("stopped", eip="198.51.100.1")]), present=False),
        "start_nat",
        (PointRoute(AZ, RTB, PRIVATE_ENI, False, "missing"), StartNat(AZ, NAT_ID)),
    ),
    # --- cross_az failover ------------------------------------------------------
    ("failover_healthy_nat_keeps_its_route", failing_over(snapshot(1, [healthy()])), "steady", ()),
    (
        "failover_moves_the_route_before_replacing_a_sick_nat",
        failing_over(snapshot(1, [healthy(status_problem="instance status impaired")])),
        "replace_unhealthy_nat",
        (
            PointRoute(AZ, RTB, OTHER_AZ_ENI, True, PRIVATE_ENI),
            TerminateNat(AZ, NAT_ID, "unhealthy: instance status impaired"),
        ),
    ),
    (
        "failover_route_stays_while_the_replacement_is_missing",
        failing_over(snapshot(1, [], eips=[eip_on_eni()]), route_eni=OTHER_AZ_ENI),
        "create_nat",
        (CreateNat(AZ),),
    ),
    (
        "failover_route_stays_while_the_replacement_boots",
        with_heartbeat(
            failing_over(
                snapshot(1, [healthy(dataplane="no report since launch", running_for_s=30.0)]), route_eni=OTHER_AZ_ENI
            )
        ),
        "steady",
        (),
    ),
    (
        "failover_route_is_restored_once_the_nat_forwards",
        with_heartbeat(failing_over(snapshot(1, [healthy(report_age_s=10.0)]), route_eni=OTHER_AZ_ENI)),
        "repair_drift",
        (PointRoute(AZ, RTB, PRIVATE_ENI, True, OTHER_AZ_ENI),),
    ),
    (
        "failover_without_a_healthy_target_keeps_the_own_eni",
        swept(snapshot(1, [healthy(status_problem="instance status impaired")]), route_eni=OTHER_AZ_ENI, failover=True),
        "replace_unhealthy_nat",
        (
            PointRoute(AZ, RTB, PRIVATE_ENI, True, OTHER_AZ_ENI),
            TerminateNat(AZ, NAT_ID, "unhealthy: instance status impaired"),
        ),
    ),
    (
        "failover_off_route_goes_home",
        swept(snapshot(1, []), route_eni=OTHER_AZ_ENI, failover_eni_id=OTHER_AZ_ENI),
        "create_nat",
        (PointRoute(AZ, RTB, PRIVATE_ENI, True, OTHER_AZ_ENI), CreateNat(AZ), AttachEip(AZ)),
    ),
    (
        "idle_az_whose_nat_carries_another_azs_traffic_is_not_stopped",
        swept(snapshot(0, [healthy()]), serves_other_azs=True),
        "steady",
        (),
    ),
]


@pytest.mark.parametrize("name,snap,verdict,actions", DRIFT_TABLE, ids=[row[0] for row in DRIFT_TABLE])
def test_drift_and_failover_decision_table(name, snap, verdict, actions):
    decision = decide(snap)
    assert (decision.verdict, decision.actions) == (verdict, actions)


def zone_look(az, private_eni, nats, route_eni, workloads=1):
    return Snapshot(
        az=az,
        config_version=VERSION,
        public_eni_id=f"eni-0pub{az[-1]}",
        private_eni_id=private_eni,
        workloads=tuple(Workload(f"i-0w{n:015d}", "running") for n in range(workloads)),
        nats=tuple(nats),
        routes=(Route(f"rtb-0{az[-1]}", route_eni),),
        failover=True,
    )


def test_failover_targets_only_a_nat_that_carries_traffic():
    sick = healthy(status_problem="system status impaired")
    a = zone_look("us-east-1a", "eni-0a", [sick], "eni-0a")
    b = zone_look("us-east-1b", "eni-0b", [healthy(instance_id="i-0nat00000000000b")], "eni-0b")
    c = zone_look("us-east-1c", "eni-0c", [nat("stopped")], "eni-0c")
    marked = {s.az: s for s in with_failover_targets([a, b, c])}
    assert marked["us-east-1a"].failover_eni_id == "eni-0b"
    assert marked["us-east-1b"].failover_eni_id is None  # a is sick, c is stopped
    assert marked["us-east-1c"].failover_eni_id == "eni-0b"
    assert [s.serves_other_azs for s in marked.values()] == [False, False, False]


def test_a_route_redirected_by_hand_keeps_no_nat_up_without_failover():
    a = zone_look("us-east-1a", "eni-0a", [], "eni-0b").replace(failover=False)
    b = zone_look("us-east-1b", "eni-0b", [healthy(instance_id="i-0nat00000000000b")], "eni-0b", workloads=0)
    marked = {s.az: s for s in with_failover_targets([a, b.replace(failover=False)])}
    assert not marked["us-east-1b"].serves_other_azs
    assert decide(marked["us-east-1b"]).verdict == "stop_nat"


def test_an_az_whose_eni_other_routes_use_knows_it():
    a = zone_look("us-east-1a", "eni-0a", [], "eni-0b")
    b = zone_look("us-east-1b", "eni-0b", [healthy(instance_id="i-0nat00000000000b")], "eni-0b", workloads=0)
    marked = {s.az: s for s in with_failover_targets([a, b])}
    assert marked["us-east-1b"].serves_other_azs and not marked["us-east-1a"].serves_other_azs
    assert decide(marked["us-east-1b"]).verdict == "steady"
