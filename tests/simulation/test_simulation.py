"""Chaos for the reconciler: seeded, randomized runs over moto with every
invariant checked after every step (tests/simulation/invariants.py).

    .venv/bin/python -m pytest tests/simulation                  # 500 seeds
    NAT_ZERO_SIM_SEEDS=5000 NAT_ZERO_SIM_FIRST_SEED=100000 \\
        .venv/bin/python -m pytest tests/simulation -k every     # explore further
    NAT_ZERO_SIM_SEED=123 .venv/bin/python -m pytest tests/simulation -k replay -s

A failing seed prints its violations, the last steps of its trace and the
one-line command that replays it with the whole trace.
"""

import os

import pytest

from tests.simulation.report import summary_table
from tests.simulation.runner import run_seed, run_seeds

SEEDS = int(os.environ.get("NAT_ZERO_SIM_SEEDS", "500"))
FIRST_SEED = int(os.environ.get("NAT_ZERO_SIM_FIRST_SEED", "0"))
REPLAY = os.environ.get("NAT_ZERO_SIM_SEED")
CHUNKS = 10
# Seeds are spread over the machine's cores, under pytest-xdist too: `make
# test` sends each test file to one worker, and this file is the longest.
WORKERS = os.cpu_count() or 1


if REPLAY is None:

    @pytest.mark.parametrize("chunk", range(CHUNKS))
    def test_every_invariant_holds_for_every_seed(chunk, simulation_results):
        results = run_seeds(range(FIRST_SEED + chunk, FIRST_SEED + SEEDS, CHUNKS), workers=WORKERS)
        simulation_results.extend(results)
        failed = [result for result in results if not result.ok]
        assert not failed, "\n\n".join(result.report() for result in failed)

else:
    # Replaying one seed (NAT_ZERO_SIM_SEED) is the only test then, so a normal
    # run collects no test that is always skipped.
    def test_replay_seed(simulation_results):
        result = run_seed(int(REPLAY))
        simulation_results.append(result)
        print("\n".join(result.trace))
        print(summary_table([result]))
        assert result.ok, result.report(trace_lines=0)
