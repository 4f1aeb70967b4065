"""The region comes from where the user put it: nat_zero_region, module_defaults
(`group/natzero.aws.aws`), the environment or a profile. The role passes
`region` to the modules only when nat_zero_region is set, and checks the AZs
against the region AWS actually answered from. moto is multi-region, so a
deployment in the wrong region is a deployment that is not where the test
looks."""

from __future__ import annotations

import pytest
import yaml

from playbooks.sandbox import create_vpc
from playbooks.sandbox.inventory import deployment_resources, leftovers, resource_names
from tests.support.moto import clients

pytestmark = pytest.mark.integration

ENV_REGION = "us-east-1"
DEFAULTS_REGION = "eu-west-1"
PROFILE_REGION = "eu-west-2"


def _play(path, state: str, module_defaults: dict) -> str:
    path.write_text(
        yaml.safe_dump(
            [
                {
                    "name": f"nat_zero {state} with the region in module_defaults",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "module_defaults": {"group/natzero.aws.aws": module_defaults},
                    "roles": [{"role": "natzero.aws.nat_zero", "vars": {"nat_zero_state": state}}],
                }
            ]
        )
    )
    return str(path)


def test_module_defaults_region_wins_over_aws_default_region(moto_endpoint, run_playbook, tmp_path):
    aws = clients(moto_endpoint, DEFAULTS_REGION)
    variables = create_vpc.create_vpc(aws("ec2"), "regional", ("eu-west-1a", "eu-west-1b"), 71)
    named = resource_names("regional")

    deploy = run_playbook(_play(tmp_path / "deploy.yml", "present", {"region": DEFAULTS_REGION}), variables)

    deploy.assert_ok()
    function = aws("lambda").get_function_configuration(FunctionName=named["function"])
    assert function["Environment"]["Variables"]["NAT_ZERO_REGION"] == DEFAULTS_REGION
    assert f":{DEFAULTS_REGION}:" in function["FunctionArn"]
    # Nothing went to the environment's region.
    elsewhere = clients(moto_endpoint, ENV_REGION)
    assert named["function"] not in [f["FunctionName"] for f in elsewhere("lambda").list_functions()["Functions"]]

    identity = {key: variables[key] for key in ("nat_zero_name", "nat_zero_vpc_id")}
    run_playbook(_play(tmp_path / "teardown.yml", "absent", {"region": DEFAULTS_REGION}), identity).assert_ok()
    assert leftovers(deployment_resources(aws, "regional", variables["nat_zero_vpc_id"])) == {}


def test_azs_are_checked_against_the_module_defaults_region(moto_endpoint, run_playbook, tmp_path):
    variables = create_vpc.create_vpc(clients(moto_endpoint, DEFAULTS_REGION)("ec2"), "wrongaz", ("eu-west-1a",), 72)
    variables["nat_zero_availability_zones"] = ["us-east-1a"]

    run = run_playbook(_play(tmp_path / "deploy.yml", "present", {"region": DEFAULTS_REGION}), variables)

    assert run.returncode != 0
    assert "nat_zero_availability_zones[0] 'us-east-1a' is not an availability zone of region eu-west-1" in run.output


def test_a_profiles_region_applies_when_nothing_else_sets_one(moto_endpoint, run_playbook, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile sandbox]\nregion = {PROFILE_REGION}\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    variables = create_vpc.create_vpc(clients(moto_endpoint, PROFILE_REGION)("ec2"), "profiled", ("eu-west-2a",), 73)
    # An AZ of another region: the message names the region the profile gave.
    variables["nat_zero_availability_zones"] = ["us-east-1a"]
    no_region = {
        "AWS_DEFAULT_REGION": None,
        "AWS_REGION": None,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        # The profile brings its own keys: a profile together with keys is an
        # error, as in amazon.aws.
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
    }

    run = run_playbook(_play(tmp_path / "deploy.yml", "present", {"profile": "sandbox"}), variables, env=no_region)

    assert run.returncode != 0
    assert f"not an availability zone of region {PROFILE_REGION}" in run.output, run.tail()


def test_no_region_anywhere_is_one_named_error(run_playbook, make_vpc):
    variables = make_vpc("noregion", second_octet=74)

    run = run_playbook(
        "site.yml", variables, env={"AWS_DEFAULT_REGION": None, "AWS_REGION": None, "AWS_CONFIG_FILE": "/dev/null"}
    )

    assert run.returncode != 0
    assert "No AWS region: set nat_zero_region, a region in module_defaults" in run.output
    assert run.output.count("[ERROR]") == 1, run.tail()
    assert "set the region option" not in run.output  # the module's own wording, not the role's
