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
import os
import sys
from pathlib import Path

import boto3
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from playbooks.sandbox import create_vpc, emulator, relay  # noqa: E402

REGION = "us-east-1"
NAME = "molecule"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
WORKLOAD_TAG = "nat-zero:molecule-workload"


def start(state_file: Path) -> None:
    endpoint, process = emulator.start_moto_server()
    ec2 = boto3.client(
        "ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    variables = create_vpc.create_vpc(ec2, NAME, ("us-east-1a",), 0)
    state = {"emulator_endpoint": endpoint, "emulator_pid": process.pid, **variables, "nat_zero_region": REGION}
    state_file.write_text("---\n" + yaml.safe_dump(state, sort_keys=False))


def stop(state_file: Path) -> None:
    if state_file.exists():
        emulator.stop_moto_server(yaml.safe_load(state_file.read_text())["emulator_pid"])


def workload(state_file: Path, direction: str) -> None:
    """Start (up) or stop (down) one workload in the first AZ, then deliver
    every state change that follows to the reconciler until EC2 settles."""
    state = yaml.safe_load(state_file.read_text())
    os.environ.update(CREDENTIALS)
    delivery = relay.Relay(state["emulator_endpoint"], f"{state['nat_zero_name']}-nat-zero", REGION)
    ec2 = delivery.ec2
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
    for summary in delivery.pump():
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
