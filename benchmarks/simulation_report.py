"""Fault-injection simulation of the reconciler: seeds, steps, faults injected
per kind, invariant checks, violations and leaks, as one table.

    .venv/bin/python benchmarks/simulation_report.py                  # seeds 0-499
    .venv/bin/python benchmarks/simulation_report.py --seeds 5000 --first 100000
    .venv/bin/python benchmarks/simulation_report.py --seed 17 --trace

Each seed is a randomized run over moto (tests/simulation/runner.py); a
failing one prints its violations and the command that replays it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda_src"), str(ROOT)]

from tests.simulation.report import summary_table  # noqa: E402
from tests.simulation.runner import run_seed, run_seeds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500, help="how many seeds (default 500)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    parser.add_argument("--seed", type=int, help="run this one seed only")
    parser.add_argument("--trace", action="store_true", help="with --seed: print its every step")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.seed is not None:
        results = [run_seed(args.seed)]
        if args.trace:
            print("\n".join(results[0].trace))
    else:
        results = run_seeds(range(args.first, args.first + args.seeds), workers=args.workers)
    elapsed = time.perf_counter() - started

    for result in results:
        if not result.ok:
            print(result.report(trace_lines=20), end="\n\n")
    print(summary_table(results))
    print(f"{'wall seconds':<34}{elapsed:>10.1f}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
