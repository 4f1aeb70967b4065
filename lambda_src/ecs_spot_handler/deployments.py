"""Whether a service already has a deployment that answers an interruption.

Pure: a DescribeServices service object and an interruption time in, a verdict
out. No store is needed beyond what ECS itself says about the service.

Why a window: Fargate Spot gives each task a two-minute warning and reclaims
capacity in waves, so the tasks of one service receive their warnings within
about two minutes of each other, and every task sends several events
(warning, deprovisioning, stopped) that all carry the same stoppingAt. The
first event of a wave forces a deployment; for every later event of that wave
the new PRIMARY deployment was created at most two minutes *before* the
event's own interruption time. Skipping when the newest PRIMARY deployment
was created no earlier than `interrupted_at - DEDUPLICATION_WINDOW` therefore
keeps one deployment per wave. An interruption more than two minutes after
the last deployment started is a new wave and forces a new one. Both
timestamps come from ECS's clock, so no clock skew enters the comparison.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The Spot interruption notice: two minutes between warning and reclaim.
DEDUPLICATION_WINDOW = timedelta(seconds=120)


def newest_primary_deployment(service: dict) -> dict | None:
    primaries = [
        d
        for d in service.get("deployments") or []
        if d.get("status") == "PRIMARY" and isinstance(d.get("createdAt"), datetime)
    ]
    return max(primaries, key=lambda d: d["createdAt"], default=None)


def covering_deployment(service: dict, interrupted_at: datetime) -> dict | None:
    """The PRIMARY deployment that already replaces the interrupted task, or None."""
    primary = newest_primary_deployment(service)
    if primary is None or primary["createdAt"] < interrupted_at - DEDUPLICATION_WINDOW:
        return None
    return primary
