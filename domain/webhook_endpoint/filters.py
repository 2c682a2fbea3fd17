"""Event type filters of a webhook endpoint: ``*``, ``<aggregate>.*`` or an exact type, and
whether an event type matches any of them (the sender's fan-out asks this for every event)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from domain.errors import InvalidValue
from domain.limits import MAX_EVENT_FILTER, MAX_EVENT_FILTERS

FILTER = re.compile(r"\*|(?:\*|[a-z][a-z0-9_]*)\.(?:\*|[A-Za-z][A-Za-z0-9_]*)")


def check_filters(filters: Iterable[str]) -> tuple[str, ...]:
    """The filters, duplicates dropped; at least one, each a valid pattern."""
    found = tuple(dict.fromkeys(filters))
    if not found or len(found) > MAX_EVENT_FILTERS or any(
            len(f) > MAX_EVENT_FILTER or not FILTER.fullmatch(f) for f in found):
        raise InvalidValue(f"eventTypes is 1 to {MAX_EVENT_FILTERS} filters like *, resource.*"
                           " or user.Invited", field="eventTypes",
                           code="webhook_event_types_invalid", params={"max": MAX_EVENT_FILTERS})
    return found


def matches(filters: Iterable[str], event_type: str) -> bool:
    return any(_matches(f, event_type) for f in filters)


@lru_cache(maxsize=4096)
def _matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    kind, _, name = event_type.partition(".")
    want_kind, _, want_name = pattern.partition(".")
    return want_kind in ("*", kind) and want_name in ("*", name)
