"""Which reconciler owns a VPC: the reconciler functions' own tags.

Every reconciler function is named "<deployment>-nat-zero" and tagged
nat-zero:deployment=<deployment> and nat-zero:vpc=<its VPC> by the role that
creates it, so the functions are the registry: nothing else to write at
deploy time or forget at teardown, and a function deleted by hand leaves the
registry with it. One Resource Groups Tagging API GetResources call (paged by
100) lists every reconciler of the region; it is free, and throttled apart
from EC2, so reading it costs the VPCs' NATs nothing.

A warm container keeps the answer for NAT_ZERO_REGISTRY_TTL_SECONDS and
reads again sooner (at most every NAT_ZERO_REGISTRY_REFRESH_SECONDS) when an
event names a VPC it does not know: a new deployment is found by its first
events, not minutes later. The tagging API is eventually consistent (a new
function's tags can take a moment to appear, a deleted function can still be
listed): an event lost that way is repaired by the deployment's own sweep,
and an invocation of a function already gone is answered ResourceNotFound
and forgotten.
"""

from __future__ import annotations

import re
import time

from .config import DEPLOYMENT_TAG, RECONCILER_NAME_SUFFIX, VPC_TAG

_VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})")
RESOURCE_TYPE = "lambda:function"


def reconciler_of(resource: dict) -> tuple[str, str] | None:
    """(VPC, function ARN) of a GetResources item that is a reconciler, else None."""
    arn = resource.get("ResourceARN")
    match = _FUNCTION_ARN.fullmatch(arn) if isinstance(arn, str) else None
    tags = {t.get("Key"): t.get("Value") for t in resource.get("Tags") or ()}
    vpc_id, deployment = tags.get(VPC_TAG), tags.get(DEPLOYMENT_TAG)
    if match is None or not isinstance(vpc_id, str) or not _VPC_ID.fullmatch(vpc_id) or not deployment:
        return None
    # Other functions of a deployment carry its tags too (the ECS Spot
    # handler may): only the one named after the deployment reconciles it.
    if match["name"] != f"{deployment}{RECONCILER_NAME_SUFFIX}":
        return None
    return vpc_id, arn


def read_reconcilers(tagging) -> dict[str, tuple[str, ...]]:
    """VPC ID -> the ARNs of the reconcilers deployed in it (usually one)."""
    by_vpc: dict[str, list[str]] = {}
    pages = tagging.get_paginator("get_resources").paginate(
        ResourceTypeFilters=[RESOURCE_TYPE], TagFilters=[{"Key": VPC_TAG}, {"Key": DEPLOYMENT_TAG}]
    )
    for page in pages:
        for resource in page.get("ResourceTagMappingList") or ():
            found = reconciler_of(resource)
            if found is not None:
                by_vpc.setdefault(found[0], []).append(found[1])
    return {vpc: tuple(sorted(arns)) for vpc, arns in by_vpc.items()}


class Registry:
    def __init__(self, ttl_seconds: int, refresh_interval_seconds: int, clock=time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.refresh_interval_seconds = refresh_interval_seconds
        self.clock = clock
        self.by_vpc: dict[str, tuple[str, ...]] = {}
        self.read_at: float | None = None

    def reconcilers(self, tagging, vpc_id: str) -> tuple[str, ...]:
        age = None if self.read_at is None else self.clock() - self.read_at
        unknown_vpc = vpc_id not in self.by_vpc
        if age is None or age >= self.ttl_seconds or (unknown_vpc and age >= self.refresh_interval_seconds):
            self.by_vpc = read_reconcilers(tagging)
            self.read_at = self.clock()
        return self.by_vpc.get(vpc_id, ())

    def forget(self, function_arn: str) -> None:
        self.by_vpc = {
            vpc: tuple(a for a in arns if a != function_arn)
            for vpc, arns in self.by_vpc.items()
            if arns != (function_arn,)
        }
