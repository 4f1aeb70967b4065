"""Cross-AZ failover, for real: while AZ a's NAT is broken, AZ a's route
table points at AZ b's NAT, and a workload of AZ a reaches the internet
masqueraded to NAT b's public address. NAT b accepts AZ a's traffic only
because its bootstrap is given every private CIDR of the deployment (the
role's user data names them all)."""

from __future__ import annotations

import pytest

from tests.dataplane.netns_topology import (
    FAILOVER_PRIVATE_CIDRS,
    NAT_A_ENI_IP,
    NAT_A_PUBLIC_IP,
    NAT_B_ENI_IP,
    NAT_B_PUBLIC_IP,
    WORKLOAD_IP,
    FailoverTopology,
    namespaces_unavailable,
    peer_seen_by_server,
    start_peer_server,
)

pytestmark = pytest.mark.dataplane

SERVER_IP = "203.0.113.80"
SERVER_PORT = 8080


@pytest.fixture
def failover(tmp_path):
    reason = namespaces_unavailable()
    if reason:
        pytest.skip(f"network namespaces impossible here: {reason}")
    built = FailoverTopology()
    try:
        yield built.create()
    finally:
        built.destroy()


def both_nats_forwarding(topology: FailoverTopology, tmp_path, nat_b_cidrs=FAILOVER_PRIVATE_CIDRS) -> None:
    for ns, state, cidrs in (
        (topology.nat_a, tmp_path / "a", FAILOVER_PRIVATE_CIDRS),
        (topology.nat_b, tmp_path / "b", nat_b_cidrs),
    ):
        done = topology.bootstrap_nat(ns, state, NAT_PRIVATE_CIDRS=",".join(cidrs))
        assert done.returncode == 0, done.stderr
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)


def seen_from_workload_a(topology: FailoverTopology) -> str:
    return peer_seen_by_server(topology, topology.workload, WORKLOAD_IP, SERVER_IP, SERVER_PORT)


def break_nat_a(topology: FailoverTopology) -> None:
    """By hand, as a game day would: forwarding off and the masquerade table gone."""
    topology.set_sysctl(topology.nat_a, "net.ipv4.ip_forward", "0")
    topology.exec(topology.nat_a, "nft", "delete", "table", "inet", "nat_zero")


def test_a_workload_of_az_a_goes_out_through_its_own_nat(failover, tmp_path):
    both_nats_forwarding(failover, tmp_path)

    assert seen_from_workload_a(failover) == NAT_A_PUBLIC_IP


def test_with_its_nat_broken_az_a_is_cut_off_until_the_route_moves(failover, tmp_path):
    both_nats_forwarding(failover, tmp_path)
    break_nat_a(failover)

    assert seen_from_workload_a(failover).startswith("error:")


def test_after_failover_az_a_reaches_the_internet_through_nat_b_as_its_address(failover, tmp_path):
    both_nats_forwarding(failover, tmp_path)
    break_nat_a(failover)

    failover.route_private_subnet_to(NAT_B_ENI_IP)

    assert seen_from_workload_a(failover) == NAT_B_PUBLIC_IP


def test_once_nat_a_is_healthy_again_the_restored_route_uses_it(failover, tmp_path):
    both_nats_forwarding(failover, tmp_path)
    break_nat_a(failover)
    failover.route_private_subnet_to(NAT_B_ENI_IP)
    assert failover.bootstrap_nat(failover.nat_a, tmp_path / "a", "--check-and-repair").returncode == 0

    failover.route_private_subnet_to(NAT_A_ENI_IP)

    assert seen_from_workload_a(failover) == NAT_A_PUBLIC_IP


def test_a_nat_that_accepts_only_its_own_azs_cidr_drops_failover_traffic(failover, tmp_path):
    both_nats_forwarding(failover, tmp_path, nat_b_cidrs=FAILOVER_PRIVATE_CIDRS[1:])
    break_nat_a(failover)

    failover.route_private_subnet_to(NAT_B_ENI_IP)

    assert seen_from_workload_a(failover).startswith("error:")
