"""The NAT's guard, played by the sandbox.

On AWS every NAT runs nat-bootstrap.sh's guard once a minute: it finds
nothing wrong and tags its own instance `nat-zero:dataplane` = "forwarding
<UTC time>", the heartbeat the reconciler's health run reads. The emulator
runs no NAT operating system, so the demo writes that same tag, with the same
value, for every running NAT of the deployment before each reconciler run
(no emulated time passes between them, so the report is never older than the
guard's period). A NAT someone crashed by hand is left out: its heartbeat
stops, as a hung NAT's would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

# lambda_src/ is on the path (demo.py puts it there): one definition of the report.
from nat_zero.config import DATAPLANE_TAG, DEPLOYMENT_TAG
from nat_zero.decision import FORWARDING
from nat_zero.observe import _REPORT_TIME as REPORT_TIME  # the reconciler parses with it


def report_value(status: str, at: datetime) -> str:
    """The tag value the guard writes: "<status> <UTC time>"."""
    return f"{status} {at.strftime(REPORT_TIME)}"


class EmulatedGuard:
    def __init__(self, ec2, name: str, clock: Callable[[], datetime]):
        self.ec2 = ec2
        self.name = name
        self.clock = clock
        # NATs whose guard no longer runs (crashed by hand).
        self.hung: set[str] = set()

    def running_nats(self) -> list[str]:
        filters = [
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [self.name]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
        reservations = self.ec2.describe_instances(Filters=filters)["Reservations"]
        return [i["InstanceId"] for r in reservations for i in r["Instances"]]

    def report(self) -> None:
        """Each running NAT that is not hung reports forwarding, now."""
        reporting = [i for i in self.running_nats() if i not in self.hung]
        if reporting:
            value = report_value(FORWARDING, self.clock())
            self.ec2.create_tags(Resources=reporting, Tags=[{"Key": DATAPLANE_TAG, "Value": value}])

    def hang(self, instance_id: str) -> None:
        self.hung.add(instance_id)
