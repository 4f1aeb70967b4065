import os
from collections import Counter
from dataclasses import asdict

import pytest

from nat_zero import aws as nat_zero_aws
from nat_zero import handler as nat_zero_handler
from nat_zero.config import load_config
from tests.simulation.report import summary_table
from tests.simulation.runner import SeedResult, sandbox
from tests.support.world import build_world

RESULTS = pytest.StashKey[list]()


@pytest.fixture
def simulation_results(request):
    """Every seed's result of this session, for the summary table."""
    return request.config.stash.setdefault(RESULTS, [])


def pytest_sessionfinish(session):
    # Under pytest-xdist each worker runs some of the chunks: hand their
    # results (without the traces) to the controller, which prints the table.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        results = session.config.stash.get(RESULTS, [])
        workeroutput["simulation_results"] = [dict(asdict(r), trace=[], faults=dict(r.faults)) for r in results]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    sent = getattr(node, "workeroutput", {}).get("simulation_results", [])
    results = node.config.stash.setdefault(RESULTS, [])
    results.extend(SeedResult(**dict(r, faults=Counter(r["faults"]))) for r in sent)


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
