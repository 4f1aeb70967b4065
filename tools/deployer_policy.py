#!/usr/bin/env python3
"""Generate docs/deployer-policy.json: the IAM actions the person (or pipeline)
running playbooks/site.yml and teardown.yml needs, from what the modules call.

For each file under plugins/, the services it creates clients for (every
service, for shared helpers that create none) and every operation of those
services it names, directly, as a paginator or through a waiter. A test checks
the committed file is current, so the documented permissions follow the code.

    python tools/deployer_policy.py          # rewrite
    python tools/deployer_policy.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import botocore.session

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "deployer-policy.json"
SERVICES = {"ec2": "ec2", "iam": "iam", "lambda": "lambda", "logs": "logs", "events": "events", "ssm": "ssm"}
# Granted by the role's own resources: passing the roles it creates to EC2 and Lambda.
EXTRA_ACTIONS = ["iam:PassRole"]
# Where the IAM action is not named like the API operation.
IAM_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def actions() -> list:
    session = botocore.session.get_session()
    models = {svc: session.get_service_model(svc) for svc in SERVICES}
    waiters = {}
    for svc in SERVICES:
        try:
            config = session.get_waiter_model(svc)
        except Exception:  # a service without waiters
            continue
        waiters[svc] = {_snake(name): config.get_waiter(name).operation for name in config.waiter_names}
    found = set(EXTRA_ACTIONS)
    for path in sorted((REPO / "plugins").rglob("*.py")):
        text = path.read_text()
        used = set(re.findall(r"client\(\s*[\"'](\w+)[\"']", text)) & set(SERVICES) or set(SERVICES)
        words = set(re.findall(r"[a-z][a-z0-9_]+", text))
        for svc in used:
            prefix = SERVICES[svc]
            for operation in models[svc].operation_names:
                if _snake(operation) in words:
                    found.add(f"{prefix}:{operation}")
            for waiter, operation in waiters.get(svc, {}).items():
                if waiter in words:
                    found.add(f"{prefix}:{operation}")
    return sorted(IAM_ACTION_NAMES.get(action, action) for action in found)


def policy() -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DeployAndRemoveNatZero", "Effect": "Allow", "Action": actions(), "Resource": "*"}],
    }
    return json.dumps(document, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wanted = policy()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != wanted:
            print(f"{OUTPUT} is out of date: run python tools/deployer_policy.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
