"""The benchmark runs and prints its table (a tiny quick mode, not a measurement)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.dataplane.netns_topology import REPO_ROOT, namespaces_unavailable

pytestmark = pytest.mark.dataplane

BENCHMARK = REPO_ROOT / "benchmarks" / "dataplane_throughput.py"


def test_benchmark_quick_mode_prints_both_variants_and_the_ratio():
    reason = namespaces_unavailable() or (None if shutil.which("iperf3") else "iperf3 is not installed")
    if reason:
        pytest.skip(f"benchmark impossible here: {reason}")

    done = subprocess.run([sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "plain routing" in lines[1] and "NAT/plain" in lines[1]
    assert lines[2].startswith("TCP throughput (Gbit/s)")
    assert lines[3].startswith("new connections per second")
    assert lines[4].startswith("target NAT >= 0.9x plain routing:")
