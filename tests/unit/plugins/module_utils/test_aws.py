from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.natzero.aws.plugins.module_utils import aws as aws_utils
from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    WaitTimeout,
    retry_on_codes,
    wait_until,
)


def client_error(code, operation="CreateThing", message="nope"):
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def failing(*errors, result="ok"):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def test_retry_on_codes_retries_the_named_codes_and_throttling(aws):
    call, calls = failing(client_error("InvalidGroup.NotFound"), client_error("RequestLimitExceeded"))

    assert retry_on_codes(call, ["InvalidGroup.NotFound"]) == "ok"
    assert len(calls) == 3


def test_retry_on_codes_raises_other_errors_at_once(aws):
    call, calls = failing(client_error("AccessDenied"))

    with pytest.raises(ClientError):
        retry_on_codes(call, ["InvalidGroup.NotFound"])
    assert len(calls) == 1


def test_retry_on_codes_gives_up_when_time_is_up(aws):
    call, calls = failing(*[client_error("InvalidGroup.NotFound")] * 100)

    with pytest.raises(ClientError):
        retry_on_codes(call, ["InvalidGroup.NotFound"], timeout=0)
    assert len(calls) == 1


def test_backoff_delays_are_jittered_and_capped():
    delays = aws_utils.backoff_delays(base_delay=1, max_delay=4)
    first = [next(delays) for _ in range(20)]
    assert all(0 <= d <= 4 for d in first)
    assert len(set(first)) > 1


def test_wait_until_returns_the_first_truthy_answer_or_times_out(aws):
    answers = iter([None, None, "ready"])
    assert wait_until(lambda: next(answers), "thing", timeout=60, delay=1) == "ready"
    with pytest.raises(WaitTimeout, match="waiting for thing"):
        wait_until(lambda: None, "thing", timeout=0, delay=1)


@pytest.fixture
def module(run_module):
    """An AWSModule built from args (run_module's failure capture applies)."""
    from ansible.module_utils.testing import patch_module_args

    def build(**args):
        with patch_module_args(args):
            return AWSModule(argument_spec={}, supports_check_mode=True)

    return build


def test_one_readable_failure_names_operation_and_code(aws, module):

    with pytest.raises(Exception) as info:
        module().fail_json_aws(
            client_error("InvalidVpcID.NotFound", "DescribeVpcs", "The vpc ID 'vpc-1' does not exist")
        )
    result = info.value.result
    assert result["msg"] == "DescribeVpcs failed: InvalidVpcID.NotFound: The vpc ID 'vpc-1' does not exist"
    assert result["error"]["code"] == "InvalidVpcID.NotFound"


def test_region_comes_from_the_option_then_the_environment(aws, module, monkeypatch):
    assert module().region == "us-east-1"
    assert module(region="eu-west-1").region == "eu-west-1"
    assert module(aws_region="eu-west-2").region == "eu-west-2"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert module().region == "ap-south-1"


def test_missing_region_fails_clearly(aws, module, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(Exception, match="No AWS region"):
        module().client("ec2")


def test_clients_honour_endpoint_url_option_and_environment(aws, module, monkeypatch):
    assert module(endpoint_url="http://127.0.0.1:1").client("ec2").meta.endpoint_url == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    assert module().client("ec2").meta.endpoint_url == "http://127.0.0.1:2"


def test_clients_retry_throttling_in_standard_mode(aws, module):
    config = module().client("ec2").meta.config
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == aws_utils.MAX_ATTEMPTS


def test_access_key_requires_secret_key(aws, module, monkeypatch):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(Exception, match="secret_key"):
        module(access_key="AKIA")


def test_connection_failures_name_the_operation(run_module, monkeypatch):
    from ansible_collections.natzero.aws.plugins.modules import log_group

    monkeypatch.setattr(aws_utils, "MAX_ATTEMPTS", 1)
    with pytest.raises(Exception) as info:
        run_module(log_group, dict(name="x", endpoint_url="http://127.0.0.1:1"))
    assert info.value.result["msg"].startswith("log group x: DescribeLogGroups failed: EndpointConnectionError")


def test_aws_errors_name_the_resource_and_snake_case_the_response_metadata(run_module):
    from ansible_collections.natzero.aws.plugins.modules import iam_role

    run_module(iam_role, dict(name="other", assume_role_service=["ec2.amazonaws.com"]))
    with pytest.raises(Exception) as info:
        run_module(iam_role, dict(name="other", managed_policy_arns=["arn:aws:iam::123456789012:policy/missing"]))

    result = info.value.result
    assert result["msg"].startswith("IAM role other: AttachRolePolicy failed: NoSuchEntity")
    assert result["response_metadata"]["http_status_code"] == 404
    assert "RequestId" not in result["response_metadata"]


# -- connection options as amazon.aws 10+ spells them ----------------------------


def tls_verify_of(client):
    # What botocore's HTTP session will verify the endpoint's certificate with.
    return client._endpoint.http_session._verify


def test_aws_ca_bundle_from_the_environment_is_honoured(aws, module, monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))

    assert tls_verify_of(module().client("ec2")) == str(bundle)


