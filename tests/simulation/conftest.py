import os

import pytest

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.simulation.report import summary_table
from tests.simulation.runner import sandbox
from tests.support.world import build_world

RESULTS = pytest.StashKey[list]()


@pytest.fixture
def simulation_results(request):
    """Every seed's result of this session, for the summary table."""
    return request.config.stash.setdefault(RESULTS, [])


def pytest_terminal_summary(terminalreporter, config):
    results = config.stash.get(RESULTS, None)
    if results:
        terminalreporter.section("reconciler simulation")
        terminalreporter.write_line(summary_table(results))


@pytest.fixture
def world():
    """A two-AZ deployment in moto (as tests/unit/lambda has), in the
    simulation's sandbox, with the reconciler's environment set."""
    with sandbox(seed=0):
        built = build_world()
        os.environ.update(built.env())  # the sandbox restores the environment
        yield built


@pytest.fixture
def reconciler_client(world):
    return nat_zero_aws.ec2_client(load_config(), nat_zero_handler._counter)
