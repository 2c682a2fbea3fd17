"""Retry schedules: WEBHOOK_RETRY_SCHEDULE (``0,5s,5m,30m,2h,5h,10h,10h``: the delay before
each attempt) and durations (``5d``), and the jittered delay before the next attempt."""

from __future__ import annotations

import random
import re

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
JITTER = 0.2  # each delay is moved by up to 20 % either way, so failures do not retry in step


def duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit (ms, s, m, h, d; seconds if none)."""
    found = DURATION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text.strip()!r} is not a duration like 500ms, 5s, 5m, 2h or 5d")
    return float(found.group(1)) * UNITS[found.group(2) or "s"]


def schedule(text: str) -> tuple[float, ...]:
    """The delays before attempt 1, 2, ... (at least one)."""
    delays = tuple(duration(part) for part in text.split(",") if part.strip())
    if not delays:
        raise ValueError("the schedule needs at least one delay")
    return delays


def next_delay(delays: tuple[float, ...], attempts: int,
               rand: random.Random | None = None) -> float | None:
    """Seconds to wait before attempt ``attempts + 1``, jittered; None when the schedule is
    spent (the delivery is abandoned)."""
    if attempts >= len(delays):
        return None
    base = delays[attempts]
    return base * (1 + JITTER * (2 * (rand or random).random() - 1))
