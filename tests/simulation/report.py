"""The summary table of a batch of simulated runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tests.simulation.runner import SeedResult

# Faults the simulation injects, then EC2's and Lambda's answers to them.
INJECTED = (
    "event_lost",
    "event_duplicated",
    "event_late",
    "event_reordered",
    "stale_read",
    "hidden_from_filtered_read",
    "slow_shutdown",
    "throttled",
    "throttled_beyond_retries",
    "api_error",
    "crash",
    "race",
    "stray_nat",
    "config_change",
    # Game days (scenario.GameDay), one row per fault.
    "game_day_stop_nat",
    "game_day_terminate_nat",
    "game_day_reboot_nat",
    "game_day_impair_nat",
    "game_day_disassociate_eip",
    "game_day_release_eip",
    "game_day_delete_route",
    "game_day_redirect_route",
    "game_day_source_dest_check_on",
)
CONSEQUENCES = (
    "eni_in_use",
    "refused_IncorrectInstanceState",
    "lambda_retry",
    "event_dropped_after_retries",
)


def summary_table(results: Iterable[SeedResult]) -> str:
    results = list(results)
    faults, seeds_with = Counter(), Counter()
    for result in results:
        faults.update(result.faults)
        seeds_with.update(kind for kind, count in result.faults.items() if count)
    failed = [r.seed for r in results if not r.ok]
    lines = [
        f"{'seeds':<34}{len(results):>10}",
        f"{'steps':<34}{sum(r.steps for r in results):>10}",
        f"{'invocations':<34}{sum(r.invocations for r in results):>10}",
        f"{'simulated hours':<34}{sum(r.simulated_seconds for r in results) / 3600:>10.1f}",
        f"{'wall seconds (sum over seeds)':<34}{sum(r.wall_seconds for r in results):>10.1f}",
        f"{'invariant checks':<34}{sum(r.checks for r in results):>10}",
        f"{'violations':<34}{sum(len(r.violations) for r in results):>10}",
        f"{'leaks':<34}{sum(len(r.leaks) for r in results):>10}",
        f"{'failed seeds':<34}{str(failed[:10]) if failed else 'none':>10}",
        "",
        f"{'fault injected':<34}{'count':>10}{'seeds':>8}",
    ]
    lines += [f"{kind:<34}{faults[kind]:>10}{seeds_with[kind]:>8}" for kind in INJECTED]
    lines += ["", f"{'answered by EC2 / Lambda':<34}{'count':>10}{'seeds':>8}"]
    lines += [f"{kind:<34}{faults[kind]:>10}{seeds_with[kind]:>8}" for kind in CONSEQUENCES]
    return "\n".join(lines)
