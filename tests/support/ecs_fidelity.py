"""ECS behaviour that moto 5.2.5 does not reproduce, added back for the tests.

- UpdateService(forceNewDeployment=True): ECS starts a new deployment. The
  service's deployments gain a new PRIMARY one (a new ID, createdAt = now,
  rolloutState IN_PROGRESS) and the previous PRIMARY becomes ACTIVE until
  the rollout drains it. Moto instead rewrites the ID and createdAt of the
  one deployment it has, in place.
- UpdateService on a service that is not ACTIVE (deleted: DRAINING, then
  INACTIVE) fails with ServiceNotActiveException; moto updates it anyway.
- Answers at the HTTP layer, ahead of moto, so botocore's own retry logic
  sees them as it would from ECS: throttling (400 ThrottlingException),
  access denied (400 AccessDeniedException), a dropped connection.

`real_ecs_deployments()` patches moto's backend (in-process `mock_aws`);
`EcsWire` hooks one client.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections import Counter, defaultdict
from unittest import mock

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.moto_api._internal import mock_random


class ServiceNotActiveException(ECSException):
    def __init__(self) -> None:
        super().__init__("ServiceNotActiveException", "Service was not ACTIVE.")


def _forced_deployment(previous_primary: dict) -> dict:
    now = utcnow()
    return {
        **copy.deepcopy(previous_primary),
        "id": f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}",
        "status": "PRIMARY",
        "createdAt": now,
        "updatedAt": now,
        "runningCount": 0,
        "pendingCount": 0,
        "failedTasks": 0,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
    }


@contextlib.contextmanager
def real_ecs_deployments():
    """While active, moto's UpdateService behaves as ECS's does (see above)."""
    original = EC2ContainerServiceBackend.update_service

    def update_service(backend, service_properties):
        force = service_properties.get("force_new_deployment", False)
        service = backend._get_service(service_properties.get("cluster", "default"), service_properties["service"])
        if service.status != "ACTIVE":
            raise ServiceNotActiveException()
        previous = copy.deepcopy(service.deployments)
        updated = original(backend, service_properties)
        primary = next((d for d in previous if d["status"] == "PRIMARY"), None)
        if force and primary is not None:
            demoted = [{**d, "status": "ACTIVE"} if d["status"] == "PRIMARY" else d for d in previous]
            updated.deployments = [_forced_deployment(primary), *demoted]
        return updated

    with mock.patch.object(EC2ContainerServiceBackend, "update_service", update_service):
        yield


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
