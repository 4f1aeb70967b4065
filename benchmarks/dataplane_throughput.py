#!/usr/bin/env python3
"""NAT data plane cost: workload -> internet through the NAT namespace, against plain routing.

Builds copies of the test topology (tests/dataplane/netns_topology.py) in one
run: one whose middle namespace runs the real nat-bootstrap.sh ("NAT"), one
where it only forwards (no ruleset, no conntrack), one that forwards with
connection tracking and nothing else (the floor of any stateful router), and
one that tracks connections and masquerades and nothing else (the floor of any
NAT that translates addresses). Measures, alternating between them, from the
workload to the internet server:

- iperf3 TCP throughput, one stream and four parallel streams (-P 4);
- iperf3 UDP at a fixed offered rate: the rate received and the loss;
- new TCP connections per second, alone and with 1,000 other connections held
  open through the NAT (their conntrack entries in the table);

and prints the medians. Targets: every throughput at or above 0.95x plain
routing, new connections per second at or above 0.95x the conntrack-only floor.
A second table gives each variant's ratio to plain routing, so a missed target
shows where the cost goes: connection tracking, address translation, or the
NAT's own ruleset and settings. --diagnose adds two variants of the NAT with
one setting changed (reverse-path filtering off, conntrack's checksum
verification off).

Every process of a measurement (iperf3 client and server, the connection
scripts) is pinned to one CPU, and the forwarding runs in that CPU's softirq
(UDP's receiver excepted: at a fixed rate it gets the other CPU, so that its
losses are the path's and not a starved socket's):
unpinned, on a 2-vCPU VM, the same plain-routing run measured anywhere from 7
to 31 Gbit/s depending on where the scheduler put the two ends; pinned, rounds
stay within about 10 %. Many short interleaved rounds rather than one long one:
a busy machine then slows all variants alike instead of whichever happened to
run at the wrong moment.

    sudo .venv/bin/python benchmarks/dataplane_throughput.py [--rounds 12] [--seconds 2] [--diagnose]

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
    PRIVATE_IFACE,
    PUBLIC_IFACE,
    SERVER_IP,
    WORKLOAD_IP,
    Topology,
    namespaces_unavailable,
    wait_until,
)

TARGET_RATIO = 0.95
IPERF_PORT = 5201
CONNECT_PORT = 9000
HOLD_PORT = 8999
HELD_CONNECTIONS = 1000
PARALLEL_STREAMS = 4
UDP_OFFERED = "500M"  # iperf3 -b: a rate plain routing carries here with little loss
PINNED_CPU = 0
# UDP at a fixed rate: the receiver on the other CPU, or the sender's bursts
# starve it and its socket buffer drops what the NAT forwarded.
UDP_RECEIVER_CPU = 1
WARM_UP_SECONDS = 1  # iperf3 -O: left out of the figure (TCP slow start, first ARP)

PLAIN, CONNTRACK, MASQUERADE, NAT = "plain routing", "conntrack only", "masquerade only", "NAT"
RP_FILTER_OFF, CHECKSUM_OFF = "NAT, rp_filter off", "NAT, ct checksum off"

# The scripts pin themselves to the benchmark's CPU first (see the docstring).
PIN = f"import os; os.sched_setaffinity(0, {{{PINNED_CPU}}})\n"

# Keeps every connection it accepts open: the held flows' conntrack entries stay.
HOLDING_SERVER = (
    PIN
    + r"""
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen(4096)
held = []
while True:
    held.append(listener.accept()[0])
"""
)

# Accepts and closes at once: the server closes first, so TIME_WAIT piles up on
# the server, not on the client's ephemeral ports.
CLOSING_SERVER = (
    PIN
    + r"""
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen(4096)
while True:
    listener.accept()[0].close()
"""
)

CONNECTING_CLIENT = (
    PIN
    + r"""
import resource, socket, sys, time
host, port, seconds, hold, hold_port = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
held = [socket.create_connection((host, hold_port), timeout=5) for _ in range(hold)]
count, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    conn = socket.create_connection((host, port), timeout=2)
    conn.recv(1)
    conn.close()
    count += 1
