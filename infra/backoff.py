"""Bounded exponential backoff: how long a worker waits before it tries again."""

from __future__ import annotations


class Backoff:
    """Exponential delays from ``first`` doubling up to ``cap`` seconds."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap = first, cap
        self._tries = 0

    def delay(self, tries: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(tries - 1, 0)))

    def next(self) -> float:
        self._tries += 1
        return self.delay(self._tries)

    def reset(self) -> None:
        self._tries = 0