def test_aws_ca_bundle_option_and_validate_certs(aws, module, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")

    assert tls_verify_of(module(aws_ca_bundle=str(bundle)).client("ec2")) == str(bundle)
    assert tls_verify_of(module(aws_ca_bundle=str(bundle), validate_certs=False).client("ec2")) is False
    assert tls_verify_of(module().client("ec2")) not in (False, str(bundle))  # botocore's own CA store


def test_profile_together_with_keys_fails_before_any_aws_call(aws, module):
    with pytest.raises(Exception) as info:
        module(profile="team", access_key="AKIA", secret_key="x")

    assert info.value.result["msg"].startswith("profile=team cannot be used together with access_key, secret_key")


def test_keys_from_the_environment_conflict_with_a_profile_as_in_amazon_aws(aws, module, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "team")

    with pytest.raises(Exception, match="profile=team cannot be used together with access_key, secret_key"):
        module()


def test_amazon_aws_environment_fallbacks(aws, module, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ACCESS_KEY", "AKIAOLD")
    monkeypatch.setenv("AWS_SECRET_KEY", "old-secret")
    monkeypatch.setenv("AWS_URL", "http://127.0.0.1:3")

    built = module()

    assert (built.params["access_key"], built.params["secret_key"]) == ("AKIAOLD", "old-secret")
    assert built.client("ec2").meta.endpoint_url == "http://127.0.0.1:3"
    monkeypatch.delenv("AWS_ACCESS_KEY")
    monkeypatch.delenv("AWS_SECRET_KEY")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "team")
    assert module().params["profile"] == "team"


@pytest.mark.parametrize("removed", ["ec2_region", "ec2_url", "ec2_access_key", "security_token", "aws_security_token"])
def test_aliases_amazon_aws_removed_are_rejected(aws, module, removed):
    with pytest.raises(Exception, match="Unsupported parameters"):
        module(**{removed: "x"})


def test_ec2_region_in_the_environment_is_ignored(aws, module, monkeypatch):
    monkeypatch.setenv("EC2_REGION", "eu-west-3")

    assert module().region == "us-east-1"


def test_aws_config_overrides_the_client_settings_and_keeps_the_retries(aws, module):
    config = module(aws_config={"read_timeout": 7, "connect_timeout": 3}).client("ec2").meta.config

    assert (config.read_timeout, config.connect_timeout) == (7, 3)
    assert config.retries["mode"] == "standard"
    assert aws_utils.USER_AGENT in config.user_agent_extra


def test_aws_config_that_botocore_rejects_fails_naming_the_option(aws, module):
    with pytest.raises(Exception, match="aws_config is not a botocore Config: .*read_timeuot"):
        module(aws_config={"read_timeuot": 7})


def test_debug_botocore_endpoint_logs_returns_the_calls_made(run_module):
    from ansible_collections.natzero.aws.plugins.modules import log_group

    result = run_module(log_group, dict(name="/debug", retention_days=7, debug_botocore_endpoint_logs=True))

    assert result["resource_actions"] == ["logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy"]
    assert "resource_actions" not in run_module(log_group, dict(name="/debug"))


def test_the_user_agent_carries_the_version_galaxy_yml_declares():
    from pathlib import Path

    import yaml

    galaxy = yaml.safe_load((Path(__file__).resolve().parents[4] / "galaxy.yml").read_text())
    assert galaxy["version"] == aws_utils.COLLECTION_VERSION
    assert "natzero.aws/%s" % galaxy["version"] == aws_utils.USER_AGENT


def test_an_sdk_below_the_tested_minimum_is_named():
    assert aws_utils.sdk_below_minimum({"boto3": "1.28.0", "botocore": "1.31.0"}) == ""
    assert aws_utils.sdk_below_minimum({"boto3": "1.44.5", "botocore": "1.44.5"}) == ""
    assert aws_utils.sdk_below_minimum({"boto3": "1.27.9", "botocore": "1.31.0"}) == "boto3 1.27.9"
    assert aws_utils.sdk_below_minimum({"boto3": "1.9.0", "botocore": "1.9.0"}) == "boto3 1.9.0, botocore 1.9.0"


def test_modules_warn_when_the_sdk_is_older_than_tested(aws, module, monkeypatch):
    import boto3

    warnings = []
    monkeypatch.setattr(AWSModule, "warn", lambda self, warning: warnings.append(warning))
    monkeypatch.setattr(boto3, "__version__", "1.20.0")

    module()

    assert warnings == ["natzero.aws is tested with boto3 >= 1.28.0 and botocore >= 1.31.0; this host has boto3 1.20.0"]
