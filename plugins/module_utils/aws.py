# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The AWS plumbing every natzero.aws module shares.

A module is an AWSModule: the common connection options are merged into its
argument spec, clients come from one boto3 session built from those options,
and any botocore error that escapes the module's own logic becomes one
readable failure naming the AWS operation and error code (AWSModule.run).

Throttling is retried by botocore itself (standard retry mode: exponential
backoff with full jitter). Eventual consistency (a resource created a moment
ago that another API does not see yet, an IAM role Lambda cannot assume yet)
is retried here, by error code, with the same kind of backoff, bounded by time.
"""

from __future__ import annotations

import random
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.compat.version import LooseVersion

try:
    import boto3
    import botocore
    from botocore.config import Config as BotocoreConfig
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError
except ImportError:
    import traceback

    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

    class BotoCoreError(Exception):  # placeholders keep the except clauses valid
        pass

    class ClientError(Exception):
        pass

    class WaiterError(Exception):
        pass
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

# The collection's version, as galaxy.yml says (a unit test keeps the two
# equal): a module runs on the target without the collection's metadata.
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "natzero.aws/%s" % COLLECTION_VERSION

# The oldest SDK the unit tests run against (tests/unit/constraints.txt), as the
# doc fragment's requirements say. Older ones get a warning, not a failure.
MINIMUM_SDK = {"boto3": "1.28.0", "botocore": "1.31.0"}

# botocore's standard mode retries throttling (Throttling, RequestLimitExceeded,
# TooManyRequestsException, ...) and transient errors with full-jitter backoff.
MAX_ATTEMPTS = 10

THROTTLING_CODES = frozenset(
    (
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
    )
)

# Tests replace this to keep retries instantaneous.
sleep = time.sleep


def aws_argument_spec():
    """The connection options every module accepts (documented in natzero.aws.aws).

    The same names, aliases and environment fallbacks as amazon.aws 10+, so a
    module_defaults dict written for group/amazon.aws.aws works unchanged here.
    """
    return dict(
        region=dict(type="str", aliases=["aws_region"], fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
        profile=dict(
            type="str", aliases=["aws_profile"], fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
        ),
        endpoint_url=dict(type="str", aliases=["aws_endpoint_url"], fallback=(env_fallback, ["AWS_URL"])),
        access_key=dict(
            type="str",
            aliases=["aws_access_key_id", "aws_access_key"],
            fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]),
            no_log=False,
        ),
        secret_key=dict(
            type="str",
            aliases=["aws_secret_access_key", "aws_secret_key"],
            fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]),
            no_log=True,
        ),
        session_token=dict(
            type="str", aliases=["aws_session_token"], fallback=(env_fallback, ["AWS_SESSION_TOKEN"]), no_log=True
        ),
        validate_certs=dict(type="bool", default=True),
        aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
        aws_config=dict(type="dict"),
        debug_botocore_endpoint_logs=dict(
            type="bool", default=False, fallback=(env_fallback, ["ANSIBLE_DEBUG_BOTOCORE_LOGS"])
        ),
    )


def sdk_below_minimum(versions):
    """'boto3 1.20.0, ...' for each of versions ({name: version}) older than MINIMUM_SDK ('' if none)."""
    old = [
        "%s %s" % (name, versions[name])
        for name, minimum in sorted(MINIMUM_SDK.items())
        if LooseVersion(versions[name]) < LooseVersion(minimum)
    ]
    return ", ".join(old)


def tls_verify(params):
    """botocore's verify argument: None lets botocore apply AWS_CA_BUNDLE and the profile's ca_bundle."""
    if not params["validate_certs"]:
        return False
    return params["aws_ca_bundle"] or None


def botocore_config(params):
    """Our retry mode and user agent, overridden by whatever aws_config sets."""
    config = BotocoreConfig(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        user_agent_extra=USER_AGENT,
    )
    if params["aws_config"]:
        config = config.merge(BotocoreConfig(**params["aws_config"]))
    return config


def connection_errors(params):
    """What is wrong with the connection options, checked before any AWS call ('' if nothing)."""
    keys = [name for name in ("access_key", "secret_key", "session_token") if params[name]]
    if params["profile"] and keys:
        return (
            "profile=%s cannot be used together with %s: a named profile brings its own credentials "
            "(unset AWS_PROFILE/AWS_DEFAULT_PROFILE or the key options and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/"
            "AWS_SESSION_TOKEN)" % (params["profile"], ", ".join(keys))
        )
    if params["aws_config"]:
        try:
            BotocoreConfig(**params["aws_config"])
        except (TypeError, ValueError) as exc:
            return "aws_config is not a botocore Config: %s" % exc
    return ""


def snake_resource(resource, tags=None, ignore=()):
    """What AWS says of a resource as amazon.aws returns it: snake_case keys, tags as a dict.

    Keys in ignore keep their value as is (policy documents, environment variables: user data).
    """
    if resource is None:
        return None
    fields = {k: v for k, v in resource.items() if k not in ("Tags", "tags", "ResponseMetadata")}
    snake = camel_dict_to_snake_dict(fields, ignore_list=list(ignore))
    if tags is not None:
        snake["tags"] = dict(tags)
    return snake


def error_code(exc):
    """The AWS error code of a ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def error_message(exc):
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Message", "") or str(exc)


