"""The molecule scenario's AWS: a moto server on 127.0.0.1 that outlives the
command starting it, a fixture VPC in it, and EventBridge's part (relaying EC2
state changes to the deployed reconciler, run in-process).

    emulator.py start STATE_FILE      server + fixture VPC; writes the role's inputs and the endpoint
    emulator.py workload STATE_FILE up|down
    emulator.py stop STATE_FILE       ends the server (nothing if it is gone already)

STATE_FILE is YAML in molecule's ephemeral directory, read by the playbooks
as vars_files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import yaml

REPO = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
NAME = "molecule"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
WORKLOAD_TAG = "nat-zero:molecule-workload"


def _sandbox(name: str):
    spec = importlib.util.spec_from_file_location(
        f"nat_zero_sandbox_{name}", REPO / "playbooks" / "sandbox" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_until_listening(endpoint: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start on {endpoint}") from None
            time.sleep(0.1)


def _disable_lambda_docker(endpoint: str) -> None:
    # Invocations are answered without running code; the relay runs the handler.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def start(state_file: Path) -> None:
    port = _sandbox("emulator").free_port()
    endpoint = f"http://127.0.0.1:{port}"
    binary = Path(sys.executable).with_name("moto_server")
    # The NAT instance role attaches AmazonSSMManagedInstanceCore, which moto
    # knows only when asked to load AWS-managed policies.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with open(os.devnull, "wb") as devnull:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=devnull,
            stderr=devnull,
            env=env,
            start_new_session=True,
        )
    _wait_until_listening(endpoint, process)
    _disable_lambda_docker(endpoint)
    ec2 = boto3.client(
        "ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    variables = _sandbox("create_vpc").create_vpc(ec2, NAME, ("us-east-1a",), 0)
    state = {"emulator_endpoint": endpoint, "emulator_pid": process.pid, **variables, "nat_zero_region": REGION}
    state_file.write_text("---\n" + yaml.safe_dump(state, sort_keys=False))


def stop(state_file: Path) -> None:
    if not state_file.exists():
        return
    pid = yaml.safe_load(state_file.read_text())["emulator_pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def workload(state_file: Path, direction: str) -> None:
    """Start (up) or stop (down) one workload in the first AZ, then deliver
    every state change that follows to the reconciler until EC2 settles."""
    state = yaml.safe_load(state_file.read_text())
    os.environ.update(CREDENTIALS)
    relay = _sandbox("relay").Relay(state["emulator_endpoint"], f"{state['nat_zero_name']}-nat-zero", REGION)
    ec2 = relay.ec2
    tagged = [{"Name": f"tag:{WORKLOAD_TAG}", "Values": ["true"]}]
    if direction == "up":
        template = ec2.describe_launch_templates(
            Filters=[{"Name": "tag:nat-zero:deployment", "Values": [state["nat_zero_name"]]}]
        )["LaunchTemplates"][0]
        image_id = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"]
        )["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
        ec2.run_instances(
            ImageId=image_id,
            InstanceType="t4g.nano",
            MinCount=1,
            MaxCount=1,
            SubnetId=state["nat_zero_private_subnets"][0],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": WORKLOAD_TAG, "Value": "true"}]}],
        )
    else:
        reservations = ec2.describe_instances(
            Filters=tagged + [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
        )["Reservations"]
        ec2.stop_instances(InstanceIds=[i["InstanceId"] for r in reservations for i in r["Instances"]])
    for summary in relay.pump():
        if "error" in summary:
            raise SystemExit(f"reconciler failed: {summary['error']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "workload"])
    parser.add_argument("state_file", type=Path)
    parser.add_argument("direction", nargs="?", choices=["up", "down"])
    args = parser.parse_args()
    if args.command == "start":
        start(args.state_file)
    elif args.command == "stop":
        stop(args.state_file)
    else:
        if not args.direction:
            parser.error("workload needs up or down")
        workload(args.state_file, args.direction)
    return 0


if __name__ == "__main__":
    sys.exit(main())
