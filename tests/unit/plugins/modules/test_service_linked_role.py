from __future__ import annotations

import boto3
import pytest

from ansible_collections.natzero.aws.plugins.modules import service_linked_role
from tests.support.ec2_fidelity import SPOT_ROLE_PATH, client_error

SPOT = dict(aws_service_name="spot.amazonaws.com")


@pytest.fixture
def iam(aws):
    return boto3.client("iam", region_name="us-east-1")


def spot_roles(iam):
    return iam.list_roles(PathPrefix=SPOT_ROLE_PATH)["Roles"]


def test_creates_the_missing_role_then_finds_it(run_module, iam):
    created = run_module(service_linked_role, SPOT)

    [role] = spot_roles(iam)
    assert (created["changed"], created["created"], created["arn"]) == (True, True, role["Arn"])
    again = run_module(service_linked_role, SPOT)
    assert (again["changed"], again["created"], again["role_name"]) == (False, False, role["RoleName"])
    assert len(spot_roles(iam)) == 1


def test_check_mode_reports_the_creation_and_creates_nothing(run_module, iam):
    result = run_module(service_linked_role, SPOT, check_mode=True)

    assert (result["changed"], result["created"], result["arn"]) == (True, True, None)
    assert spot_roles(iam) == []


def test_name_taken_while_not_listed_yet_is_an_existing_role(run_module, iam, hook_module_clients):
    """IAM answers InvalidInput "... has been taken in this account" when the
    role exists; a list read right after another run created it may miss it."""
    iam.create_service_linked_role(AWSServiceName="spot.amazonaws.com")
    reads = []

    def install(client):
        def stale_first_list(parsed, **_):
            reads.append(1)
            if len(reads) == 1:
                parsed["Roles"] = []

        def taken(**_):
            raise client_error(
                "CreateServiceLinkedRole",
                "InvalidInput",
                "Service role name AWSServiceRoleForEC2Spot has been taken in this account, please try a different suffix.",
            )

        client.meta.events.register("after-call.iam.ListRoles", stale_first_list)
        client.meta.events.register("before-call.iam.CreateServiceLinkedRole", taken)

    hook_module_clients("iam", install)

    result = run_module(service_linked_role, SPOT)

    assert (result["changed"], result["created"]) == (False, False)
    assert result["arn"] == spot_roles(iam)[0]["Arn"]


def test_other_iam_errors_fail_naming_the_call(fails, hook_module_clients):
    def install(client):
        def denied(**_):
            raise client_error("CreateServiceLinkedRole", "AccessDenied", "not allowed iam:CreateServiceLinkedRole")

        client.meta.events.register("before-call.iam.CreateServiceLinkedRole", denied)

    hook_module_clients("iam", install)

    failure = fails(service_linked_role, SPOT)

    assert failure["msg"] == "CreateServiceLinkedRole failed: AccessDenied: not allowed iam:CreateServiceLinkedRole"


def test_not_a_service_principal_fails(fails):
    failure = fails(service_linked_role, dict(aws_service_name="spot"))

    assert failure["msg"] == "aws_service_name 'spot' is not a service principal (<service>.amazonaws.com)"
