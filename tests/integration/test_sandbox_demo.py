"""`make demo` end to end: the sandbox command's outcome, not just its exit code."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_demo_runs_the_whole_story_and_leaves_nothing(tmp_path, collection_link):
    completed = subprocess.run(
        [sys.executable, "playbooks/sandbox/demo.py", "--name", "cidemo", "--work-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert report["ok"] is True
    steps = {row["step"].split(" (")[0]: row for row in report["steps"]}
    assert [row["ok"] for row in report["steps"]] == [True] * 7

    def zone(step, index):
        return steps[step]["zones"][index]

    first = "Launch a workload in us-east-1a"
    assert zone(first, 0)["nat"] == "running" and zone(first, 0)["eip_count"] == 1 and zone(first, 0)["eip_associated"]
    assert zone(first, 1)["nat"] == "none" and zone(first, 1)["eip_count"] == 0
    both = "Launch a workload in us-east-1b"
    assert [zone(both, i)["nat"] for i in (0, 1)] == ["running", "running"]
    assert zone(both, 0)["eip"] != zone(both, 1)["eip"]
    down = "Terminate the workload in us-east-1a"
    assert zone(down, 0)["nat"] == "stopped" and zone(down, 0)["eip_count"] == 0
    assert zone(down, 1)["nat"] == "running"
    last = "Terminate the workload in us-east-1b"
    assert [zone(last, i)["eip_count"] for i in (0, 1)] == [0, 0]
    assert all(steps[s]["aws_calls"] > 0 for s in (first, both, down, last))  # the reconciler did the work
    teardown = "Tear down with playbooks/teardown.yml"
    assert [zone(teardown, i)["nat"] for i in (0, 1)] == ["none", "none"]
    assert (
        report["costs"]["nat_zero"]["idle"]
        < report["costs"]["always_on_nat_instance"]["idle"]
        < report["costs"]["nat_gateway"]["idle"]
    )
    assert "All steps did what they should." in completed.stdout
    assert "Timeline" in completed.stdout and "Cost per AZ per month" in completed.stdout