def is_error(exc, *codes):
    return isinstance(exc, ClientError) and error_code(exc) in codes


def again_after(code, call, timeout=30):
    """call(), and again while AWS answers `code`: another run created or
    removed the same resource meanwhile (two deployments of a region share its
    dispatcher and may run at once). call reads afresh each time, so it
    converges on what the other left. Not just once: IAM is eventually
    consistent, and a role another run has just created can stay invisible to
    GetRole for some seconds, so the next CreateRole gets the same answer; the
    reads go on with back-off for up to timeout seconds."""
    return retry_on_codes(call, (code,), timeout=timeout)


def backoff_delays(base_delay=0.5, max_delay=10.0):
    """Endless full-jitter exponential delays: random(0, min(max, base * 2**n))."""
    attempt = 0
    while True:
        yield random.uniform(0, min(max_delay, base_delay * (2**attempt)))
        attempt += 1


def retry_while(call, retryable, timeout=60, base_delay=0.5, max_delay=10.0):
    """Call until it succeeds or raises something retryable(exc) rejects.

    Bounded by timeout seconds; the last error is raised once time is up.
    Used where AWS is eventually consistent, never as a blanket retry.
    """
    deadline = time.monotonic() + timeout
    for delay in backoff_delays(base_delay, max_delay):
        try:
            return call()
        except ClientError as exc:
            if not (retryable(exc) or error_code(exc) in THROTTLING_CODES):
                raise
            if time.monotonic() + delay > deadline:
                raise
        sleep(delay)


def retry_on_codes(call, codes, timeout=60, base_delay=0.5, max_delay=10.0):
    """retry_while for the common case: retry while the error code is one of codes."""
    codes = frozenset(codes)
    return retry_while(call, lambda exc: error_code(exc) in codes, timeout, base_delay, max_delay)


