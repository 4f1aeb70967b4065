"""Lambda entry point: parse the interruption, read the service, force one
new deployment per interruption wave, return.

A failed invocation is the signal for what needs a person (a cluster that is
gone, a permission missing): Lambda counts it as an error and retries the
asynchronous event. What needs nobody (a service deleted meanwhile, an event
that is not ours) is a logged success.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .aws import ecs_client
from .config import load_config
from .deployments import DEDUPLICATION_WINDOW, covering_deployment, newest_primary_deployment
from .events import Ignored, Interruption, parse_event
from .logs import handler_logger

# The service is gone or going: nothing to redeploy.
SERVICE_GONE_ERRORS = ("ServiceNotFoundException", "ServiceNotActiveException")


def handler(event, context=None):
    config = load_config()
    log = handler_logger(config.log_level)
    request_id = getattr(context, "aws_request_id", None)
    request = parse_event(event, config)
    if isinstance(request, Ignored):
        log.info(
            "event ignored",
            extra={
                "reason": request.reason,
                "cluster": request.cluster_arn,
                "task_arn": request.task_arn,
                "request_id": request_id,
            },
        )
        return {"outcome": "ignored", "reason": request.reason}
    fields = {
        "cluster": request.cluster_arn,
        "service": request.service,
        "task_arn": request.task_arn,
        "request_id": request_id,
    }
    return _answer(ecs_client(config.region), request, log, fields)


def _answer(ecs, interruption: Interruption, log, fields: dict) -> dict:
    service = _describe_service(ecs, interruption, log, fields)
    if service is None:
        return {"outcome": "service_not_found", "service": interruption.service}
    if service.get("status") != "ACTIVE":
        log.warning("service is not active; nothing to redeploy", extra={**fields, "reason": service.get("status")})
        return {"outcome": "service_inactive", "service": interruption.service}
    primary = newest_primary_deployment(service) or {}
    log.debug(
        "service read",
        extra={
            **fields,
            "deployment_id": primary.get("id"),
            "reason": f"newest PRIMARY deployment created {primary.get('createdAt')}, "
            f"task interrupted {interruption.interrupted_at.isoformat()}",
        },
    )
    covering = covering_deployment(service, interruption.interrupted_at)
    if covering is not None:
        log.info(
            "a deployment of this interruption wave already replaces the task",
            extra={**fields, "deployment_id": covering.get("id"), "reason": f"window {DEDUPLICATION_WINDOW.seconds} s"},
        )
        return {"outcome": "skipped", "service": interruption.service, "deployment_id": covering.get("id")}
    return _force_new_deployment(ecs, interruption, log, fields)


def _describe_service(ecs, interruption: Interruption, log, fields: dict) -> dict | None:
    try:
        answer = ecs.describe_services(cluster=interruption.cluster_arn, services=[interruption.service])
    except (ClientError, BotoCoreError) as exc:
        _log_failure(log, "could not read the service", exc, fields)
        raise
    services = answer.get("services") or []
    if not services:
        reasons = ", ".join(f.get("reason", "?") for f in answer.get("failures") or []) or "not returned"
        log.warning("service not found; nothing to redeploy", extra={**fields, "reason": reasons})
        return None
    return services[0]


def _force_new_deployment(ecs, interruption: Interruption, log, fields: dict) -> dict:
    try:
        answer = ecs.update_service(
            cluster=interruption.cluster_arn, service=interruption.service, forceNewDeployment=True
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in SERVICE_GONE_ERRORS:
            log.warning(
                "service went away before its redeployment; nothing to do", extra={**fields, "error": _error_text(exc)}
            )
            return {"outcome": "service_inactive", "service": interruption.service}
        _log_failure(log, "could not force a new deployment", exc, fields)
        raise
    except BotoCoreError as exc:
        _log_failure(log, "could not force a new deployment", exc, fields)
        raise
    deployment = newest_primary_deployment(answer.get("service") or {}) or {}
    log.info("forced a new deployment", extra={**fields, "deployment_id": deployment.get("id")})
    return {"outcome": "deployed", "service": interruption.service, "deployment_id": deployment.get("id")}


def _log_failure(log, message: str, exc: Exception, fields: dict) -> None:
    """Logged before the caller re-raises: the invocation fails, so Lambda's
    error metric and asynchronous retry see it (cluster gone, access denied,
    throttled past the retries, network down)."""
    log.error(message, extra={**fields, "error": _error_text(exc)})


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
