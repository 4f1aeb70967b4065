#!/usr/bin/env python3
"""The ECS Fargate Spot handler's flow on a local AWS emulator (`make demo-ecs`).

1. starts a moto server in this process, with ECS's real forceNewDeployment
   behaviour (playbooks/sandbox/ecs_emulation.py);
2. deploys the handler with the real playbooks/ecs_spot_handler.yml;
3. creates a Fargate Spot service (cluster, task definition, awsvpc network)
   that has been running since yesterday;
4. plays EventBridge, which the emulator cannot run: a wave of Spot
   interruptions (each task's two-minute warning, then its stop) plus a
   standalone task and another stop code, each matched against the deployed
   rule's own pattern and delivered, one at a time, to the deployed handler
   (imported from lambda_src/, configured from the function's environment);
5. shows the service's deployments before and after: one new PRIMARY
   deployment for the whole wave;
6. removes the handler (ecs_spot_handler_state=absent) and checks nothing of
   it is left.

Exits 0 only if every step did what it should. The handler's JSON log lines
are in build/sandbox/ecs_spot_handler.log.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambda_src")]

import boto3  # noqa: E402
from moto.events.models import EventPattern  # noqa: E402

from playbooks.sandbox.ecs_emulation import (  # noqa: E402
    age_deployments,
    real_ecs_deployments,
    threaded_moto_server,
)
from playbooks.sandbox.emulator import free_port  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PREFIX = "demo"
CLUSTER = "batch"
SERVICE = "web"
TASKS = 6
LOG_PATH = REPO / "build" / "sandbox" / "ecs_spot_handler.log"
REPORT_PATH = REPO / "build" / "sandbox" / "ecs_spot_report.json"


class EmulatorSession:
    """boto3 clients of the emulator."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._session = boto3.session.Session(region_name=REGION)

    def client(self, service: str):
        return self._session.client(service, endpoint_url=self.endpoint)


def playbook(env: dict, *extra: str) -> None:
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        "inventory.yml",
        "playbooks/ecs_spot_handler.yml",
        "-e",
        f"ecs_spot_handler_name_prefix={PREFIX}",
        *extra,
    ]
    completed = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    recap = [line for line in completed.stdout.splitlines() if line.startswith("localhost")]
    print(f"  ansible-playbook playbooks/ecs_spot_handler.yml {' '.join(extra)}".rstrip(), "->", *recap)
    if completed.returncode != 0:
        print(completed.stdout[-4000:])
        raise SystemExit(f"ansible-playbook failed ({completed.returncode})")


def create_service(session) -> str:
    """A Fargate Spot service of TASKS tasks in a VPC of its own; its cluster ARN."""
    ec2, ecs = session.client("ec2"), session.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]
    group = ec2.create_security_group(GroupName="web-tasks", Description="web tasks", VpcId=vpc)["GroupId"]
    cluster_arn = ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])["cluster"][
        "clusterArn"
    ]
    ecs.register_task_definition(
        family=SERVICE,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": SERVICE, "image": "public.ecr.aws/nginx/nginx:stable"}],
    )
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=SERVICE,
        desiredCount=TASKS,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet["SubnetId"]], "securityGroups": [group]}},
    )
    age_deployments(ACCOUNT, REGION, CLUSTER, SERVICE, timedelta(days=1))
    return cluster_arn


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_event(cluster_arn: str, task: int, group: str, stop_code: str, stopping_at: datetime, stopped: bool) -> dict:
    """An 'ECS Task State Change' as EventBridge delivers it."""
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{task:032x}"
    detail = {
        "clusterArn": cluster_arn,
        "taskArn": task_arn,
        "group": group,
        "capacityProviderName": "FARGATE_SPOT",
        "launchType": "FARGATE",
        "desiredStatus": "STOPPED",
        "lastStatus": "STOPPED" if stopped else "RUNNING",
        "stopCode": stop_code,
        "stoppingAt": _iso(stopping_at),
    }
    if stopped:
        detail["stoppedAt"] = _iso(stopping_at + timedelta(minutes=2))
    return {
        "version": "0",
        "id": f"demo-{task}-{'stopped' if stopped else 'warning'}",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": ACCOUNT,
        "time": detail.get("stoppedAt", detail["stoppingAt"]),
        "region": REGION,
        "resources": [task_arn],
        "detail": detail,
    }


def the_wave(cluster_arn: str) -> list[tuple[str, dict]]:
    """What EventBridge sees while Fargate Spot reclaims the service's capacity."""
    start = datetime.now(timezone.utc) - timedelta(seconds=100)
    service = f"service:{SERVICE}"
    events = [
        (
            f"task {n} warned",
            task_event(cluster_arn, n, service, "SpotInterruption", start + timedelta(seconds=9 * n), False),
        )
        for n in range(TASKS)
    ]
    events.append(
        ("standalone task warned", task_event(cluster_arn, 99, "family:report", "SpotInterruption", start, False))
    )
    events.append(("task 7 scaled in", task_event(cluster_arn, 7, service, "ServiceSchedulerInitiated", start, True)))
    events += [
        (
            f"task {n} stopped",
            task_event(cluster_arn, n, service, "SpotInterruption", start + timedelta(seconds=9 * n), True),
        )
        for n in range(TASKS)
    ]
    return events


