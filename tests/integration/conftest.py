"""The real ansible-playbook against a moto server on 127.0.0.1: the shared
fixtures (tests/support/fixtures.py), and the wall-clock seconds of the runs
worth reporting, printed at the end of the session."""

from __future__ import annotations

import pytest

from tests.support.fixtures import *  # noqa: F403 (the moto-server fixtures)

TIMINGS: dict[str, float] = {}


def pytest_sessionfinish(session):
    # Under pytest-xdist each worker measures its own runs: hand them to the
    # controller, which prints the summary.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["playbook_timings"] = dict(TIMINGS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    TIMINGS.update(getattr(node, "workeroutput", {}).get("playbook_timings", {}))


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("ansible-playbook timings (moto server)")
        for label, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{label:<40} {seconds:6.1f} s")
