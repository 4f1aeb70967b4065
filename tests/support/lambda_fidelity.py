"""Lambda behaviour that moto does not reproduce, added back with botocore event hooks.

- Asynchronous invocation configuration: PutFunctionEventInvokeConfig replaces
  the whole configuration (what it is not given is reset: the event age to
  21600, destinations removed); UpdateFunctionEventInvokeConfig changes only
  what it is given and fails with ResourceNotFoundException when there is no
  configuration yet. (Moto's update is a put, and its get answers the first
  configuration ever put.)
- GetAccountSettings (moto answers 404 "Not yet implemented"): the account's
  concurrency limit and unreserved concurrency are the test's to choose, for
  example the limit of 10 of a new account.

Install on each lambda client under test: LambdaFidelity().install(client).
"""

from __future__ import annotations

import copy

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

DEFAULT_MAXIMUM_EVENT_AGE = 21600
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
ASYNC_FIELDS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _answer(parsed: dict):
    """What a before-call hook returns to answer a call in Lambda's place."""
    return AWSResponse("https://lambda.invalid/", 200, {}, None), parsed


class LambdaFidelity:
    """One account's Lambda state the hooks answer from; install() it on every
    client that should see it (a module makes a new client each run)."""

    def __init__(self, concurrency_limit: int = 1000, unreserved: int | None = None):
        self.concurrency_limit = concurrency_limit
        self.unreserved = concurrency_limit if unreserved is None else unreserved
        self.event_invoke_configs: dict[str, dict] = {}
        self.calls: list[str] = []
        self._params: dict = {}

    def install(self, client) -> None:
        client.meta.events.register("before-parameter-build.lambda.*", self._remember_params)
        for operation, handler in (
            ("PutFunctionEventInvokeConfig", self._put),
            ("UpdateFunctionEventInvokeConfig", self._update),
            ("GetFunctionEventInvokeConfig", self._get),
            ("GetAccountSettings", self._account_settings),
        ):
            client.meta.events.register(f"before-call.lambda.{operation}", handler)

    def _remember_params(self, params, **_):
        # before-call sees the serialized request; the API parameters are here.
        self._params = copy.deepcopy(params)

    def _remember(self, model) -> dict:
        self.calls.append(model.name)
        return self._params

    def _put(self, model, **_):
        params = self._remember(model)
        config = {
            "MaximumRetryAttempts": DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
            "MaximumEventAgeInSeconds": DEFAULT_MAXIMUM_EVENT_AGE,
        }
        config.update({k: copy.deepcopy(params[k]) for k in ASYNC_FIELDS if k in params})
        self.event_invoke_configs[params["FunctionName"]] = config
        return _answer(dict(config))

    def _update(self, model, **_):
        params = self._remember(model)
        config = self._existing(params["FunctionName"], model.name)
        config.update({k: copy.deepcopy(params[k]) for k in ASYNC_FIELDS if k in params})
        return _answer(dict(config))

    def _get(self, model, **_):
        params = self._remember(model)
        return _answer(dict(self._existing(params["FunctionName"], model.name)))

    def _existing(self, function_name: str, operation: str) -> dict:
        if function_name not in self.event_invoke_configs:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ResourceNotFoundException",
                        "Message": f"The function {function_name} doesn't have an EventInvokeConfig",
                    }
                },
                operation,
            )
        return self.event_invoke_configs[function_name]

    def _account_settings(self, model, **_):
        self._remember(model)
        return _answer(
            {
                "AccountLimit": {
                    "ConcurrentExecutions": self.concurrency_limit,
                    "UnreservedConcurrentExecutions": self.unreserved,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                    "TotalCodeSize": 80530636800,
                },
                "AccountUsage": {"FunctionCount": 0, "TotalCodeSize": 0},
            }
        )
