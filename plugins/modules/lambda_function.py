#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_function
short_description: A Lambda function deployed from a source directory
version_added: 0.1.0
description:
  - Manages a Lambda function whose code is a directory of source files.
  - The module packages O(source_path) into a reproducible zip archive in memory (sorted entries, fixed
    timestamps and permissions, without C(__pycache__) and C(*.pyc)). Unchanged source gives the same
    C(CodeSha256), so the code is uploaded only when it changed.
  - Manages the configuration (handler, runtime, architecture, role, environment, memory, timeout,
    description), tags, reserved concurrency and the asynchronous invocation settings (retry attempts, event
    age), changing only what differs. An option left out leaves that setting of an existing function as it is.
  - Waits until the function is C(Active) and its last update C(Successful) before the next change and before
    returning.
  - A role created a moment ago may not be assumable by Lambda yet; creating (or reconfiguring) the function
    is retried for a bounded time while Lambda says so.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The function name.
    type: str
    required: true
    aliases: [function_name]
  source_path:
    description:
      - The directory whose content is the function's code (its top level is the root of the archive).
      - Required with O(state=present).
    type: path
  source_include:
    description:
      - Top-level files or directories of O(source_path) to package, for example V([ecs_spot_handler]) when
        O(source_path) holds the packages of several functions. Not set packages all of O(source_path).
      - The handler's module must be in one of them.
    type: list
    elements: str
    version_added: 0.1.0
  handler:
    description:
      - The handler, for example V(nat_zero.handler.handler). For Python runtimes the module checks that its
        module file is in O(source_path).
      - Required to create the function; not set leaves an existing function's handler as it is.
    type: str
  runtime:
    description:
      - The runtime. Not set means V(python3.12) for a new function and leaves an existing function's as it is.
    type: str
  architecture:
    description:
      - The instruction set architecture. Not set means V(arm64) for a new function and leaves an existing
        function's as it is.
    type: str
    choices: [arm64, x86_64]
    aliases: [architectures]
  role_arn:
    description:
      - The ARN of the execution role, for example from M(natzero.aws.iam_role).
      - Required to create the function; not set leaves an existing function's role as it is.
    type: str
    aliases: [role]
  environment:
    description:
      - Environment variables. Values that are not strings are converted (lists and dictionaries to compact
        JSON, booleans to V(true)/V(false)).
      - Not set leaves an existing function's variables as they are; V({}) removes them all.
    type: dict
    aliases: [environment_variables]
  memory_size:
    description:
      - Memory in MB (128 to 10240). Not set means V(128) for a new function and leaves an existing function's
        as it is.
    type: int
  timeout:
    description:
      - Timeout in seconds (1 to 900). Not set means V(30) for a new function and leaves an existing
        function's as it is.
    type: int
  description:
    description:
      - The function's description. Not set leaves it as it is (empty for a new function).
    type: str
  reserved_concurrency:
    description:
      - Reserved concurrent executions. V(1) makes the function a single writer.
      - V(-1) removes any reservation (the function then uses the account's unreserved concurrency).
      - Not set leaves the reservation as it is (none for a new function).
    type: int
  maximum_retry_attempts:
    description:
      - How many times Lambda retries a failed asynchronous invocation (0 to 2).
    type: int
    default: 2
  maximum_event_age_seconds:
    description:
      - How long Lambda keeps an asynchronous event before dropping it (60 to 21600). Not set leaves it as it
        is (21600 for a new function).
      - The module changes only O(maximum_retry_attempts) and this setting of an existing asynchronous
        configuration (C(UpdateFunctionEventInvokeConfig)); other settings, such as destinations, stay as they
        are. C(PutFunctionEventInvokeConfig), which resets what it is not given, is used only when the
        function has no asynchronous configuration yet.
    type: int
  state:
    description:
      - V(present) creates or updates the function, V(absent) deletes it.
      - V(disabled) keeps the function but sets its reserved concurrency to 0, so no invocation runs and
        queued asynchronous events wait (and expire) instead. Only O(name) is needed. A teardown uses it
        first, so no event in flight can act while the resources it would act on are removed.
    type: str
    choices: [present, disabled, absent]
    default: present
  wait_timeout:
    description:
      - How many seconds to wait for the function to become active or finish an update, and at most how long
        to retry while its role cannot be assumed yet.
    type: int
    default: 300
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - The log group C(/aws/lambda/<name>) is not managed here; see M(natzero.aws.log_group).
seealso:
  - module: amazon.aws.lambda
    description: The amazon.aws module for Lambda functions from a zip file, S3 object or image.
  - module: natzero.aws.log_group
"""

EXAMPLES = r"""
- name: The reconciler
  natzero.aws.lambda_function:
    name: prod-nat-zero
    source_path: "{{ playbook_dir }}/../lambda_src"
    handler: nat_zero.handler.handler
    architecture: arm64
    role_arn: "{{ lambda_role.arn }}"
    reserved_concurrency: 1
    maximum_retry_attempts: 2
    environment:
      NAT_ZERO_NAME: prod
      NAT_ZERO_VPC_ID: vpc-0123456789abcdef0
      NAT_ZERO_ZONES: "{{ zones | to_json }}"
  register: reconciler

- name: Remove it
  natzero.aws.lambda_function:
    name: prod-nat-zero
    state: absent

- name: Stop every invocation before removing what the function manages
  natzero.aws.lambda_function:
    name: prod-nat-zero
    state: disabled
"""

RETURN = r"""
function_name:
  description: The function name.
  returned: success
  type: str
  sample: prod-nat-zero
function_arn:
  description: The function ARN. Null in check mode when it would be created, or when absent.
  returned: success
  type: str
  sample: arn:aws:lambda:us-east-1:123456789012:function:prod-nat-zero
code_sha256:
  description: The CodeSha256 of the packaged source (what the function runs after the run).
  returned: when O(state=present)
  type: str
  sample: 3kFh8lqGC1CbC2lTgW0pM1oH6rQ8mYyS1vK2L7a1Xq0=
zip_size:
  description: Size of the packaged source in bytes.
  returned: when O(state=present)
  type: int
  sample: 18211
version:
  description: The function version the settings apply to.
  returned: when O(state=present)
  type: str
  sample: $LATEST
environment:
  description: The environment variables after the run.
  returned: when O(state=present)
  type: dict
  sample: {NAT_ZERO_NAME: prod}
tags:
  description: The function's tags after the run.
  returned: when O(state=present)
  type: dict
  sample: {team: platform}
reserved_concurrency:
  description: The reserved concurrency after the run, null for none.
  returned: when O(state=present) or O(state=disabled)
  type: int
  sample: 1
configuration:
  description:
    - The function's configuration as Lambda describes it after the run, as amazon.aws.lambda returns it
      (snake_case keys; environment variable names and tags as they are).
    - In check mode, the configuration before the run; null when the function would be created.
  returned: when O(state=present)
  type: dict
  sample:
    function_name: prod-nat-zero
    function_arn: arn:aws:lambda:us-east-1:123456789012:function:prod-nat-zero
    runtime: python3.12
    handler: nat_zero.handler.handler
    architectures: [arm64]
    memory_size: 128
    timeout: 30
    environment: {variables: {NAT_ZERO_NAME: prod}}
    state: Active
    last_update_status: Successful
    tags: {team: platform}
code:
  description: Where Lambda keeps the function's code, as amazon.aws.lambda returns it. Null when
    the function would be created in check mode.
  returned: when O(state=present)
  type: dict
  sample: {repository_type: S3, location: "https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/snapshots/..."}
code_updated:
  description: Whether the code was (or, in check mode, would be) uploaded.
  returned: when O(state=present)
  type: bool
  sample: false
"""

import json
import os

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ValidationError,
    again_after,
    error_code,
    error_message,
    is_error,
    retry_while,
    snake_resource,
    wait_with,
)
from ansible_collections.natzero.aws.plugins.module_utils.package import build_zip, code_sha256
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    requested_tags,
    tags_after,
    tags_argument_spec,
)

MAX_DIRECT_UPLOAD = 50 * 1024 * 1024
# What a new function gets for the options a task leaves out.
CREATE_DEFAULTS = {"Runtime": "python3.12", "MemorySize": 128, "Timeout": 30, "Description": ""}
DEFAULT_ARCHITECTURE = "arm64"
# reserved_concurrency value that removes the reservation.
NO_RESERVATION = -1
# At most this long for IAM to let Lambda assume a new role.
ROLE_PROPAGATION_TIMEOUT = 120


def environment_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else str(value)


def snake_config(config):
    """A function configuration as the diff shows it: snake_case keys, environment variables as they are."""
    snake = camel_dict_to_snake_dict({k: v for k, v in config.items() if k != "Environment"})
    if "Environment" in config:
        snake["environment"] = config["Environment"]["Variables"]
    return snake


def role_not_assumable_yet(exc):
    return error_code(exc) == "InvalidParameterValueException" and "assumed" in error_message(exc)


def busy_or_role_pending(exc):
    # ResourceConflictException: another update is still in progress.
    return error_code(exc) == "ResourceConflictException" or role_not_assumable_yet(exc)


def validate_source_include(params):
    include = params["source_include"]
    if include is None:
        return
    for name in include:
        if (
            not name
            or "/" in name
            or name in (".", "..")
            or not os.path.exists(os.path.join(params["source_path"], name))
        ):
            raise ValidationError(
                "source_include %r is not a top-level file or directory of source_path %s"
                % (name, params["source_path"])
            )
    # handler may be left out (the function's own is kept); runtime too (the create default).
    if not params["handler"] or not (params["runtime"] or CREATE_DEFAULTS["Runtime"]).startswith("python"):
        return
    top_level = params["handler"].split(".", 1)[0]
    if top_level not in include and top_level + ".py" not in include:
        raise ValidationError("handler %s: %s is not in source_include %s" % (params["handler"], top_level, include))


def validate(params):
    if params["state"] != "present":
        return
    source = params["source_path"]
    if not os.path.isdir(source):
        raise ValidationError("source_path %s is not a directory" % source)
    if params["handler"] and (params["runtime"] or CREATE_DEFAULTS["Runtime"]).startswith("python"):
        module_path, dot, function = params["handler"].rpartition(".")
        handler_file = os.path.join(source, *module_path.split(".")) + ".py"
        if not (module_path and dot and function):
            raise ValidationError("handler %r must be <module>.<function>" % params["handler"])
        if not os.path.isfile(handler_file):
            raise ValidationError(
                "handler %s: %s does not exist in source_path %s" % (params["handler"], handler_file, source)
            )
    validate_source_include(params)
    if params["memory_size"] is not None and not 128 <= params["memory_size"] <= 10240:
        raise ValidationError("memory_size must be between 128 and 10240 MB")
    if params["timeout"] is not None and not 1 <= params["timeout"] <= 900:
        raise ValidationError("timeout must be between 1 and 900 seconds")
    if not 0 <= params["maximum_retry_attempts"] <= 2:
        raise ValidationError("maximum_retry_attempts must be between 0 and 2")
    age = params["maximum_event_age_seconds"]
    if age is not None and not 60 <= age <= 21600:
        raise ValidationError("maximum_event_age_seconds must be between 60 and 21600")
    if params["reserved_concurrency"] is not None and params["reserved_concurrency"] < NO_RESERVATION:
        raise ValidationError("reserved_concurrency must be 0 or more, or -1 to remove the reservation")


class Function:
    def __init__(self, module):
        self.module = module
        self.lam = module.client("lambda")
        self.name = module.params["name"]
        self.timeout = module.params["wait_timeout"]
        self.changed = False

    def get(self):
        try:
            return self.lam.get_function(FunctionName=self.name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise

    def wait_updated(self):
        wait_with(
            self.lam,
            "function_updated_v2",
            "function %s to finish updating" % self.name,
            timeout=self.timeout,
            delay=2,
            FunctionName=self.name,
        )

    def call(self, method, **kwargs):
        """An update call, retried while another update runs or the role is not assumable yet."""
        return retry_while(
            lambda: method(**kwargs), busy_or_role_pending, timeout=min(self.timeout, ROLE_PROPAGATION_TIMEOUT)
        )

    def desired_config(self):
        """The configuration the task asks for: only the options it sets."""
        p = self.module.params
        desired = {
            "Role": p["role_arn"],
            "Handler": p["handler"],
            "Runtime": p["runtime"],
            "MemorySize": p["memory_size"],
            "Timeout": p["timeout"],
            "Description": p["description"],
        }
        if p["environment"] is not None:
            variables = {str(k): environment_value(v) for k, v in p["environment"].items()}
            desired["Environment"] = {"Variables": variables}
        return {k: v for k, v in desired.items() if v is not None}

    @staticmethod
    def current_config(configuration):
        return {
            "Role": configuration.get("Role"),
            "Handler": configuration.get("Handler"),
            "Runtime": configuration.get("Runtime"),
            "MemorySize": configuration.get("MemorySize"),
            "Timeout": configuration.get("Timeout"),
            "Description": configuration.get("Description") or "",
            "Environment": {"Variables": (configuration.get("Environment") or {}).get("Variables") or {}},
        }

    # -- present -------------------------------------------------------------

    def present(self):
        p = self.module.params
        package = build_zip(p["source_path"], p["source_include"])
        if len(package) > MAX_DIRECT_UPLOAD:
            raise ValidationError(
                "source_path packs into %d bytes, more than Lambda's direct upload limit of 50 MB" % len(package)
            )
        sha = code_sha256(package)
        desired = self.desired_config()
        existing = self.get()
        if existing is None:
            desired = {**CREATE_DEFAULTS, "Environment": {"Variables": {}}, **desired}
            before, arn = None, self.create(package, desired)
            code_updated = True
            tags = requested_tags(p) or {}
        else:
            configuration = existing["Configuration"]
            arn = configuration["FunctionArn"]
            before = dict(
                self.current_config(configuration),
                CodeSha256=configuration.get("CodeSha256"),
                Architectures=configuration.get("Architectures"),
            )
            if configuration.get("State") == "Pending" or configuration.get("LastUpdateStatus") == "InProgress":
                self.wait_ready()
            code_updated = self.update_code(configuration, package, sha)
            self.update_config(before, desired)
            tags = self.update_tags(arn, existing.get("Tags") or {})
            desired = {**before, **desired}
        reserved = self.ensure_concurrency(existing)
        self.ensure_async_config(existing is None)
        result = dict(
            changed=self.changed,
            function_name=self.name,
            function_arn=arn,
            code_sha256=sha,
            zip_size=len(package),
            version="$LATEST",
            environment=desired["Environment"]["Variables"],
            reserved_concurrency=reserved,
            code_updated=code_updated,
            tags=tags,
            **self.described(existing, tags),
        )
        if self.module.diff_mode:
            architectures = [p["architecture"]] if p["architecture"] else (before or {}).get("Architectures")
            after = dict(desired, CodeSha256=sha, Architectures=architectures or [DEFAULT_ARCHITECTURE])
            result["diff"] = {"before": snake_config(before or {}), "after": snake_config(after)}
        return result

    def described(self, existing, tags):
        """configuration and code as amazon.aws.lambda returns them: what Lambda says after the run
        (before it, in check mode; null for a function check mode would create)."""
        function = existing if self.module.check_mode else self.get()
        if function is None:
            return dict(configuration=None, code=None)
        configuration = snake_resource(function["Configuration"], tags=tags, ignore=("Environment",))
        variables = (function["Configuration"].get("Environment") or {}).get("Variables") or {}
        configuration["environment"] = {"variables": variables}
        return dict(configuration=configuration, code=snake_resource(function.get("Code")))

    def wait_ready(self):
        wait_with(
            self.lam,
            "function_active_v2",
            "function %s to become active" % self.name,
            timeout=self.timeout,
            delay=2,
            FunctionName=self.name,
        )
        self.wait_updated()

    def create(self, package, desired):
        p = self.module.params
        # In check mode a role created earlier in the same run has no ARN yet: only a real run needs one.
        needed = ("handler",) if self.module.check_mode else ("handler", "role_arn")
        missing = [option for option in needed if not p[option]]
        if missing:
            raise ValidationError(
                "Function %s does not exist: %s needed to create it" % (self.name, " and ".join(missing))
            )
        self.changed = True
        if self.module.check_mode:
            return None
        kwargs = dict(
            FunctionName=self.name,
            Code={"ZipFile": package},
            Architectures=[p["architecture"] or DEFAULT_ARCHITECTURE],
            PackageType="Zip",
            Publish=False,
            Tags=requested_tags(p) or {},
            **desired,
        )
        created = retry_while(
            lambda: self.lam.create_function(**kwargs),
            role_not_assumable_yet,
            timeout=min(self.timeout, ROLE_PROPAGATION_TIMEOUT),
        )
        self.wait_ready()
        return created["FunctionArn"]

    def update_code(self, configuration, package, sha):
        deployed_architectures = configuration.get("Architectures") or ["x86_64"]
        architecture = self.module.params["architecture"] or deployed_architectures[0]
        if configuration.get("CodeSha256") == sha and deployed_architectures == [architecture]:
            return False
        self.changed = True
        if not self.module.check_mode:
            self.call(
                self.lam.update_function_code, FunctionName=self.name, ZipFile=package, Architectures=[architecture]
            )
            self.wait_updated()
        return True

    def update_config(self, current, desired):
        changes = {k: v for k, v in desired.items() if current.get(k) != v}
        if not changes:
            return
        self.changed = True
        if not self.module.check_mode:
            self.call(self.lam.update_function_configuration, FunctionName=self.name, **changes)
            self.wait_updated()

    def update_tags(self, arn, current):
        """Bring the tags to what the task asks for; the tags after the run."""
        p = self.module.params
        wanted = requested_tags(p)
        to_set, to_remove = compare_tags(current, wanted, p["purge_tags"])
        if to_set or to_remove:
            self.changed = True
            if not self.module.check_mode:
                if to_remove:
                    self.lam.untag_resource(Resource=arn, TagKeys=to_remove)
                if to_set:
                    self.lam.tag_resource(Resource=arn, Tags=to_set)
        return tags_after(current, wanted, p["purge_tags"])

    def ensure_concurrency(self, existing):
        wanted = self.module.params["reserved_concurrency"]
        current = ((existing or {}).get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        if wanted == NO_RESERVATION:
            wanted = None
        elif wanted is None:
            return current
        if current == wanted:
            return current
        self.changed = True
        if not self.module.check_mode:
            if wanted is None:
                self.lam.delete_function_concurrency(FunctionName=self.name)
            else:
                self.lam.put_function_concurrency(FunctionName=self.name, ReservedConcurrentExecutions=wanted)
        return wanted

    def ensure_async_config(self, created):
        p = self.module.params
        wanted = {"MaximumRetryAttempts": p["maximum_retry_attempts"]}
        if p["maximum_event_age_seconds"] is not None:
            wanted["MaximumEventAgeInSeconds"] = p["maximum_event_age_seconds"]
        current = {}
        if not (created and self.module.check_mode):
            try:
                current = self.lam.get_function_event_invoke_config(FunctionName=self.name)
            except ClientError as exc:
                if not is_error(exc, "ResourceNotFoundException"):
                    raise
        if current and all(current.get(k) == v for k, v in wanted.items()):
            return
        self.changed = True
        if self.module.check_mode:
            return
        # Put replaces the whole configuration (what it leaves out is reset:
        # the event age to 21600, destinations removed); Update changes only
        # the fields it is given, but needs a configuration to exist.
        if current:
            self.call(self.lam.update_function_event_invoke_config, FunctionName=self.name, **wanted)
        else:
            self.call(self.lam.put_function_event_invoke_config, FunctionName=self.name, **wanted)

    # -- disabled ------------------------------------------------------------

    def disabled(self):
        """The function stays, but no invocation runs: reserved concurrency 0."""
        existing = self.get()
        if existing is None:
            return dict(changed=False, function_name=self.name, function_arn=None, reserved_concurrency=None)
        current = self.lam.get_function_concurrency(FunctionName=self.name).get("ReservedConcurrentExecutions")
        if current != 0:
            self.changed = True
            if not self.module.check_mode:
                self.lam.put_function_concurrency(FunctionName=self.name, ReservedConcurrentExecutions=0)
        result = dict(
            changed=self.changed,
            function_name=self.name,
            function_arn=existing["Configuration"]["FunctionArn"],
            reserved_concurrency=0,
        )
        if self.module.diff_mode:
            result["diff"] = {"before": {"reserved_concurrency": current}, "after": {"reserved_concurrency": 0}}
        return result

    # -- absent --------------------------------------------------------------

    def absent(self):
        existing = self.get()
        if existing is not None:
            self.changed = True
            if not self.module.check_mode:
                try:
                    self.call(self.lam.delete_function, FunctionName=self.name)
                except ClientError as exc:
                    if not is_error(exc, "ResourceNotFoundException"):
                        raise
        result = dict(changed=self.changed, function_name=self.name, function_arn=None)
        if self.module.diff_mode:
            before = {"function_arn": existing["Configuration"]["FunctionArn"]} if existing else {}
            result["diff"] = {"before": before, "after": {}}
        return result


def ensure(module):
    validate(module.params)
    function = Function(module)
    if module.params["state"] == "absent":
        return function.absent()
    if module.params["state"] == "disabled":
        return function.disabled()
    # The run that loses a race to another creation: CreateFunction answers
    # ResourceConflictException ("Function already exist").
    return again_after("ResourceConflictException", lambda: Function(module).present())


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["function_name"]),
        source_path=dict(type="path"),
        source_include=dict(type="list", elements="str"),
        handler=dict(type="str"),
        runtime=dict(type="str"),
        architecture=dict(type="str", choices=["arm64", "x86_64"], aliases=["architectures"]),
        role_arn=dict(type="str", aliases=["role"]),
        environment=dict(type="dict", aliases=["environment_variables"]),
        memory_size=dict(type="int"),
        timeout=dict(type="int"),
        description=dict(type="str"),
        reserved_concurrency=dict(type="int"),
        maximum_retry_attempts=dict(type="int", default=2),
        maximum_event_age_seconds=dict(type="int"),
        state=dict(type="str", choices=["present", "disabled", "absent"], default="present"),
        wait_timeout=dict(type="int", default=300),
        **tags_argument_spec(),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("source_path",))],
    )
    module.run(ensure, resource="Lambda function %s" % module.params["name"])


if __name__ == "__main__":
    main()