class ModuleFailure(Exception):
    """A failure the module reports as is: AWSModule.run turns it into fail_json."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.extra = extra


class ValidationError(ModuleFailure):
    """Input that does not fit what AWS holds (or what the module accepts)."""


class WaitTimeout(ModuleFailure):
    """A bounded wait ran out of time; the message says what it waited for."""


def wait_until(check, what, timeout=300, delay=5, max_delay=None):
    """Poll check() until it returns something truthy; return that.

    For states botocore has no waiter for. Polls back off from delay towards
    max_delay (default: delay) with a little jitter, bounded by timeout.
    """
    deadline = time.monotonic() + timeout
    max_delay = max_delay or delay
    current = delay
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() + current > deadline:
            raise WaitTimeout("Timed out after %ss waiting for %s" % (timeout, what))
        sleep(current * random.uniform(0.8, 1.0))
        current = min(max_delay, current * 1.5)


def wait_with(client, waiter_name, what, timeout=300, delay=5, **kwargs):
    """Run a botocore waiter bounded by timeout seconds instead of attempts."""
    waiter = client.get_waiter(waiter_name)
    max_attempts = max(1, int(timeout // max(delay, 1)))
    try:
        waiter.wait(WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}, **kwargs)
    except WaiterError as exc:
        last = getattr(exc, "last_response", None) or {}
        reason = last.get("Error", {}).get("Code") or getattr(exc, "reason", "") or str(exc)
        raise WaitTimeout("Gave up after %ss waiting for %s (%s)" % (timeout, what, reason)) from None


class AWSModule(AnsibleModule):
    """AnsibleModule with the common AWS options, clients and error handling."""

    def __init__(self, argument_spec, **kwargs):
        spec = aws_argument_spec()
        spec.update(argument_spec)
        required_together = list(kwargs.pop("required_together", None) or [])
        required_together.append(["access_key", "secret_key"])
        super().__init__(argument_spec=spec, required_together=required_together, **kwargs)
        if not HAS_BOTO3:
            self.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=BOTO3_IMPORT_ERROR)
        problem = connection_errors(self.params)
        if problem:
            self.fail_json(msg=problem)
        old = sdk_below_minimum({"boto3": boto3.__version__, "botocore": botocore.__version__})
        if old:
            self.warn(
                "natzero.aws is tested with boto3 >= %(boto3)s and botocore >= %(botocore)s; this host has %%s"
                % MINIMUM_SDK
                % old
            )
        self._session = None
        self._clients = {}
        self._resource_actions = set()

    @property
    def diff_mode(self):
        return bool(self._diff)

    def session(self):
        if self._session is None:
            p = self.params
            self._session = boto3.session.Session(
                profile_name=p["profile"] or None,
                aws_access_key_id=p["access_key"] or None,
                aws_secret_access_key=p["secret_key"] or None,
                aws_session_token=p["session_token"] or None,
                region_name=p["region"] or None,
            )
            if not self._session.region_name:
                self.fail_json(
                    msg="No AWS region: set the region option or AWS_REGION / AWS_DEFAULT_REGION in the environment"
                )
        return self._session

    @property
    def region(self):
        return self.session().region_name

    def client(self, service):
        """A client for service; endpoint_url or AWS_ENDPOINT_URL[_<SERVICE>] as boto3 resolves it."""
        if service not in self._clients:
            client = self.session().client(
                service,
                endpoint_url=self.params["endpoint_url"] or None,
                verify=tls_verify(self.params),
                config=botocore_config(self.params),
            )
            client.meta.events.register("before-call.*.*", self._remember_operation)
            self._clients[service] = client
        return self._clients[service]

    def _remember_operation(self, model, **kwargs):
        # Errors that are not ClientErrors (connection, credentials) do not
        # say which call failed; this lets the failure name it anyway.
        self._last_operation = model.name
        self._resource_actions.add("%s:%s" % (model.service_model.endpoint_prefix, model.name))

    def exit_json(self, **kwargs):
        self._add_resource_actions(kwargs)
        super().exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._add_resource_actions(kwargs)
        super().fail_json(msg=msg, **kwargs)

    def _add_resource_actions(self, result):
        # debug_botocore_endpoint_logs, as amazon.aws reports it: every API call made, once.
        if hasattr(self, "_resource_actions") and self.params.get("debug_botocore_endpoint_logs"):
            result["resource_actions"] = sorted(self._resource_actions)

    def fail_json_aws(self, exc, msg=None):
        """One readable failure for a botocore error: operation, error code, message."""
        if isinstance(exc, ClientError):
            operation = getattr(exc, "operation_name", None) or "AWS call"
            code = error_code(exc)
            detail = "%s failed: %s: %s" % (operation, code, error_message(exc))
            extra = dict(
                error=dict(code=code, message=error_message(exc)),
                operation=operation,
                response_metadata=camel_dict_to_snake_dict(exc.response.get("ResponseMetadata", {})),
            )
        else:
            operation = getattr(self, "_last_operation", None)
            detail = "%s%s: %s" % ("%s failed: " % operation if operation else "", type(exc).__name__, exc)
            extra = {"operation": operation} if operation else {}
        full = "%s: %s" % (msg, detail) if msg else detail
        self.fail_json(
            msg=full,
            boto3_version=getattr(boto3, "__version__", None),
            botocore_version=getattr(botocore, "__version__", None),
            **extra,
        )

    def run(self, ensure, resource=None):
        """Exit with ensure(self)'s result dict; any AWS error is one readable failure.

        resource (for example "IAM role prod-nat-zero") starts the message of an
        AWS error, so a failure in a loop or a long play says what it concerns.
        """
        try:
            result = ensure(self)
        except ClientError as exc:
            self.fail_json_aws(exc, msg=resource)
        except ModuleFailure as exc:
            self.fail_json(msg=str(exc), **exc.extra)
        except BotoCoreError as exc:
            self.fail_json_aws(exc, msg=resource)
        self.exit_json(**result)
