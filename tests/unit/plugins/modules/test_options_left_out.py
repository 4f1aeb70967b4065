"""An option left out leaves that part of an existing resource as it is.

Each resource here is made elsewhere (straight through boto3, as another tool or
the console would), holding everything the option left out could remove. The
module then runs with only what it needs, and the test reads AWS back: what the
task did not name is still there. This is amazon.aws's rule (None means "leave
it"), and purge_tags applies only when tags is given.
"""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.module_utils.tags import tags_to_dict
from ansible_collections.natzero.aws.plugins.modules import (
    event_rule,
    iam_role,
    lambda_function,
    log_group,
    nat_network,
)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
INLINE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
MANAGED = "arn:aws:iam::123456789012:policy/team-read"
EXTRA = "arn:aws:iam::123456789012:policy/team-extra"
LOG_GROUP = "/team/app"


def client(service):
    return boto3.client(service, region_name="us-east-1")


# -- log_group ----------------------------------------------------------------


@pytest.fixture
def existing_log_group(aws):
    logs = client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP, tags={"team": "platform"})
    logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=30)
    return logs


def log_group_state(logs):
    group = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]
    # log_group.group_arn: older botocore models (1.31) have no logGroupArn, only arn ending in ':*'.
    tags = logs.list_tags_for_resource(resourceArn=log_group.group_arn(group))["tags"]
    return group.get("retentionInDays"), tags


def test_log_group_without_tags_or_retention_changes_nothing(run_module, existing_log_group):
    result = run_module(log_group, dict(name=LOG_GROUP))

    assert result["changed"] is False
    assert result["tags"] == {"team": "platform"} and result["retention_days"] == 30
    assert log_group_state(existing_log_group) == (30, {"team": "platform"})


def test_log_group_retention_alone_keeps_the_tags(run_module, existing_log_group):
    result = run_module(log_group, dict(name=LOG_GROUP, retention=7), diff=True)

    assert result["changed"] is True
    assert log_group_state(existing_log_group) == (7, {"team": "platform"})
    assert result["diff"]["after"] == {"retention_days": 7, "tags": {"team": "platform"}}


def test_log_group_tags_given_are_purged_to_exactly_those(run_module, existing_log_group):
    result = run_module(log_group, dict(name=LOG_GROUP, resource_tags={"owner": "me"}))

    assert result["changed"] is True and result["tags"] == {"owner": "me"}
    assert log_group_state(existing_log_group) == (30, {"owner": "me"})


def test_log_group_tags_without_purge_are_added(run_module, existing_log_group):
    result = run_module(log_group, dict(name=LOG_GROUP, tags={"owner": "me"}, purge_tags=False))

    assert result["tags"] == {"owner": "me", "team": "platform"}
    assert log_group_state(existing_log_group) == (30, {"owner": "me", "team": "platform"})


# -- iam_role -----------------------------------------------------------------


