"""The audit record of denied requests: an ``access.Denied`` event per denial, in the store.

Denials are appended off the request path: the API queues each envelope and a background
loop appends what has queued as one transaction every few hundred milliseconds, so a flood
of denied requests costs one insert per batch, not a write per request. A batch the store
refused (a lost connection, an exhausted pool) goes back to the head of the queue for the
next tick instead of being thrown away, which is how denials used to go missing. The queue
is bounded; what does not fit is counted (``dropped``) and logged rather than slowing the
API down. The events then travel like any other: relay → Kafka ``<prefix>.access.v1`` →
ClickHouse.
"""

from __future__ import annotations

import logging
from uuid import UUID

from commands.ports import EventStore
from commands.runner import Context, EventTooLarge, check_sizes, envelopes, write
from domain.access import decider as access
from domain.access.events import AccessDenied
from domain.envelope import Envelope

STREAM_TYPE = access.DECIDER.stream_type
log = logging.getLogger("chronicle.denials")


class DenialLog:
    def __init__(self, store: EventStore, capacity: int = 10_000) -> None:
        self.store, self.capacity = store, capacity
        self.pending: list[Envelope] = []
        self.dropped = 0
        self.recorded = 0

    def record(self, ctx: Context, organization_id: UUID, denied: AccessDenied) -> None:
        if len(self.pending) >= self.capacity:
            self.dropped += 1
            return
        self.pending.extend(envelopes(ctx, [
            write(access.DECIDER, ctx.new_id(), organization_id, 0,
                  access.decide(denied, access.INITIAL))]))

    def take(self) -> list[Envelope]:
        """What is queued, for one append (called on the event loop; the append is not)."""
        batch, self.pending = self.pending, []
        return batch

    def append(self, batch: list[Envelope]) -> list[Envelope]:
        """Append one batch (in a worker thread); what the store refused, to be requeued
        (empty when it is all recorded)."""
        fitting = [e for e in batch if fits(e, self.store.max_event_bytes)]
        # One oversized record must not sink the batch it joined.
        self.dropped += len(batch) - len(fitting)
        if not fitting:
            return []
        try:
            self.store.append(fitting)
        except Exception:
            log.exception("could not record %d denied requests; retrying", len(fitting))
            return fitting
        self.recorded += len(fitting)
        return []

    def requeue(self, batch: list[Envelope]) -> None:
        """A refused batch goes back in front of what queued meanwhile, within capacity."""
        room = max(0, self.capacity - len(self.pending))
        lost = len(batch) - room
        if lost > 0:
            self.dropped += lost
            log.error("dropped %d denied-request records (queue full)", lost)
        self.pending = batch[:room] + self.pending


def fits(envelope: Envelope, limit: int) -> bool:
    try:
        check_sizes([envelope], limit)
    except EventTooLarge:
        return False
    return True


class Budget:
    """At most ``per_window`` records per key (an organization) in each ``window_s``; what
    is over is counted, not recorded, so a flood of refused connections cannot flood the
    store. The window is a fixed one (cleared as a whole), holding at most ``max_keys``
    keys: beyond them nothing new is admitted until the window turns."""

    def __init__(self, per_window: int = 60, window_s: float = 60.0,
                 max_keys: int = 10_000) -> None:
        self.per_window, self.window_s, self.max_keys = per_window, window_s, max_keys
        self.started = float("-inf")
        self.counts: dict[UUID, int] = {}
        self.suppressed = 0

    def allows(self, key: UUID, now: float) -> bool:
        if now - self.started >= self.window_s:
            self.started, self.counts = now, {}
        used = self.counts.get(key, 0)
        if used >= self.per_window or (used == 0 and len(self.counts) >= self.max_keys):
            self.suppressed += 1
            return False
        self.counts[key] = used + 1
        return True
