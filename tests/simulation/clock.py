"""Simulated time: a clock and the happenings scheduled on it.

Nothing in the simulation sleeps. Instance transitions, event deliveries and
workload actions are happenings at simulated times; running one may schedule
more. The reconciler's own calls advance the clock too (each call takes a
little time), so the world moves on between its read and its write.
"""

from __future__ import annotations

import heapq
from typing import Callable

Happening = tuple[float, int, str, Callable[[], None]]


class Clock:
    def __init__(self):
        self.now = 0.0
        self._queue: list[Happening] = []
        self._order = 0
        # Called after every happening, with its label: the invariant checks.
        self.after_each: Callable[[str], None] | None = None

    def at(self, when: float, label: str, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (max(when, self.now), self._order, label, action))
        self._order += 1

    def after(self, delay: float, label: str, action: Callable[[], None]) -> None:
        self.at(self.now + delay, label, action)

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def run_next(self) -> None:
        when, _, label, action = heapq.heappop(self._queue)
        self.now = max(self.now, when)
        action()
        if self.after_each is not None:
            self.after_each(label)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, running whatever falls due meanwhile."""
        until = self.now + seconds
        while self._queue and self._queue[0][0] <= until:
            self.run_next()
        self.now = until

    def __len__(self) -> int:
        return len(self._queue)