print(count / (time.monotonic() - start))
"""
)


# The floor of any stateful router: routing with connection tracking and
# nothing else. Every new flow then costs a conntrack entry, as it does through
# the NAT.
CONNTRACK_ONLY_RULESET = """table ip conntrack_only {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t}
}
"""

# The floor of any NAT that translates addresses: conntrack plus one masquerade
# rule, no filtering. Every packet of a flow is then rewritten (address and
# checksums), which no ruleset can avoid without a flowtable fast path.
MASQUERADE_ONLY_RULESET = f"""table ip masquerade_only {{
\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t}}
\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "{PUBLIC_IFACE}" masquerade
\t}}
}}
"""

FLOOR_RULESETS = {CONNTRACK: CONNTRACK_ONLY_RULESET, MASQUERADE: MASQUERADE_ONLY_RULESET}

# One setting of the NAT changed, to see whether it is what costs.
NAT_SETTING_CHANGED = {
    RP_FILTER_OFF: [f"net.ipv4.conf.{dev}.rp_filter" for dev in ("all", "default", PUBLIC_IFACE, PRIVATE_IFACE)],
    CHECKSUM_OFF: ["net.netfilter.nf_conntrack_checksum"],
}
VARIANTS = (PLAIN, CONNTRACK, MASQUERADE, NAT)
DIAGNOSTIC_VARIANTS = tuple(NAT_SETTING_CHANGED)


def build(variant: str, state_dir: Path) -> Topology:
    topology = Topology().create()
    topology.set_sysctl(topology.workload, "net.ipv4.ip_local_port_range", "1024 65535")
    if variant == NAT or variant in NAT_SETTING_CHANGED:
        topology.bootstrap(state_dir=state_dir)
        for key in NAT_SETTING_CHANGED.get(variant, []):
            topology.set_sysctl(topology.nat, key, "0")
    else:
        topology.enable_plain_routing()
    if variant in FLOOR_RULESETS:
        ruleset = state_dir.parent / f"{variant.replace(' ', '-')}.nft"
        ruleset.write_text(FLOOR_RULESETS[variant])
        topology.exec(topology.nat, "nft", "-f", str(ruleset))
    topology.start(topology.internet, "iperf3", "-s", "-B", SERVER_IP, "-p", str(IPERF_PORT))
    topology.start(topology.internet, sys.executable, "-c", HOLDING_SERVER, SERVER_IP, str(HOLD_PORT))
    return topology


def wait_for_listener(topology: Topology, port: int) -> None:
    def listening() -> bool:
        found = topology.exec(topology.internet, "ss", "-Hltn", f"sport = :{port}", check=False)
        return bool(found.stdout.strip())

    wait_until(listening, timeout=10, what=f"listener on port {port}")


def iperf3(topology: Topology, seconds: int, *args: str, receiver_cpu: int = PINNED_CPU) -> dict:
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
        "-O",
        str(WARM_UP_SECONDS),
        "-A",
        f"{PINNED_CPU},{receiver_cpu}",
        "-J",
        *args,
        timeout=seconds + WARM_UP_SECONDS + 30,
    )
    return json.loads(done.stdout)["end"]


def tcp_throughput_gbps(topology: Topology, seconds: int, streams: int = 1) -> float:
    return iperf3(topology, seconds, "-P", str(streams))["sum_received"]["bits_per_second"] / 1e9


def udp_received(topology: Topology, seconds: int) -> tuple[float, float]:
    """Gbit/s received and % lost, at UDP_OFFERED."""
    received = iperf3(topology, seconds, "-u", "-b", UDP_OFFERED, receiver_cpu=UDP_RECEIVER_CPU)["sum_received"]
    return received["bits_per_second"] / 1e9, received["lost_percent"]


def connections_per_second(topology: Topology, port: int, seconds: float, hold: int = 0) -> float:
    topology.start(topology.internet, sys.executable, "-c", CLOSING_SERVER, SERVER_IP, str(port))
    wait_for_listener(topology, port)
    if hold:
        wait_for_listener(topology, HOLD_PORT)
    done = topology.exec(
        topology.workload,
        sys.executable,
        "-c",
        CONNECTING_CLIENT,
        SERVER_IP,
        str(port),
        str(seconds),
        str(hold),
        str(HOLD_PORT),
        timeout=seconds + 60,
    )
    return float(done.stdout)


def one_round(topology: Topology, round_number: int, seconds: int, connect_seconds: float) -> dict[str, float]:
    udp_gbps, udp_loss = udp_received(topology, seconds)
    port = CONNECT_PORT + 2 * round_number
    return {
        "throughput": tcp_throughput_gbps(topology, seconds),
        "parallel": tcp_throughput_gbps(topology, seconds, PARALLEL_STREAMS),
        "udp": udp_gbps,
        "udp_loss": udp_loss,
        "connections": connections_per_second(topology, port, connect_seconds),
        "connections_held": connections_per_second(topology, port + 1, connect_seconds, HELD_CONNECTIONS),
    }


def measure(
    variants: tuple[str, ...], rounds: int, seconds: int, connect_seconds: float
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {variant: {} for variant in variants}
    topologies: dict[str, Topology] = {}
    with tempfile.TemporaryDirectory(prefix="nat-zero-bench-") as scratch:
        try:
            for variant in variants:
                topologies[variant] = build(variant, Path(scratch) / "state")
            for round_number in range(rounds):
                # Alternate which variant goes first, so neither always runs warm.
                for variant in variants if round_number % 2 == 0 else variants[::-1]:
                    measured = one_round(topologies[variant], round_number, seconds, connect_seconds)
                    for key, value in measured.items():
                        results[variant].setdefault(key, []).append(value)
        finally:
            for topology in topologies.values():
                topology.destroy()
    return results


# (label, key, format, the variant the NAT is held against; None: shown, no target)
ROWS = (
    ("TCP 1 stream (Gbit/s)", "throughput", "{:.2f}", PLAIN),
    (f"TCP {PARALLEL_STREAMS} streams (Gbit/s)", "parallel", "{:.2f}", PLAIN),
    (f"UDP at {UDP_OFFERED}bit/s received (Gbit/s)", "udp", "{:.2f}", PLAIN),
    ("UDP loss (%)", "udp_loss", "{:.2f}", None),
    ("new connections/s", "connections", "{:.0f}", CONNTRACK),
    (f"new connections/s, {HELD_CONNECTIONS:,} held", "connections_held", "{:.0f}", CONNTRACK),
)


def ratio(results: dict[str, dict[str, list[float]]], key: str, variant: str, against: str) -> float:
    """The median of per-round ratios: the measurements of a round run back to
    back, so they share the machine's load."""
    return statistics.median(v / a for v, a in zip(results[variant][key], results[against][key]))


