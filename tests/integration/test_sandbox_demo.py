"""The sandbox as a new user meets it: `make demo` and the README's by-hand
block, run literally from a fresh copy of the checkout, in a shell whose AWS
environment points everywhere but the emulator."""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
import pytest
import yaml

from playbooks.sandbox.emulator import SANDBOX_REGION, sandbox_environment
from tests.support.readme import clean_environment, readme_block, run_block, stop_leftover_sandbox, user_checkout

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers


def hostile_environment(directory: Path) -> dict[str, str]:
    """Each variable a user's shell may have that would send boto3 (and so
    the playbooks, the relay, the reconciler) somewhere other than the emulator;
    the config and credentials files it names are written to directory."""
    (directory / "aws-config").write_text(
        "[default]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9\n"
        "[profile work]\nregion = sa-east-1\ncredential_process = /bin/false\n"
    )
    (directory / "aws-credentials").write_text(
        "[default]\naws_access_key_id = AKIAUSERUSERUSERUSER\naws_secret_access_key = user\n"
    )
    return hostile_variables(directory)


def hostile_variables(directory: Path) -> dict[str, str]:
    config, credentials = directory / "aws-config", directory / "aws-credentials"
    return {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "ap-southeast-2",
        "AWS_PROFILE": "work",
        "AWS_DEFAULT_PROFILE": "work",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_ACCESS_KEY_ID": "AKIAUSERUSERUSERUSER",
        "AWS_SECRET_ACCESS_KEY": "user",
        "AWS_SESSION_TOKEN": "user-session",
        "AWS_ENDPOINT_URL": NOWHERE,
        "AWS_ENDPOINT_URL_EC2": NOWHERE,
        "AWS_ENDPOINT_URL_LAMBDA": NOWHERE,
        "AWS_ENDPOINT_URL_IAM": NOWHERE,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_CA_BUNDLE": str(directory / "no-such-bundle.pem"),
        "EC2_REGION": "eu-central-1",
        "HTTP_PROXY": NOWHERE,
        "http_proxy": NOWHERE,
    }


@pytest.mark.parametrize("variable", sorted(hostile_variables(Path("/tmp"))))
def test_each_user_variable_is_replaced_for_the_sandbox(variable, tmp_path, monkeypatch):
    hostile = hostile_environment(tmp_path)
    endpoint = "http://127.0.0.1:4566"
    env = sandbox_environment(endpoint, base={"PATH": "/usr/bin", variable: hostile[variable]})
    monkeypatch.setattr(os, "environ", env)

    # What boto3 makes of it, as every module, the relay and the reconciler would.
    session = boto3.session.Session()
    client = session.client("ec2")
    credentials = session.get_credentials().get_frozen_credentials()

    assert (client.meta.region_name, client.meta.endpoint_url) == (SANDBOX_REGION, endpoint)
    assert (credentials.access_key, credentials.token) == ("testing", None)
    assert env.get(variable) in (None, sandbox_environment(endpoint, base={}).get(variable))


def _demo_steps(report: dict) -> dict[str, dict]:
    return {row["step"].split(":")[0]: row for row in report["steps"]}


