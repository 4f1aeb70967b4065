#!/usr/bin/env python3
"""NAT data plane cost: workload -> internet through the NAT namespace, against plain routing.

Builds three copies of the test topology (tests/dataplane/netns_topology.py) in
one run: one whose middle namespace runs the real nat-bootstrap.sh, one where it
only forwards (no ruleset, no conntrack), and one that forwards with connection
tracking and nothing else, the floor of any stateful NAT. Measures, alternating
between them, iperf3 TCP throughput and new TCP connections per second from the
workload to the internet server, and prints the medians, NAT/plain (target:
>= 0.9x) and NAT/conntrack (what the ruleset itself costs).
Many short interleaved rounds rather than one long one: a busy machine then slows
both variants alike instead of whichever happened to run at the wrong moment.

    sudo .venv/bin/python benchmarks/dataplane_throughput.py [--rounds 7] [--seconds 2]

Needs root, iproute2, nftables and iperf3. Traffic stays inside the namespaces.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dataplane.netns_topology import (
    SERVER_IP,
    WORKLOAD_IP,
    Topology,
    namespaces_unavailable,
    wait_until,
)

TARGET_RATIO = 0.9
IPERF_PORT = 5201
CONNECT_PORT = 9000

# Accepts and closes at once: the server closes first, so TIME_WAIT piles up on
# the server, not on the client's ephemeral ports.
CLOSING_SERVER = r"""
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen(4096)
while True:
    listener.accept()[0].close()
"""

CONNECTING_CLIENT = r"""
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
count, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    conn = socket.create_connection((host, port), timeout=2)
    conn.recv(1)
    conn.close()
    count += 1
print(count / (time.monotonic() - start))
"""


# The floor of any stateful NAT: routing with connection tracking and nothing
# else. Every new flow then costs a conntrack entry, as it does through the NAT.
CONNTRACK_ONLY_RULESET = """table ip conntrack_only {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t}
}
"""


def build(variant: str, state_dir: Path) -> Topology:
    topology = Topology().create()
    topology.set_sysctl(topology.workload, "net.ipv4.ip_local_port_range", "1024 65535")
    if variant == "NAT":
        topology.bootstrap(state_dir=state_dir)
    else:
        topology.enable_plain_routing()
    if variant == "conntrack only":
        ruleset = state_dir.parent / "conntrack-only.nft"
        ruleset.write_text(CONNTRACK_ONLY_RULESET)
        topology.exec(topology.nat, "nft", "-f", str(ruleset))
    topology.start(topology.internet, "iperf3", "-s", "-B", SERVER_IP, "-p", str(IPERF_PORT))
    return topology


def wait_for_listener(topology: Topology, port: int) -> None:
    def listening() -> bool:
        found = topology.exec(topology.internet, "ss", "-Hltn", f"sport = :{port}", check=False)
        return bool(found.stdout.strip())

    wait_until(listening, timeout=10, what=f"listener on port {port}")


def tcp_throughput_gbps(topology: Topology, seconds: int) -> float:
    wait_for_listener(topology, IPERF_PORT)
    done = topology.exec(
        topology.workload,
        "iperf3",
        "-c",
        SERVER_IP,
        "-B",
        WORKLOAD_IP,
        "-p",
        str(IPERF_PORT),
        "-t",
        str(seconds),
        "-J",
        timeout=seconds + 30,
    )
    return json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9


def connections_per_second(topology: Topology, port: int, seconds: float) -> float:
    topology.start(topology.internet, sys.executable, "-c", CLOSING_SERVER, SERVER_IP, str(port))
    wait_for_listener(topology, port)
    done = topology.exec(
        topology.workload,
        sys.executable,
        "-c",
        CONNECTING_CLIENT,
        SERVER_IP,
        str(port),
        str(seconds),
        timeout=seconds + 30,
    )
    return float(done.stdout)


def measure(rounds: int, seconds: int, connect_seconds: float) -> dict[str, dict[str, list[float]]]:
    variants = ("plain routing", "conntrack only", "NAT")
    results = {variant: {"throughput": [], "connections": []} for variant in variants}
    topologies: dict[str, Topology] = {}
    with tempfile.TemporaryDirectory(prefix="nat-zero-bench-") as scratch:
        try:
            for variant in variants:
                topologies[variant] = build(variant, Path(scratch) / "state")
            for round_number in range(rounds):
                # Alternate which variant goes first, so neither always runs warm.
                for variant in variants if round_number % 2 == 0 else variants[::-1]:
                    topology = topologies[variant]
                    results[variant]["throughput"].append(tcp_throughput_gbps(topology, seconds))
                    results[variant]["connections"].append(
                        connections_per_second(topology, CONNECT_PORT + round_number, connect_seconds)
                    )
        finally:
            for topology in topologies.values():
                topology.destroy()
    return results


def table(results: dict[str, dict[str, list[float]]], rounds: int) -> str:
    """Medians per variant, and the medians of per-round ratios: the
    measurements of a round run back to back, so they share the machine's load.
    NAT/conntrack compares the NAT with its floor, routing that tracks
    connections and does nothing else."""
    rows = [
        ("TCP throughput (Gbit/s)", "throughput", "{:.2f}"),
        ("new connections per second", "connections", "{:.0f}"),
    ]
    lines = [
        f"NAT data plane vs plain routing (veth namespaces, {rounds} interleaved round(s), medians)",
        f"{'metric':<28}{'plain routing':>15}{'conntrack only':>16}{'NAT':>12}{'NAT/plain':>11}{'NAT/conntrack':>15}",
    ]
    verdicts = []
    for label, key, fmt in rows:
        plain, tracked, nat = (results[v][key] for v in ("plain routing", "conntrack only", "NAT"))
        ratio = statistics.median(n / p for n, p in zip(nat, plain))
        to_floor = statistics.median(n / t for n, t in zip(nat, tracked))
        verdicts.append(ratio >= TARGET_RATIO)
        lines.append(
            f"{label:<28}{fmt.format(statistics.median(plain)):>15}{fmt.format(statistics.median(tracked)):>16}"
            f"{fmt.format(statistics.median(nat)):>12}{ratio:>11.2f}{to_floor:>15.2f}"
        )
    lines.append(f"target NAT >= {TARGET_RATIO:.1f}x plain routing: {'met' if all(verdicts) else 'NOT met'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=2, help="iperf3 duration per round")
    parser.add_argument("--connect-seconds", type=float, default=1.5, help="connection loop duration per round")
    parser.add_argument("--quick", action="store_true", help="one short round, to prove the benchmark works")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.connect_seconds = 1, 1, 0.5

    reason = namespaces_unavailable() or (None if shutil.which("iperf3") else "iperf3 is not installed")
    if reason:
        print(f"cannot run the benchmark: {reason}", file=sys.stderr)
        return 2
    print(table(measure(args.rounds, args.seconds, args.connect_seconds), args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
