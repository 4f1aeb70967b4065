"""ECS as AWS runs it, on top of moto 5.2.5, for the sandbox and the tests.

- UpdateService(forceNewDeployment=True): ECS starts a new deployment. The
  service's deployments gain a new PRIMARY one (a new ID, createdAt = now,
  rolloutState IN_PROGRESS) and the previous PRIMARY becomes ACTIVE until
  the rollout drains it. Moto instead rewrites the ID and createdAt of the
  one deployment it has, in place.
- UpdateService on a service that is not ACTIVE (deleted: DRAINING, then
  INACTIVE) fails with ServiceNotActiveException; moto updates it anyway.

Both patch moto's backend, so they act in this process: in-process `mock_aws`
(the unit tests) or an in-process server (`threaded_moto_server`, the ECS
sandbox flow).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import urllib.request
from datetime import timedelta
from unittest import mock

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends
from moto.moto_api._internal import mock_random
from moto.server import ThreadedMotoServer


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


def age_deployments(account_id: str, region: str, cluster: str, service: str, by: timedelta) -> None:
    """Move a service's deployments `by` into the past, as if that much time
    had passed since they started (the emulator's clock cannot be moved)."""
    for deployment in ecs_backends[account_id][region].services[f"{cluster}:{service}"].deployments:
        deployment["createdAt"] -= by
        deployment["updatedAt"] -= by


@contextlib.contextmanager
def threaded_moto_server(port: int):
    """A moto server in this process (so the patches above reach it), on
    127.0.0.1:`port`, answering Lambda invocations without running code."""
    # One access log line per request would bury what the caller prints.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/config",
            data=json.dumps({"lambda": {"use_docker": False}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        yield endpoint
    finally:
        server.stop()