def deployed_handler(session, endpoint: str):
    """The deployed function's Handler, with the function's own environment."""
    configuration = session.client("lambda").get_function_configuration(
        FunctionName=f"{PREFIX}-ecs-fargate-spot-handler"
    )
    os.environ.update(configuration["Environment"]["Variables"])
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    module_name, _, attribute = configuration["Handler"].rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def rule_pattern(session) -> EventPattern | None:
    """The deployed rule's pattern, or None while the rule is disabled."""
    rule = session.client("events").describe_rule(Name=f"{PREFIX}-ecs-spot-interruption")
    return EventPattern.load(rule["EventPattern"]) if rule["State"] == "ENABLED" else None


def relay(events, pattern: EventPattern, handler, log) -> list[tuple[str, str, str]]:
    """(event, what happened, deployment ID) per event, in order."""
    rows = []
    for label, event in events:
        if not pattern.matches_event(event):
            rows.append((label, "not matched by the rule", ""))
            continue
        with contextlib.redirect_stdout(io.StringIO()) as lines:
            result = handler(event, None)
        log.write(lines.getvalue())
        rows.append(
            (
                label,
                result["outcome"] + (f" ({result['reason']})" if "reason" in result else ""),
                result.get("deployment_id") or "",
            )
        )
    return rows


def show_deployments(title: str, ecs) -> list[dict]:
    deployments = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["deployments"]
    print(f"\n{title}")
    for d in deployments:
        print(f"  {d['status']:<8} {d['id']:<28} created {d['createdAt']:%Y-%m-%d %H:%M:%S} UTC")
    return deployments


def leftovers(session) -> list[str]:
    function = f"{PREFIX}-ecs-fargate-spot-handler"
    found = []
    if any(f["FunctionName"] == function for f in session.client("lambda").list_functions()["Functions"]):
        found.append(f"function {function}")
    if session.client("events").list_rules(NamePrefix=f"{PREFIX}-ecs-spot-interruption")["Rules"]:
        found.append("rule")
    if any(r["RoleName"] == f"{function}-execution" for r in session.client("iam").list_roles()["Roles"]):
        found.append("role")
    if session.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function}")["logGroups"]:
        found.append("log group")
    return found


def run(endpoint: str) -> int:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("AWS_PROFILE", None)
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    session = EmulatorSession(endpoint)
    print(f"Emulator at {endpoint}\n\n1. Deploy the handler")
    playbook(env)
    print(f"\n2. A Fargate Spot service '{SERVICE}' of {TASKS} tasks in cluster '{CLUSTER}', running since yesterday")
    cluster_arn = create_service(session)
    before = show_deployments("Deployments before the wave", session.client("ecs"))

    print("\n3. Fargate Spot reclaims the service's capacity: events relayed to the deployed handler")
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    with LOG_PATH.open("w") as log:
        rows = relay(the_wave(cluster_arn), rule_pattern(session), deployed_handler(session, endpoint), log)
    for label, outcome, deployment in rows:
        print(f"  {label:<24} {outcome:<66} {deployment}")
    after = show_deployments("Deployments after the wave", session.client("ecs"))

    print("\n4. Remove the handler, twice")
    playbook(env, "-e", "ecs_spot_handler_state=absent")
    playbook(env, "-e", "ecs_spot_handler_state=absent")
    left = leftovers(session)

    outcomes = [outcome for _, outcome, _ in rows]
    checks = {
        "one forced deployment for the whole wave": outcomes.count("deployed") == 1,
        "every other interruption event skipped": outcomes.count("skipped") == 2 * TASKS - 1,
        "standalone task ignored": any(o.startswith("ignored (standalone task") for o in outcomes),
        "other stop code not delivered": "not matched by the rule" in outcomes,
        "new PRIMARY, old one ACTIVE": [d["status"] for d in after] == ["PRIMARY", "ACTIVE"]
        and after[1]["id"] == before[0]["id"],
        "nothing left after teardown": not left,
    }
    print()
    for check, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {check}")
    report = {
        "ok": all(checks.values()),
        "checks": checks,
        "events": [{"event": label, "outcome": outcome, "deployment_id": d} for label, outcome, d in rows],
        "deployments_before": [{"id": d["id"], "status": d["status"]} for d in before],
        "deployments_after": [{"id": d["id"], "status": d["status"]} for d in after],
        "left_after_teardown": left,
    }
    REPORT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nReport: {REPORT_PATH.relative_to(REPO)}; handler log lines: {LOG_PATH.relative_to(REPO)}")
    return 0 if report["ok"] else 1


def main() -> int:
    with real_ecs_deployments(), threaded_moto_server(free_port()) as endpoint:
        return run(endpoint)


if __name__ == "__main__":
    sys.exit(main())
