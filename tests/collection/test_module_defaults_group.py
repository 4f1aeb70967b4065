"""meta/runtime.yml: `group/natzero.aws.aws` names every module, so a play sets
the AWS connection options once."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.collection.conftest import ansible_env, module_names, write_yaml
from tests.support.runs import BIN, REPO, run

LOG_GROUP = "/natzero/module-defaults-group"
SHARED_LOG_GROUP = "/natzero/module-defaults-shared-with-amazon-aws"


def amazon_aws_defaults(endpoint):
    """A module_defaults dict as written for group/amazon.aws.aws (amazon.aws 10+ option names and aliases)."""
    return {
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint,
        "aws_access_key": "testing",
        "aws_secret_key": "testing",
        "validate_certs": True,
        "aws_config": {"connect_timeout": 5, "retries": {"max_attempts": 3}},
        "debug_botocore_endpoint_logs": True,
    }


def test_the_aws_action_group_lists_every_module():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert sorted(runtime["action_groups"]["aws"]) == module_names()


def test_requires_ansible_is_a_full_version():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=")
    assert len(runtime["requires_ansible"][2:].split(".")) == 3


def test_connection_options_set_once_through_the_group_reach_every_task(
    checkout_collections, moto_endpoint, aws, make_vpc, tmp_path
):
    variables = make_vpc("groupdefaults", second_octet=61)
    playbook = [
        {
            "name": "Connection options from module_defaults only",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "module_defaults": {
                "group/natzero.aws.aws": {
                    "region": "us-east-1",
                    "endpoint_url": moto_endpoint,
                    "access_key": "testing",
                    "secret_key": "testing",
                }
            },
            "tasks": [
                {
                    "name": "Write through the group's defaults",
                    "natzero.aws.log_group": {"name": LOG_GROUP, "retention_days": 7},
                },
                {
                    "name": "Read through the group's defaults",
                    "natzero.aws.nat_zero_info": {
                        "name": "groupdefaults",
                        "vpc_id": variables["nat_zero_vpc_id"],
                        "availability_zones": variables["nat_zero_availability_zones"],
                    },
                    "register": "info",
                },
                {
                    "name": "Both zones were read from the emulator",
                    "ansible.builtin.assert": {"that": ["info.zones | length == 2"]},
                },
            ],
        }
    ]
    path = write_yaml(tmp_path / "group.yml", playbook)

    # No AWS_* variable in the environment: only module_defaults points at moto.
    result = run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(path)],
        cwd=tmp_path,
        env=ansible_env(checkout_collections),
    )

    result.assert_ok()
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(LOG_GROUP, 7)]


def test_a_module_defaults_dict_written_for_amazon_aws_works_unchanged(
    checkout_collections, moto_endpoint, aws, tmp_path
):
    defaults = amazon_aws_defaults(moto_endpoint)
    playbook = [
        {
            "name": "The same connection dict as group/amazon.aws.aws",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"shared_aws_defaults": defaults},
            "module_defaults": {"group/natzero.aws.aws": "{{ shared_aws_defaults }}"},
            "tasks": [
                {
                    "name": "Write through the shared defaults",
                    "natzero.aws.log_group": {"name": SHARED_LOG_GROUP, "retention_days": 3},
                    "register": "created",
                },
                {
                    "name": "debug_botocore_endpoint_logs reports the calls, as in amazon.aws",
                    "ansible.builtin.assert": {"that": ["'logs:CreateLogGroup' in created.resource_actions"]},
                },
            ],
        }
    ]
    path = write_yaml(tmp_path / "shared.yml", playbook)

    result = run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(path)],
        cwd=tmp_path,
        env=ansible_env(checkout_collections),
    )

    result.assert_ok()
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=SHARED_LOG_GROUP)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(SHARED_LOG_GROUP, 3)]


def test_core_group_aws_does_not_include_this_collection():
    """What the docs say: ansible-core's group/aws extends amazon.aws's and community.aws's groups only,
    so module_defaults for our modules go under group/natzero.aws.aws."""
    import ansible

    builtin = Path(ansible.__file__).parent / "config" / "ansible_builtin_runtime.yml"
    core_aws = yaml.safe_load(builtin.read_text())["action_groups"]["aws"]
    extended = [name for entry in core_aws if isinstance(entry, dict) for name in entry["metadata"]["extend_group"]]
    assert extended == ["amazon.aws.aws", "community.aws.aws"]
