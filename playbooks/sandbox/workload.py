#!/usr/bin/env python3
"""Workloads for playing by hand in the sandbox (after `eval "$(make -s sandbox)"`).

    workload.py build/sandbox/play-vars.yml launch 0    # an instance in the private subnet of the first AZ; prints its ID
    workload.py build/sandbox/play-vars.yml stop i-...  # also: start, terminate
    workload.py build/sandbox/play-vars.yml status      # per AZ: the NAT, its state and Elastic IP

With --wait, it waits (up to --timeout seconds) for the reconciler, run by
the relay, to bring the workload's AZ where it should be: a running NAT with
its EIP after launch or start, no EIP and no running NAT after stop or
terminate (the AZ's only workload); then prints the AZ's line.

The AMI is any the emulator has; the subnet is the vars file's
nat_zero_private_subnets entry of that AZ. boto3 finds the emulator through
the environment `make sandbox` prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import boto3
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inventory import zone_status

WORKLOAD_TYPE = "t4g.micro"


def launch(ec2, variables: dict, az_index: int) -> str:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(
        ImageId=image,
        InstanceType=WORKLOAD_TYPE,
        MinCount=1,
        MaxCount=1,
        SubnetId=variables["nat_zero_private_subnets"][az_index],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"workload-{az_index}"}]}],
    )["Instances"][0]["InstanceId"]


def zone_line(zone: dict) -> str:
    nats = ", ".join(zone["nat_ids"]) or "-"
    return f"{zone['az']}: NAT {zone['nat']} ({nats}), EIP {zone['eip'] or 'none'}"


def print_status(ec2, variables: dict) -> None:
    for zone in zone_status(ec2, variables["nat_zero_name"], variables["nat_zero_availability_zones"]):
        print(zone_line(zone))


def nat_serving(zone: dict) -> bool:
    return zone["nat"] == "running" and zone["eip_associated"]


def nat_idle(zone: dict) -> bool:
    return zone["nat"] in ("stopped", "none") and zone["eip_count"] == 0


def wait_for(ec2, variables: dict, az: str, wanted, timeout: float) -> int:
    """Poll the AZ until wanted(zone); print its line. 0 when reached, 1 on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        zone = zone_status(ec2, variables["nat_zero_name"], [az])[0]
        if wanted(zone) or time.monotonic() > deadline:
            print(zone_line(zone), file=sys.stderr)
            return 0 if wanted(zone) else 1
        time.sleep(0.5)


def instance_az(ec2, instance_id: str) -> str:
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return reservation["Instances"][0]["Placement"]["AvailabilityZone"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vars_file", type=Path, help="the vars file playbooks/sandbox/vpc.yml wrote")
    parser.add_argument("action", choices=["launch", "stop", "start", "terminate", "status"])
    parser.add_argument(
        "target", nargs="?", help="launch: the AZ's index (0, 1, ...); stop/start/terminate: an instance ID"
    )
    parser.add_argument("--wait", action="store_true", help="wait until the AZ's NAT has followed (needs the relay)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits at most")
    args = parser.parse_args(argv)
    variables = yaml.safe_load(args.vars_file.read_text())
    ec2 = boto3.client("ec2")
    if args.action == "status":
        print_status(ec2, variables)
        return 0
    if args.action == "launch":
        instance_id = launch(ec2, variables, int(args.target or 0))
    elif not args.target:
        parser.error(f"{args.action} needs an instance ID")
    else:
        instance_id = args.target
        getattr(ec2, f"{args.action}_instances")(InstanceIds=[instance_id])
    print(instance_id)
    if not args.wait:
        return 0
    wanted = nat_serving if args.action in ("launch", "start") else nat_idle
    return wait_for(ec2, variables, instance_az(ec2, instance_id), wanted, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
