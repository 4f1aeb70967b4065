"""The real nat-bootstrap.sh, run inside a NAT namespace between a workload and an 'internet'."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from tests.dataplane.netns_topology import (
    NAT_PUBLIC_IP,
    OUTSIDE_WORKLOAD_IP,
    PRIVATE_CIDR,
    PRIVATE_IFACE,
    PUBLIC_IFACE,
    SERVER_IP,
    WORKLOAD_IP,
    peer_seen_by_server,
    start_fake_imds,
    start_peer_server,
)

pytestmark = pytest.mark.dataplane

SERVER_PORT = 8080
WORKLOAD_PORT = 8081
NAT_PORT = 8082


def nat_table(topology) -> str:
    return topology.exec(topology.nat, "nft", "list", "table", "inet", "nat_zero").stdout


def sysctl(topology, key: str) -> list[str]:
    return topology.sysctl(topology.nat, key)


def test_workload_reaches_internet_server_as_nat_public_address(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)

    seen = peer_seen_by_server(topology, topology.workload, WORKLOAD_IP, SERVER_IP, SERVER_PORT)

    assert seen == NAT_PUBLIC_IP


def test_new_connection_from_internet_to_workload_fails(topology, state_dir):
    start_peer_server(topology, topology.workload, "0.0.0.0", WORKLOAD_PORT)
    topology.enable_plain_routing()
    assert peer_seen_by_server(topology, topology.internet, SERVER_IP, WORKLOAD_IP, WORKLOAD_PORT) == SERVER_IP

    topology.bootstrap(state_dir=state_dir)

    seen = peer_seen_by_server(topology, topology.internet, SERVER_IP, WORKLOAD_IP, WORKLOAD_PORT)
    assert seen.startswith("error:")


def test_new_connection_from_internet_to_nat_fails(topology, state_dir):
    start_peer_server(topology, topology.nat, "0.0.0.0", NAT_PORT)
    assert peer_seen_by_server(topology, topology.internet, SERVER_IP, NAT_PUBLIC_IP, NAT_PORT) == SERVER_IP

    topology.bootstrap(state_dir=state_dir)

    seen = peer_seen_by_server(topology, topology.internet, SERVER_IP, NAT_PUBLIC_IP, NAT_PORT)
    assert seen.startswith("error:")


def test_workload_outside_private_cidrs_is_not_masqueraded(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)

    seen = peer_seen_by_server(topology, topology.workload, OUTSIDE_WORKLOAD_IP, SERVER_IP, SERVER_PORT)

    assert seen != NAT_PUBLIC_IP
    assert f'oifname "{PUBLIC_IFACE}" ip saddr @private_cidrs masquerade' in nat_table(topology)


def test_idle_connection_past_conntrack_timeout_gets_reset_not_hang(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    assert sysctl(topology, "net.netfilter.nf_conntrack_tcp_timeout_established") == ["350"]
    # The same behaviour as at 350 s, without waiting 350 s.
    topology.set_sysctl(topology.nat, "net.netfilter.nf_conntrack_tcp_timeout_established", "1")
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)
    client = r"""
import socket, sys, time
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
conn.recv(100)
time.sleep(2.5)
try:
    conn.sendall(b"still there?\n")
    print("answer", conn.recv(100))
except OSError as error:
    print(type(error).__name__)