@pytest.mark.integration
def test_make_demo_as_written_tells_the_story_despite_a_hostile_aws_environment(tmp_path):
    # A fresh clone: `make demo` installs its own, lighter, .venv.
    checkout = user_checkout(tmp_path / "checkout", share_venv=False)
    env = clean_environment(tmp_path, **hostile_environment(tmp_path))
    stale = checkout / "build" / "sandbox" / "report.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"ok": true, "stale": true}')  # an interrupted run's report

    make_demo = readme_block("two-commands").splitlines()[0]
    assert make_demo.startswith("make demo")
    output = run_block(make_demo, cwd=checkout, env=env).assert_ok().output
    report = json.loads(stale.read_text())
    assert report["ok"] is True and "stale" not in report
    assert [row["ok"] for row in report["steps"]] == [True] * 15
    steps = _demo_steps(report)

    def zone(step, index):
        return steps[step]["zones"][index]

    first, both = "Launch a workload in us-east-1a", "Launch a workload in us-east-1b"
    assert zone(first, 0)["nat"] == "running" and zone(first, 0)["eip_associated"]
    assert zone(first, 1)["nat"] == "none" and zone(first, 1)["eip_associated"] is False
    assert zone(both, 0)["eip"] != zone(both, 1)["eip"]
    _assert_the_crashed_nat_recovers(steps, both)
    stop, start = "Stop the workload in us-east-1a", "Start the workload in us-east-1a again"
    assert zone(stop, 0)["nat"] == "stopped" and zone(stop, 0)["eip_count"] == 0
    # The restart: the very NAT that was stopped runs again, with an EIP.
    assert zone(start, 0)["nat"] == "running" and zone(start, 0)["nat_ids"] == zone(stop, 0)["nat_ids"]
    last = "Terminate the workload in us-east-1b"
    assert [zone(last, i)["eip_count"] for i in (0, 1)] == [0, 0]
    task_up, task_down = "Run a Fargate task in us-east-1a", "Stop the Fargate task in us-east-1a"
    assert zone(task_up, 0)["nat"] == "running" and zone(task_up, 0)["nat_ids"] == zone(start, 0)["nat_ids"]
    assert zone(task_down, 0)["nat"] == "stopped" and zone(task_down, 0)["eip_count"] == 0
    assert all(steps[s]["reconciler_aws_calls"] > 0 for s in (first, both, stop, start, last, task_up, task_down))
    assert [zone("Tear down with playbooks/teardown.yml", i)["nat"] for i in (0, 1)] == ["none", "none"]

    # The story as printed: each step announced before its tasks, no skipped
    # task, instance IDs, the emulator's addresses marked, step names whole.
    assert output.index("==> Deploy with playbooks/site.yml") < output.index(". Reconciler function: changed")
    assert "skipping" not in output
    assert re.search(r"us-east-1a: NAT running \(i-[0-9a-f]+\), EIP [\d.]+ \(emulated\)", output)
    assert "reconciler AWS calls" in output
    assert "Start the workload in us-east-1a again: the same NAT restarts" in output
    for name in (
        "vpc.log",
        "site.log",
        "teardown.log",
        "reconciler.log",
        "demo-vars.yml",
        "report.json",
        "timeline.svg",
    ):
        assert str(checkout / "build" / "sandbox" / name) in output
    # The picture: an SVG document with the NAT of us-east-1a running after the first launch.
    picture = ET.parse(checkout / "build" / "sandbox" / "timeline.svg").getroot()
    assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [t.text for t in picture.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith(first) and t.endswith(": running") for t in titles), titles
    crash = next(row for row in report["steps"] if row["step"].startswith("Crash the NAT in us-east-1a"))
    assert f"fault: {crash['fault']}" in titles
    assert f"{crash['step']}: via 1b" in titles
    assert "All steps did what they should." in output

    # The demo's install is the light one (requirements-demo.txt), not the test tools.
    assert "Installing the demo's packages" in output
    venv_bin = checkout / ".venv" / "bin"
    assert (venv_bin / "moto_server").exists() and (venv_bin / "ansible-playbook").exists()
    assert not (venv_bin / "pytest").exists() and not (venv_bin / "ansible-lint").exists()


def _assert_the_crashed_nat_recovers(steps: dict[str, dict], both_launched: str):
    """The failure scene, from the emulator's state after each step: us-east-1a's
    route on its own private ENI, then on us-east-1b's while its NAT is gone and
    replaced, then back; the replacement a new instance on the same ENIs with
    the same EIP."""
    healthy = next(step for step in steps if step.startswith("Both NATs run"))  # its minutes: REPLACEMENT_BACKOFF_S
    crashed = "Crash the NAT in us-east-1a by hand"
    replaced, restored = "EC2 reports it terminated", "The next health run finds the new NAT forwarding"
    a, b = (steps[healthy]["zones"][index] for index in (0, 1))
    own_a, own_b = a["private_eni"], b["private_eni"]
    assert own_a != own_b and a["nat_ids"] == steps[both_launched]["zones"][0]["nat_ids"]
    assert [a["route_target"], b["route_target"]] == [own_a, own_b]
    assert set(a["nat_enis"]) >= {own_a} and len(a["nat_enis"]) == 2

    # Detected and traffic moved: the crashed NAT is gone, us-east-1a goes through us-east-1b's NAT.
    during = steps[crashed]["zones"][0]
    assert steps[crashed]["fault"] == "NAT in us-east-1a crashed by hand"
    assert a["nat_ids"][0] not in during["nat_ids"] and during["route_target"] == own_b
    assert steps[crashed]["zones"][1]["nat_ids"] == b["nat_ids"]

    # Replaced on the same ENIs, same EIP; the route still on us-east-1b until the next health run.
    new = steps[replaced]["zones"][0]
    assert new["nat"] == "running" and len(new["nat_ids"]) == 1 and new["nat_ids"] != a["nat_ids"]
    assert new["nat_enis"] == a["nat_enis"] and new["eip"] == a["eip"] and new["eip_associated"]
    assert new["route_target"] == own_b

    after = steps[restored]["zones"][0]
    assert after["nat_ids"] == new["nat_ids"] and after["eip"] == a["eip"]
    assert [after["route_target"], steps[restored]["zones"][1]["route_target"]] == [own_a, own_b]
    assert all(steps[s]["reconciler_aws_calls"] > 0 for s in (healthy, crashed, replaced, restored))