@pytest.fixture
def existing_role(aws):
    """A role with everything iam_role manages: description, tags, both kinds of policy, a profile."""
    iam = client("iam")
    for arn in (MANAGED, EXTRA):
        iam.create_policy(PolicyName=arn.rsplit("/", 1)[1], PolicyDocument=json.dumps(INLINE))
    iam.create_role(
        RoleName="app",
        Path="/team/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="made elsewhere",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    iam.attach_role_policy(RoleName="app", PolicyArn=MANAGED)
    iam.put_role_policy(RoleName="app", PolicyName="read", PolicyDocument=json.dumps(INLINE))
    iam.create_instance_profile(InstanceProfileName="app", Path="/team/")
    iam.add_role_to_instance_profile(InstanceProfileName="app", RoleName="app")
    return iam


def role_state(iam):
    role = iam.get_role(RoleName="app")["Role"]
    return dict(
        path=role["Path"],
        description=role.get("Description"),
        max_session_duration=role["MaxSessionDuration"],
        trust=json.loads(role["AssumeRolePolicyDocument"])
        if isinstance(role["AssumeRolePolicyDocument"], str)
        else role["AssumeRolePolicyDocument"],
        tags=tags_to_dict(iam.list_role_tags(RoleName="app")["Tags"]),
        managed=[p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"]],
        inline=iam.list_role_policies(RoleName="app")["PolicyNames"],
        profile_roles=[
            r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName="app")["InstanceProfile"]["Roles"]
        ],
    )


def test_iam_role_with_only_a_new_description_changes_only_the_description(run_module, existing_role):
    before = role_state(existing_role)

    result = run_module(iam_role, dict(name="app", description="new words"))

    assert result["changed"] is True
    assert role_state(existing_role) == dict(before, description="new words")
    assert result["managed_policy_arns"] == [MANAGED] and result["inline_policy_names"] == ["read"]
    assert result["instance_profile_name"] == "app" and result["tags"] == {"team": "platform"}


def test_iam_role_with_nothing_but_its_name_changes_nothing(run_module, existing_role):
    before = role_state(existing_role)

    assert run_module(iam_role, dict(name="app"))["changed"] is False
    assert role_state(existing_role) == before


def test_iam_role_amazon_aws_option_names_attach_without_purging(run_module, existing_role):
    result = run_module(
        iam_role,
        dict(
            name="app",
            assume_role_policy_document=json.dumps(TRUST),
            managed_policies=[EXTRA],
            purge_policies=False,
        ),
    )

    assert result["managed_policy_arns"] == sorted([MANAGED, EXTRA])
    assert sorted(role_state(existing_role)["managed"]) == sorted([MANAGED, EXTRA])


def test_iam_role_options_given_are_enforced_exactly(run_module, existing_role):
    result = run_module(
        iam_role,
        dict(name="app", managed_policy_arns=[], inline_policies={}, instance_profile=False, tags={}),
    )

    assert result["changed"] is True
    assert existing_role.list_attached_role_policies(RoleName="app")["AttachedPolicies"] == []
    assert existing_role.list_role_policies(RoleName="app")["PolicyNames"] == []
    assert existing_role.list_instance_profiles()["InstanceProfiles"] == []
    assert existing_role.list_role_tags(RoleName="app")["Tags"] == []


def test_iam_role_cannot_be_created_without_a_trust_policy(fails, aws):
    failure = fails(iam_role, dict(name="nobody", description="x"))

    assert "Role nobody does not exist" in failure["msg"] and "assume_role_service" in failure["msg"]
    assert client("iam").list_roles()["Roles"] == []


# -- lambda_function ----------------------------------------------------------


def zipped(source):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app/__init__.py", "")
        archive.writestr("app/handler.py", source)
    return buffer.getvalue()


@pytest.fixture
def source(tmp_path):
    package = tmp_path / "src" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handler(event, context):\n    return 'new'\n")
    return tmp_path / "src"


@pytest.fixture
def existing_function(aws):
    """A function with every setting lambda_function manages different from the module's defaults."""
    role = client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(
        FunctionName="app",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return 'old'\n")},
        Description="made elsewhere",
        Timeout=10,
        MemorySize=256,
        Architectures=["x86_64"],
        Environment={"Variables": {"MODE": "batch"}},
        Tags={"team": "platform"},
    )
    lam.put_function_concurrency(FunctionName="app", ReservedConcurrentExecutions=5)
    return lam


def function_state(lam):
    function = lam.get_function(FunctionName="app")
    config = function["Configuration"]
    return dict(
        runtime=config["Runtime"],
        handler=config["Handler"],
        description=config["Description"],
        timeout=config["Timeout"],
        memory=config["MemorySize"],
        architectures=config["Architectures"],
        environment=(config.get("Environment") or {}).get("Variables") or {},
        tags=function.get("Tags"),
        concurrency=(function.get("Concurrency") or {}).get("ReservedConcurrentExecutions"),
    )


def test_lambda_function_new_code_alone_keeps_every_setting(run_module, existing_function, source):
    before = function_state(existing_function)

    result = run_module(lambda_function, dict(name="app", source_path=str(source)))

    assert result["changed"] is True and result["code_updated"] is True
    assert function_state(existing_function) == before
    assert result["environment"] == {"MODE": "batch"} and result["reserved_concurrency"] == 5
    assert result["tags"] == {"team": "platform"}


def test_lambda_function_empty_environment_removes_the_variables(run_module, existing_function, source):
    run_module(lambda_function, dict(name="app", source_path=str(source), environment_variables={}))

    assert function_state(existing_function)["environment"] == {}


def test_lambda_function_cannot_be_created_without_handler_and_role(fails, aws, source):
    failure = fails(lambda_function, dict(name="new", source_path=str(source)))

    assert failure["msg"] == "Function new does not exist: handler and role_arn needed to create it"
    assert client("lambda").list_functions()["Functions"] == []


def test_lambda_function_check_mode_creation_needs_no_role_arn_yet(run_module, fails, aws, source):
    args = dict(name="new", source_path=str(source), handler="app.handler.handler")

    assert run_module(lambda_function, args, check_mode=True)["changed"] is True
    assert "handler needed" in fails(lambda_function, dict(args, handler=None), check_mode=True)["msg"]


# -- event_rule ---------------------------------------------------------------


@pytest.fixture
def existing_rule(aws):
    role = client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    function_arn = client("lambda").create_function(
        FunctionName="target",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return None\n")},
    )["FunctionArn"]
    events = client("events")
    events.put_rule(
        Name="app",
        ScheduleExpression="rate(5 minutes)",
        Description="made elsewhere",
        State="DISABLED",
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    return events, function_arn


def rule_state(events):
    rule = events.describe_rule(Name="app")
    tags = tags_to_dict(events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"])
    return rule.get("Description"), rule["State"], tags


def test_event_rule_without_description_enabled_or_tags_keeps_them(run_module, existing_rule):
    events, function_arn = existing_rule

    result = run_module(event_rule, dict(name="app", schedule_expression="rate(5 minutes)", target_arn=function_arn))

    assert result["changed"] is True  # the target and its permission were added
    assert rule_state(events) == ("made elsewhere", "DISABLED", {"team": "platform"})
    assert result["state"] == "DISABLED"


def test_event_rule_new_schedule_keeps_the_description_put_rule_would_clear(run_module, existing_rule):
    events, function_arn = existing_rule

    run_module(event_rule, dict(name="app", schedule_expression="rate(1 hour)", target_arn=function_arn))

    assert events.describe_rule(Name="app")["ScheduleExpression"] == "rate(1 hour)"
    assert rule_state(events) == ("made elsewhere", "DISABLED", {"team": "platform"})


def test_event_rule_state_disabled_as_in_amazon_aws(run_module, existing_rule):
    events, function_arn = existing_rule
    args = dict(name="app", schedule_expression="rate(5 minutes)", target_arn=function_arn)
    run_module(event_rule, dict(args, enabled=True))

    result = run_module(event_rule, dict(args, state="disabled"))

    assert result["changed"] is True and result["state"] == "DISABLED"
    assert events.describe_rule(Name="app")["State"] == "DISABLED"


def test_event_rule_state_disabled_with_enabled_true_fails_before_any_change(fails, existing_rule):
    events, function_arn = existing_rule
    args = dict(name="app", schedule_expression="rate(1 hour)", target_arn=function_arn)

    failure = fails(event_rule, dict(args, state="disabled", enabled=True))

    assert "state=disabled" in failure["msg"] and "enabled=true" in failure["msg"]
    assert events.describe_rule(Name="app")["ScheduleExpression"] == "rate(5 minutes)"


# -- nat_network (EC2 tags beside the module's own) ---------------------------


def test_nat_network_without_tags_keeps_the_user_tags_and_its_own(run_module, ec2, vpc):
    args = dict(
        name="prod",
        vpc_id=vpc["vpc_id"],
        availability_zone=vpc["az"],
        public_subnet_id=vpc["public_subnet_id"],
        private_subnet_id=vpc["private_subnet_id"],
        private_cidr=vpc["private_cidr"],
        route_table_id=vpc["route_table_id"],
    )
    created = run_module(nat_network, dict(args, tags={"team": "platform"}))

    again = run_module(nat_network, args)

    assert again["changed"] is False
    group = ec2.describe_security_groups(GroupIds=[created["security_group_id"]])["SecurityGroups"][0]
    tags = tags_to_dict(group["Tags"])
    assert tags["team"] == "platform" and tags["nat-zero:deployment"] == "prod"


# -- the role still states everything it owns ---------------------------------

# What each module removes only when the task names it: the role owns these
# resources outright, so its tasks must name every one (and purge).
OWNED_OPTIONS = {
    "natzero.aws.iam_role": {
        "assume_role_service",
        "managed_policy_arns",
        "inline_policies",
        "instance_profile",
        "tags",
    },
    "natzero.aws.lambda_function": {
        "handler",
        "runtime",
        "architecture",
        "role_arn",
        "environment",
        "memory_size",
        "timeout",
        "description",
        "reserved_concurrency",
        "tags",
    },
    "natzero.aws.log_group": {"retention_days", "tags"},
    "natzero.aws.event_rule": {"description", "enabled", "tags"},
    "natzero.aws.nat_network": {"tags"},
    "natzero.aws.nat_launch_template": {"tags"},
}
# The role's own inline-policy and tag sets are exact: the purge options keep their default (true).
PURGE_OPTIONS = {"purge_tags", "purge_managed_policies", "purge_inline_policies"}


def role_tasks():
    from pathlib import Path

    import yaml

    tasks_dir = Path(__file__).resolve().parents[4] / "roles" / "nat_zero" / "tasks"
    for path in sorted(tasks_dir.glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or ():
            for module, args in task.items():
                if module in OWNED_OPTIONS and args.get("state", "present") not in ("absent", "disabled"):
                    yield path.name, task["name"], module, args


def test_the_role_names_every_option_it_owns_and_never_turns_purging_off():
    tasks = list(role_tasks())

    assert {module for _, _, module, _ in tasks} == set(OWNED_OPTIONS)
    for file_name, name, module, args in tasks:
        missing = OWNED_OPTIONS[module] - set(args)
        if "assume_role_policy" in args:
            # A role's trust is either a service or a whole policy document.
            missing.discard("assume_role_service")
        if "enabled_when_created" in args:
            # The health rule: its state is the reconciler's, the role sets it only at creation.
            missing.discard("enabled")
        assert not missing, "%s: %r leaves out %s" % (file_name, name, sorted(missing))
        assert not PURGE_OPTIONS & set(args), "%s: %r sets a purge option" % (file_name, name)
