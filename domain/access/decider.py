"""Access decider: a denied request is recorded as it happened; each is its own one-event stream.

There is no rule to apply (the API already refused the request), so the command is the fact
and the state only says whether it was recorded.
"""

from __future__ import annotations

import msgspec

from domain.access.events import AccessDenied, AccessEvent
from domain.decider import Decider


class Access(msgspec.Struct, frozen=True, kw_only=True):
    recorded: bool = False


INITIAL = Access()


def evolve(state: Access, event: AccessEvent) -> Access:
    return Access(recorded=True) if isinstance(event, AccessDenied) else state


def decide(command: AccessDenied, state: Access) -> list[AccessEvent]:
    return [command]


DECIDER = Decider("access", INITIAL, evolve, decide)