@pytest.mark.integration
def test_the_readme_by_hand_block_runs_as_written(tmp_path):
    checkout = user_checkout(tmp_path / "checkout")
    env = clean_environment(tmp_path, **hostile_environment(tmp_path))
    try:
        output = run_block(readme_block("by-hand"), cwd=checkout, env=env).assert_ok().output
    finally:
        stop_leftover_sandbox(checkout)

    assert not (checkout / "build" / "sandbox" / "emulator.json").exists()
    assert "relay: http://127.0.0.1:" in output and "-> play-nat-zero (us-east-1)" in output
    # workload.py --wait lines: NAT up, down, the same NAT up again, down.
    waits = re.findall(r"^us-east-1a: NAT (\w+) \(([^)]*)\), EIP (\S+)$", output, re.M)
    assert [(state, eip != "none") for state, _, eip in waits[:4]] == [
        ("running", True),
        ("stopped", False),
        ("running", True),
        ("stopped", False),
    ], output[-4000:]
    assert waits[0][1] == waits[2][1]  # restarted, not replaced
    # The relay's human lines: one per decision.
    assert re.search(r"^us-east-1a: \w+: create_nat -> launched i-[0-9a-f]+", output, re.M), output[-4000:]
    assert output.count("failed=0") == 3  # vpc.yml, site.yml, teardown.yml


@pytest.mark.integration
def test_relay_names_a_function_that_does_not_exist_without_a_traceback(moto_endpoint, tmp_path):
    env = clean_environment(tmp_path, **sandbox_environment(moto_endpoint, base={}))
    relay = str(REPO / "playbooks" / "sandbox" / "relay.py")

    completed = run_block(f"{sys.executable} {relay} --function nope-nat-zero --duration 1", cwd=tmp_path, env=env)

    assert completed.returncode == 2, completed.output
    assert f"relay: no function nope-nat-zero in us-east-1 at {moto_endpoint}. Deploy first" in completed.output
    assert "Traceback" not in completed.output


@pytest.mark.integration
def test_vpc_playbook_keeps_a_vars_file_whose_vpc_exists_and_replaces_one_whose_vpc_is_gone(
    run_playbook, aws, tmp_path
):
    vars_file = tmp_path / "restart-vars.yml"
    # What an emulator restart leaves: a vars file naming a VPC nobody has.
    vars_file.write_text(yaml.safe_dump({"nat_zero_name": "restart", "nat_zero_vpc_id": "vpc-0123456789abcdef0"}))
    sandbox = {"sandbox_name": "restart", "sandbox_vars_file": str(vars_file)}

    first = run_playbook("sandbox/vpc.yml", sandbox).assert_ok()
    created = yaml.safe_load(vars_file.read_text())
    second = run_playbook("sandbox/vpc.yml", sandbox).assert_ok()

    assert first.recap["changed"] == 1 and created["nat_zero_vpc_id"] != "vpc-0123456789abcdef0"
    assert aws("ec2").describe_vpcs(VpcIds=[created["nat_zero_vpc_id"]])["Vpcs"]
    assert second.recap["changed"] == 0 and yaml.safe_load(vars_file.read_text()) == created


def test_relay_prints_one_human_line_per_decision_and_json_with_the_json_flag(monkeypatch, capsys):
    from playbooks.sandbox.relay import Relay

    summary = {
        "trigger": {"kind": "state_change", "instance_id": "i-0123456789abcdef0", "state": "pending"},
        "zones": [
            {
                "az": "us-east-1a",
                "verdict": "workloads_without_nat",
                "outcomes": [{"action": "create_nat", "result": "done", "instance_id": "i-0fedcba9876543210"}],
            }
        ],
        "aws_calls": {"by_operation": {"DescribeInstances": 2, "RunInstances": 1}},
    }
    relay = Relay.__new__(Relay)  # no emulator: only the printing is under test
    monkeypatch.setattr(relay, "pump", lambda: [summary], raising=False)
    monkeypatch.setattr("playbooks.sandbox.relay.time.sleep", lambda seconds: None)

    def one_round(as_json):
        # The clock: start, first round (no sweep due), then past the duration.
        ticks = iter([0.0, 0.0, 0.0, 10.0])
        monkeypatch.setattr("playbooks.sandbox.relay.time.monotonic", lambda: next(ticks))
        relay.run(interval=0, sweep_every=3600, duration=5, as_json=as_json)
        return capsys.readouterr().out

    human, as_json = one_round(False), one_round(True)

    assert human.splitlines() == [
        "us-east-1a: workloads_without_nat: create_nat -> launched i-0fedcba9876543210   [i-0123456789abcdef0 pending]"
    ]
    assert [json.loads(line) for line in as_json.splitlines()] == [
        {
            "trigger": summary["trigger"],
            "zones": [{"az": "us-east-1a", "verdict": "workloads_without_nat"}],
            "aws_calls": {"DescribeInstances": 2, "RunInstances": 1},
        }
    ]
