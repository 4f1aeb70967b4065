"""The benchmark runs and prints its table (a tiny quick mode, not a measurement)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.dataplane.netns_topology import REPO_ROOT, namespaces_unavailable

pytestmark = pytest.mark.dataplane

BENCHMARK = REPO_ROOT / "benchmarks" / "dataplane_throughput.py"


def test_benchmark_quick_mode_prints_every_column_and_its_target():
    reason = namespaces_unavailable() or (None if shutil.which("iperf3") else "iperf3 is not installed")
    if reason:
        pytest.skip(f"benchmark impossible here: {reason}")

    done = subprocess.run([sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "plain routing" in lines[1] and "NAT/plain" in lines[1] and "target" in lines[1]
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines[3:9]]
    assert rows == [
        "TCP 1 stream (Gbit/s)",
        "TCP 4 streams (Gbit/s)",
        "UDP at 500Mbit/s received (Gbit/s)",
        "UDP loss (%)",
        "new connections/s",
        "new connections/s, 1,000 held",
    ]
    assert ">= 0.95x plain routing:" in lines[3] and ">= 0.95x conntrack only:" in lines[8]
    assert lines[9].startswith("all targets:")


def test_bootstrap_benchmark_quick_mode_prints_both_arrangements():
    reason = namespaces_unavailable() or (None if shutil.which("curl") else "curl is not installed")
    if reason:
        pytest.skip(f"benchmark impossible here: {reason}")

    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bootstrap_time.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[3].startswith("| both ENIs at boot |") and lines[4].startswith("| private ENI 100 ms late |")
    # one token, the MAC list, each of the two MACs' device number
    assert lines[3].split(" | ")[3] == "4" and lines[4].split(" | ")[3] == "4"
