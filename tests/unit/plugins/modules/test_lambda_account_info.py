from __future__ import annotations

import pytest

from ansible_collections.natzero.aws.plugins.modules import lambda_account_info
from tests.support.lambda_fidelity import LambdaFidelity


@pytest.fixture
def account(hook_module_clients):
    """The account's limits as Lambda answers GetAccountSettings (moto cannot)."""

    def with_limits(limit, unreserved):
        fidelity = LambdaFidelity(concurrency_limit=limit, unreserved=unreserved)
        hook_module_clients("lambda", fidelity.install)
        return fidelity

    return with_limits


def test_a_new_account_with_a_limit_of_10_can_reserve_nothing(run_module, account):
    account(limit=10, unreserved=10)

    result = run_module(lambda_account_info, dict(function_name="prod-nat-zero"))

    assert result["changed"] is False
    assert (result["concurrent_executions"], result["unreserved_concurrent_executions"]) == (10, 10)
    assert result["function_reserved_concurrency"] is None
    assert result["reservable_concurrency"] == 0


def test_the_default_limit_leaves_all_but_the_minimum_reservable(run_module, account):
    account(limit=1000, unreserved=1000)

    assert run_module(lambda_account_info, {})["reservable_concurrency"] == 900


def test_a_functions_own_reservation_counts_as_reservable_again(run_module, account, lam, function_arn):
    """A re-deploy of a function that already holds its execution at the edge of the limit."""
    account(limit=101, unreserved=100)
    lam.put_function_concurrency(FunctionName="prod-nat-zero", ReservedConcurrentExecutions=1)

    result = run_module(lambda_account_info, dict(function_name="prod-nat-zero"))

    assert (result["function_reserved_concurrency"], result["reservable_concurrency"]) == (1, 1)