def table(results: dict[str, dict[str, list[float]]], rounds: int) -> str:
    """Medians per variant against the targets. NAT/conntrack compares the NAT
    with the floor of any stateful router, NAT/masquerade with the floor of any
    NAT that translates addresses."""
    lines = [
        f"NAT data plane vs plain routing (veth namespaces, CPU {PINNED_CPU} only, "
        f"{rounds} interleaved round(s), medians)",
        "| metric | plain routing | conntrack only | masquerade only | NAT "
        "| NAT/plain | NAT/conntrack | NAT/masquerade | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for label, key, fmt, against in ROWS:
        medians = " | ".join(fmt.format(statistics.median(results[v][key])) for v in VARIANTS)
        if against is None:
            lines.append(f"| {label} | {medians} | | | | |")
            continue
        ratios = {base: ratio(results, key, NAT, base) for base in VARIANTS if base != NAT}
        met = ratios[against] >= TARGET_RATIO
        verdicts.append(met)
        target = f">= {TARGET_RATIO}x {against}: {'met' if met else 'NOT met'}"
        lines.append(f"| {label} | {medians} | {' | '.join(f'{r:.2f}' for r in ratios.values())} | {target} |")
    lines.append(f"all targets: {'met' if all(verdicts) else 'NOT met'}")
    return "\n".join(lines)


def cost_table(results: dict[str, dict[str, list[float]]]) -> str:
    """Each variant against plain routing, row by row: where the NAT's cost goes.
    The spread is plain routing's own, the middle half of its rounds around
    their median: a ratio difference smaller than it is noise."""
    variants = [v for v in results if v != PLAIN]
    lines = [
        "Ratio to plain routing (median of per-round ratios)",
        f"| metric | {' | '.join(variants)} | plain routing's spread (p25-p75) |",
        "|---|" + "---|" * (len(variants) + 1),
    ]
    for label, key, _, against in ROWS:
        if against is None:
            continue
        ratios = " | ".join(f"{ratio(results, key, v, PLAIN):.2f}" for v in variants)
        plain = results[PLAIN][key]
        median = statistics.median(plain)
        low, _, high = statistics.quantiles(plain, n=4) if len(plain) > 1 else (median, median, median)
        lines.append(f"| {label} | {ratios} | {low / median - 1:+.0%} / {high / median - 1:+.0%} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=2, help="iperf3 duration per round, after its warm-up second")
    parser.add_argument("--connect-seconds", type=float, default=1.5, help="connection loop duration per round")
    parser.add_argument("--diagnose", action="store_true", help=f"add the variants {'; '.join(DIAGNOSTIC_VARIANTS)}")
    parser.add_argument("--quick", action="store_true", help="one short round, to prove the benchmark works")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.connect_seconds = 1, 1, 0.5

    reason = namespaces_unavailable() or (None if shutil.which("iperf3") else "iperf3 is not installed")
    if reason:
        print(f"cannot run the benchmark: {reason}", file=sys.stderr)
        return 2
    variants = VARIANTS + (DIAGNOSTIC_VARIANTS if args.diagnose else ())
    results = measure(variants, args.rounds, args.seconds, args.connect_seconds)
    print(table(results, args.rounds))
    print()
    print(cost_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
