"""The decision table, row by row, as a table."""

import pytest

from nat_zero.decision import (
    AttachEip,
    CreateNat,
    Eip,
    FailedLaunch,
    Nat,
    ReleaseEip,
    Snapshot,
    StartNat,
    StopNat,
    TerminateNat,
    Workload,
    decide,
    freshest_state,
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
