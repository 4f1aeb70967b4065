"""ECS's answers on the wire that moto never gives, for one client.

Answered at the HTTP layer, ahead of moto, so botocore's own retry logic sees
them as it would from ECS: throttling (400 ThrottlingException), access
denied (400 AccessDeniedException), a dropped connection. ECS's deployment
behaviour lives in playbooks/sandbox/ecs_emulation.py (the sandbox uses it
too).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError


def _json_error(status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    return AWSResponse("https://ecs.amazonaws.com/", status, {"content-type": "application/x-amz-json-1.1"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


class EcsWire:
    """Hooks on one ECS client: counts calls and HTTP attempts, and answers the
    next requests of an operation with an error, as ECS would."""

    def __init__(self, client):
        self.client = client
        self.calls: Counter = Counter()
        self.attempts: Counter = Counter()
        self._queued: dict[str, list] = defaultdict(list)
        client.meta.events.register("before-call.ecs.*", self._count_call)
        client.meta.events.register_first("before-send.ecs", self._answer)

    def uninstall(self) -> None:
        self.client.meta.events.unregister("before-call.ecs.*", self._count_call)
        self.client.meta.events.unregister("before-send.ecs", self._answer)

    def throttle_next(self, operation: str, times: int = 1) -> None:
        self._queued[operation] += [("error", 400, "ThrottlingException", "Rate exceeded")] * times

    def deny_next(self, operation: str, times: int = 1) -> None:
        message = f"User is not authorized to perform: ecs:{operation}"
        self._queued[operation] += [("error", 400, "AccessDeniedException", message)] * times

    def drop_connection_next(self, operation: str, times: int = 1) -> None:
        self._queued[operation] += [("network",)] * times

    def _count_call(self, model, **_):
        self.calls[model.name] += 1

    def _answer(self, request, **_):
        operation = request.headers.get("X-Amz-Target", b"")
        operation = (operation.decode() if isinstance(operation, bytes) else operation).rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        queued = self._queued.get(operation)
        if not queued:
            return None
        answer = queued.pop(0)
        if answer[0] == "network":
            raise EndpointConnectionError(endpoint_url=request.url)
        return _json_error(*answer[1:])