"""

    done = topology.exec(topology.workload, sys.executable, "-c", client, SERVER_IP, str(SERVER_PORT), timeout=15)

    assert done.stdout.strip() == "ConnectionResetError"


def test_sysctls_for_a_nat_are_set(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)

    assert sysctl(topology, "net.ipv4.ip_forward") == ["1"]
    for dev in ("all", "default", PUBLIC_IFACE, PRIVATE_IFACE):
        assert sysctl(topology, f"net.ipv4.conf.{dev}.rp_filter") == ["2"], dev
    assert sysctl(topology, "net.ipv4.ip_local_port_range") == ["1024", "65535"]


def test_running_twice_leaves_one_identical_ruleset(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    first = topology.ruleset()

    topology.bootstrap(state_dir=state_dir)

    assert topology.ruleset() == first
    assert first.count("table inet nat_zero") == 1


def test_other_tables_are_left_alone(topology, state_dir):
    topology.exec(topology.nat, "nft", "add table ip someone_else")
    topology.exec(topology.nat, "nft", "add chain ip someone_else keep")

    topology.bootstrap(state_dir=state_dir)
    topology.bootstrap(state_dir=state_dir)

    assert "chain keep" in topology.exec(topology.nat, "nft", "list", "table", "ip", "someone_else").stdout


def test_guard_repairs_flushed_ruleset_in_one_run(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    applied = topology.ruleset()
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)
    topology.exec(topology.nat, "nft", "flush", "ruleset")

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir)

    assert "guard: drift: ruleset differs" in guard.stderr
    assert "guard: repaired" in guard.stderr
    assert topology.ruleset() == applied
    assert peer_seen_by_server(topology, topology.workload, WORKLOAD_IP, SERVER_IP, SERVER_PORT) == NAT_PUBLIC_IP


def test_guard_repairs_disabled_forwarding(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    topology.set_sysctl(topology.nat, "net.ipv4.ip_forward", "0")

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir)

    assert "guard: drift: net/ipv4/ip_forward=0, want 1" in guard.stderr
    assert sysctl(topology, "net.ipv4.ip_forward") == ["1"]


def test_guard_without_drift_is_silent_and_changes_nothing(topology, state_dir):
    topology.bootstrap(state_dir=state_dir)
    applied = topology.exec(topology.nat, "nft", "-a", "list", "ruleset").stdout

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir)

    assert guard.stderr == ""
    assert topology.exec(topology.nat, "nft", "-a", "list", "ruleset").stdout == applied


def test_guard_applies_when_the_boot_run_never_succeeded(topology, state_dir):
    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir)

    assert "guard: repaired" in guard.stderr
    assert "table inet nat_zero" in topology.ruleset()


def test_missing_interface_exits_nonzero_naming_the_step(topology, state_dir):
    done = topology.bootstrap(
        state_dir=state_dir, check=False, NAT_PRIVATE_IFACE="eni1missing", NAT_IFACE_WAIT_SECONDS="1"
    )

    assert done.returncode != 0
    assert "FAILED in step 'find interfaces'" in done.stderr
    assert "'eni1missing'" in done.stderr
    assert "nat_zero" not in topology.ruleset()
    assert sysctl(topology, "net.ipv4.ip_forward") == ["0"]


def test_malformed_private_cidr_exits_nonzero_naming_the_step(topology, state_dir):
    done = topology.bootstrap(state_dir=state_dir, check=False, NAT_PRIVATE_CIDRS=f"{PRIVATE_CIDR},10.0.0/8")

    assert done.returncode != 0
    assert "FAILED in step 'find private CIDRs': not an IPv4 CIDR: '10.0.0/8'" in done.stderr
    assert "nat_zero" not in topology.ruleset()


def test_imds_discovery_waits_for_the_second_eni(topology, state_dir):
    """No overrides: device numbers come from IMDS; the private ENI shows up late."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (the script asks IMDS with curl; apt-get install curl)")
    start_fake_imds(topology, 8169)
    topology.ip(topology.nat, "link", "set", PRIVATE_IFACE, "netns", topology.workload)
    bootstrap = topology.start_bootstrap(
        state_dir,
        NAT_PUBLIC_IFACE="",
        NAT_PRIVATE_IFACE="",
        NAT_PRIVATE_CIDRS="",
        NAT_IMDS_ENDPOINT="http://127.0.0.1:8169",
        NAT_IFACE_WAIT_SECONDS="20",
    )
    time.sleep(2)
    assert bootstrap.poll() is None, "the script must wait for the private ENI, not fail or guess"
    topology.ip(topology.workload, "link", "set", PRIVATE_IFACE, "netns", topology.nat)

    _, stderr = bootstrap.communicate(timeout=25)

    assert bootstrap.returncode == 0, stderr
    assert "public=pub0 private=priv0" in stderr
    table = nat_table(topology)
    assert 'oifname "pub0" ip saddr @private_cidrs masquerade' in table
    assert "elements = { 10.77.1.0/24 }" in table


def test_no_overrides_and_no_imds_exits_nonzero_instead_of_guessing(topology, state_dir):
    done = topology.bootstrap(
        state_dir=state_dir, check=False, NAT_PUBLIC_IFACE="", NAT_PRIVATE_IFACE="", NAT_IFACE_WAIT_SECONDS="1"
    )

    assert done.returncode != 0
    assert "FAILED in step 'find interfaces': no interface with device index 0" in done.stderr
    assert "nat_zero" not in topology.ruleset()
