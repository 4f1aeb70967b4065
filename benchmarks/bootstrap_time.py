#!/usr/bin/env python3
"""Bootstrap to forwarding: the real nat-bootstrap.sh in a NAT namespace, timed.

Runs the script as nat-zero.service does on the instance (private CIDRs from
its environment file, both interfaces found through IMDS by device number,
IMDSv2 token first) against a local stand-in for the instance metadata service
(tests/dataplane/netns_topology.py FAKE_IMDS), and times from its first output
line to "NAT ready" (ruleset loaded, masquerade in place, forwarding on). Each
line is stamped by this process as it arrives on the script's stderr, which
bash writes unbuffered. The metadata lookups (HTTP requests to the stand-in)
are counted. Two arrangements:

- both ENIs attached at boot (a restart, or a launch that names both ENIs);
- the private ENI appearing LATE_MS after the script starts (hot-attached),
  which shows what the wait for the second interface adds.

The table also shows the whole process (namespace entry, bash start-up and the
script until it exits) as an upper bound. Between rounds the namespace goes
back to a bare router without forwarding.

    sudo .venv/bin/python benchmarks/bootstrap_time.py [--rounds 15]

Needs root, iproute2, nftables and curl. Nothing leaves the namespaces.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dataplane.netns_topology import (
    PRIVATE_IFACE,
    Topology,
    namespaces_unavailable,
    start_fake_imds,
)

TARGET_MS = 150.0
IMDS_PORT = 8169
LATE_MS = 100


def reset(topology: Topology, state_dir: Path) -> None:
    topology.exec(topology.nat, "nft", "delete", "table", "inet", "nat_zero", check=False)
    topology.set_sysctl(topology.nat, "net.ipv4.ip_forward", "0")
    shutil.rmtree(state_dir, ignore_errors=True)


def stamped_lines(stream, into: list) -> threading.Thread:
    def read():
        for line in stream:
            into.append((time.perf_counter(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def one_round(topology: Topology, state_dir: Path, imds_lines: list, late: bool) -> dict:
    reset(topology, state_dir)
    if late:
        topology.ip(topology.nat, "link", "set", PRIVATE_IFACE, "netns", topology.workload)
    lookups_before = len(imds_lines)
    spawned = time.perf_counter()
    script = topology.start_bootstrap(
        state_dir, NAT_PUBLIC_IFACE="", NAT_PRIVATE_IFACE="", NAT_IMDS_ENDPOINT=f"http://127.0.0.1:{IMDS_PORT}"
    )
    lines: list = []
    reader = stamped_lines(script.stderr, lines)
    if late:
        time.sleep(LATE_MS / 1000)
        topology.ip(topology.workload, "link", "set", PRIVATE_IFACE, "netns", topology.nat)
        topology.ip(topology.nat, "link", "set", PRIVATE_IFACE, "up")
    script.wait(timeout=60)
    exited = time.perf_counter()
    reader.join(timeout=5)
    if script.returncode != 0:
        raise RuntimeError("\n".join(text for _, text in lines))
    first = lines[0][0]
    ready = next(stamp for stamp, text in lines if "NAT ready" in text)
    forwarding = topology.sysctl(topology.nat, "net.ipv4.ip_forward") == ["1"]
    masquerade = "masquerade" in topology.exec(topology.nat, "nft", "list", "table", "inet", "nat_zero").stdout
    if not (forwarding and masquerade):
        raise RuntimeError("the script said ready but forwarding or masquerade is missing")
    time.sleep(0.05)  # the stand-in prints each request as it answers it
    return {
        "to_ready_ms": (ready - first) * 1000,
        "process_ms": (exited - spawned) * 1000,
        "lookups": sum(1 for _, line in imds_lines[lookups_before:] if line.startswith(("GET", "PUT"))),
    }


def measure(rounds: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {"both ENIs at boot": [], f"private ENI {LATE_MS} ms late": []}
    topology = Topology().create()
    try:
        imds = start_fake_imds(topology, IMDS_PORT)
        imds_lines: list = []
        stamped_lines(imds.stdout, imds_lines)
        with tempfile.TemporaryDirectory(prefix="nat-zero-boot-") as scratch:
            state_dir = Path(scratch) / "state"
            for _ in range(rounds):  # interleaved, so both see the same machine load
                for arrangement, runs in results.items():
                    runs.append(one_round(topology, state_dir, imds_lines, late="late" in arrangement))
    finally:
        topology.destroy()
    return results


def table(results: dict[str, list[dict]], rounds: int) -> str:
    lines = [
        f"Bootstrap to forwarding in network namespaces, local IMDS stand-in, median of {rounds}",
        "| arrangement | first line -> forwarding + masquerade ms | whole process ms | metadata requests | target |",
        "|---|---|---|---|---|",
    ]
    for arrangement, runs in results.items():
        ready = statistics.median(r["to_ready_ms"] for r in runs)
        process = statistics.median(r["process_ms"] for r in runs)
        lookups = max(r["lookups"] for r in runs)
        target = f"< {TARGET_MS:.0f} ms"
        if "late" in arrangement:
            verdict = f"{target} after the ENI: {'met' if ready - LATE_MS < TARGET_MS else 'NOT met'}"
        else:
            verdict = f"{target}: {'met' if ready < TARGET_MS else 'NOT met'}"
        lines.append(f"| {arrangement} | {ready:.0f} | {process:.0f} | {lookups} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="one round, to prove the benchmark works")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    reason = namespaces_unavailable() or (None if shutil.which("curl") else "curl is not installed")
    if reason:
        print(f"cannot run the benchmark: {reason}", file=sys.stderr)
        return 2
    print(table(measure(args.rounds), args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
