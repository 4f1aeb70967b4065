from __future__ import annotations

import io
import json
import os
import zipfile

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from ansible_collections.natzero.aws.plugins.module_utils.package import build_zip, code_sha256
from ansible_collections.natzero.aws.plugins.modules import lambda_function
from tests.support.lambda_fidelity import LambdaFidelity

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def source(tmp_path):
    package = tmp_path / "src" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"litter")
    (package / "stale.pyc").write_bytes(b"litter")
    return tmp_path / "src"


@pytest.fixture
def role_arn(aws):
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]


@pytest.fixture
def args(source, role_arn):
    return dict(
        name="prod-nat-zero",
        source_path=str(source),
        handler="app.handler.handler",
        role_arn=role_arn,
        environment={"NAT_ZERO_NAME": "prod", "NAT_ZERO_ZONES": {"us-east-1a": {"launch_template_id": "lt-1"}}},
        reserved_concurrency=1,
        maximum_retry_attempts=1,
        maximum_event_age_seconds=3600,
        tags={"team": "platform"},
    )


def test_package_is_reproducible_and_leaves_out_build_litter(source):
    first = build_zip(str(source))
    os.utime(source / "app" / "handler.py", (0, 0))

    assert build_zip(str(source)) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["app/__init__.py", "app/handler.py"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_create_deploys_code_config_concurrency_and_async_settings(run_module, lam, args, source):
    result = run_module(lambda_function, args)

    assert result["changed"] is True
    assert result["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:prod-nat-zero"
    assert result["code_sha256"] == code_sha256(build_zip(str(source)))
    function = lam.get_function(FunctionName="prod-nat-zero")
    configuration = function["Configuration"]
    assert configuration["CodeSha256"] == result["code_sha256"]
    assert configuration["Architectures"] == ["arm64"]
    assert configuration["Handler"] == "app.handler.handler"
    assert configuration["Runtime"] == "python3.12"
    assert configuration["Environment"]["Variables"] == {
        "NAT_ZERO_NAME": "prod",
        "NAT_ZERO_ZONES": '{"us-east-1a":{"launch_template_id":"lt-1"}}',
    }
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 1
    invoke_config = lam.get_function_event_invoke_config(FunctionName="prod-nat-zero")
    assert (invoke_config["MaximumRetryAttempts"], invoke_config["MaximumEventAgeInSeconds"]) == (1, 3600)
    assert function["Tags"] == {"team": "platform"}


def test_second_run_uploads_nothing(run_module, args):
    first = run_module(lambda_function, args)
    second = run_module(lambda_function, args)

    assert second["changed"] is False
    assert second["code_updated"] is False
    assert second["code_sha256"] == first["code_sha256"]


def test_changed_source_and_environment_are_updated(run_module, lam, args, source):
    first = run_module(lambda_function, args)
    (source / "app" / "handler.py").write_text("def handler(event, context):\n    return None\n")

    result = run_module(lambda_function, dict(args, environment={"NAT_ZERO_NAME": "other"}), diff=True)

    assert result["changed"] is True and result["code_updated"] is True
    assert result["code_sha256"] != first["code_sha256"]
    configuration = lam.get_function(FunctionName="prod-nat-zero")["Configuration"]
    assert configuration["CodeSha256"] == result["code_sha256"]
    assert configuration["Environment"]["Variables"] == {"NAT_ZERO_NAME": "other"}
    assert result["diff"]["before"]["code_sha256"] == first["code_sha256"]
    assert result["diff"]["after"]["environment"] == {"NAT_ZERO_NAME": "other"}  # variable names kept as they are
    assert result["diff"]["after"]["architectures"] == ["arm64"]


def test_check_mode_creates_and_updates_nothing(run_module, lam, args, source):
    assert run_module(lambda_function, args, check_mode=True)["changed"] is True
    assert lam.list_functions()["Functions"] == []

    run_module(lambda_function, args)
    update = run_module(lambda_function, dict(args, memory_size=256), check_mode=True)
    assert update["changed"] is True
    assert lam.get_function(FunctionName="prod-nat-zero")["Configuration"]["MemorySize"] == 128


def test_create_retries_while_the_new_role_cannot_be_assumed(run_module, lam, args, monkeypatch):
    real_call = botocore.client.BaseClient._make_api_call
    refusals = []

    def iam_not_propagated(self, operation, params):
        if operation == "CreateFunction" and len(refusals) < 2:
            refusals.append(operation)
            error = {
                "Code": "InvalidParameterValueException",
                "Message": "The role defined for the function cannot be assumed by Lambda.",
            }
            raise ClientError({"Error": error}, operation)
        return real_call(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", iam_not_propagated)

    assert run_module(lambda_function, args)["changed"] is True
    assert len(refusals) == 2
    assert lam.get_function(FunctionName="prod-nat-zero")["Configuration"]["State"] == "Active"


def test_a_create_that_loses_a_race_converges_on_the_function_the_other_run_made(
    run_module, lam, args, source, role_arn, hook_module_clients
):
    """Two deployments of a region create the shared dispatcher's function at
    once: the other one creates it (without environment or reservation) between this
    run's read and its CreateFunction, which Lambda answers
    ResourceConflictException. This run reads again and updates it."""
    conflicts = []

    def install(client):
        def other_run_creates_it_first(**_):
            if not lam.list_functions()["Functions"]:
                lam.create_function(
                    FunctionName="prod-nat-zero",
                    Runtime="python3.12",
                    Role=role_arn,
                    Handler="app.handler.handler",
                    Code={"ZipFile": build_zip(str(source))},
                )

        def count_conflicts(parsed, **_):
            if parsed.get("Error", {}).get("Code") == "ResourceConflictException":
                conflicts.append(parsed["Error"])

        client.meta.events.register("before-call.lambda.CreateFunction", other_run_creates_it_first)
        client.meta.events.register("after-call.lambda.CreateFunction", count_conflicts)

    hook_module_clients("lambda", install)

    result = run_module(lambda_function, args)

    assert len(conflicts) == 1
    assert result["changed"] is True
    configuration = lam.get_function(FunctionName="prod-nat-zero")["Configuration"]
    assert configuration["Environment"]["Variables"]["NAT_ZERO_NAME"] == "prod"
    assert configuration["CodeSha256"] == result["code_sha256"]
    assert lam.get_function_concurrency(FunctionName="prod-nat-zero")["ReservedConcurrentExecutions"] == 1


def test_reserved_concurrency_minus_one_removes_the_reservation(run_module, lam, args):
    run_module(lambda_function, args)

    result = run_module(lambda_function, dict(args, reserved_concurrency=-1))

    assert result["changed"] is True and result["reserved_concurrency"] is None
    assert "Concurrency" not in lam.get_function(FunctionName="prod-nat-zero")


def test_absent_deletes_the_function(run_module, lam, args):
    run_module(lambda_function, args)
    absent = dict(name="prod-nat-zero", state="absent")

    assert run_module(lambda_function, absent, check_mode=True)["changed"] is True
    assert run_module(lambda_function, absent)["changed"] is True
    assert lam.list_functions()["Functions"] == []
    assert run_module(lambda_function, absent)["changed"] is False


def test_handler_missing_from_the_source_fails(fails, args):
    failure = fails(lambda_function, dict(args, handler="nat_zero.handler.handler"))

    assert "handler nat_zero.handler.handler" in failure["msg"] and "does not exist" in failure["msg"]


def test_source_path_must_be_a_directory(fails, args, tmp_path):
    assert "is not a directory" in fails(lambda_function, dict(args, source_path=str(tmp_path / "nope")))["msg"]


def test_disabled_sets_reserved_concurrency_to_zero_and_is_idempotent(run_module, lam, args):
    run_module(lambda_function, args)

    result = run_module(lambda_function, dict(name=args["name"], state="disabled"))

    assert result["changed"] is True and result["reserved_concurrency"] == 0
    assert lam.get_function_concurrency(FunctionName=args["name"])["ReservedConcurrentExecutions"] == 0
    assert run_module(lambda_function, dict(name=args["name"], state="disabled"))["changed"] is False


def test_disabled_in_check_mode_changes_nothing(run_module, lam, args):
    run_module(lambda_function, args)

    result = run_module(lambda_function, dict(name=args["name"], state="disabled"), check_mode=True)

    assert result["changed"] is True
    assert lam.get_function_concurrency(FunctionName=args["name"])["ReservedConcurrentExecutions"] == 1


def test_disabled_on_a_missing_function_changes_nothing(run_module):
    result = run_module(lambda_function, dict(name="never-deployed", state="disabled"))

    assert result["changed"] is False and result["function_arn"] is None


@pytest.fixture
def two_functions_source(source):
    """A source_path holding the packages of two functions, as lambda_src/ does."""
    other = source / "other"
    other.mkdir()
    (other / "__init__.py").write_text("")
    (other / "handler.py").write_text("def handler(event, context):\n    return None\n")
    (source / "README.md").write_text("two functions\n")
    return source


def test_source_include_packages_only_the_named_top_level_entries(run_module, lam, args, two_functions_source):
    result = run_module(lambda_function, dict(args, source_include=["app"]))

    code = lam.get_function(FunctionName="prod-nat-zero")["Configuration"]["CodeSha256"]
    assert code == result["code_sha256"] == code_sha256(build_zip(str(two_functions_source), ["app"]))
    with zipfile.ZipFile(io.BytesIO(build_zip(str(two_functions_source), ["app"]))) as archive:
        assert archive.namelist() == ["app/__init__.py", "app/handler.py"]
    # The other function's package changing does not change this one's code.
    (two_functions_source / "other" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    assert run_module(lambda_function, dict(args, source_include=["app"]))["changed"] is False


@pytest.mark.parametrize(
    ("include", "message"),
    [
        (["missing"], "source_include 'missing' is not a top-level file or directory of source_path"),
        (["app/handler.py"], "source_include 'app/handler.py' is not a top-level file or directory"),
        (["other"], "handler app.handler.handler: app is not in source_include ['other']"),
    ],
)
def test_a_bad_source_include_fails_before_any_change(fails, lam, args, two_functions_source, include, message):
    assert message in fails(lambda_function, dict(args, source_include=include))["msg"]
    assert lam.list_functions()["Functions"] == []


@pytest.fixture
def lambda_fidelity(hook_module_clients):
    """Lambda's asynchronous-configuration semantics on every lambda client the module makes."""
    fidelity = LambdaFidelity()
    hook_module_clients("lambda", fidelity.install)
    return fidelity


def test_changing_retry_attempts_keeps_event_age_and_destinations(run_module, args, lambda_fidelity):
    run_module(lambda_function, args)
    configs = lambda_fidelity.event_invoke_configs
    destination = {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dead-letters"}}
    configs["prod-nat-zero"]["DestinationConfig"] = destination

    result = run_module(lambda_function, dict(args, maximum_retry_attempts=0, maximum_event_age_seconds=None))

    assert result["changed"] is True
    assert configs["prod-nat-zero"] == {
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": destination,
    }
    assert lambda_fidelity.calls[-1] == "UpdateFunctionEventInvokeConfig"


def test_async_settings_are_put_once_then_unchanged(run_module, args, lambda_fidelity):
    run_module(lambda_function, args)

    assert run_module(lambda_function, args)["changed"] is False
    assert [c for c in lambda_fidelity.calls if c != "GetFunctionEventInvokeConfig"] == ["PutFunctionEventInvokeConfig"]
