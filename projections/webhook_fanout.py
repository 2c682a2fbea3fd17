"""The webhook fan-out: for every event of an organization, one pending delivery per active
endpoint whose filters match, written in the checkpoint's transaction (a durable outbox).

It keeps its own view of the endpoints (``webhook_targets``: the decider's state folded from
their events), so it never waits for another read model. Topics are consumed independently,
so an endpoint's registration may arrive after later events of other topics: on registration
the store is read from the endpoint's position on, and those events are queued then (a
delivery's id is derived from endpoint, event and generation, so one queued twice is one row).
Test events, redeliveries and replays are the endpoint's own events, handled here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql

from domain.envelope import Envelope, decode
from domain.limits import MAX_REPLAY_EVENTS
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint.events import (
    EndpointRegistered,
    RedeliveryRequested,
    ReplayRequested,
    TestRequested,
    WebhookEndpointEvent,
)
from domain.webhook_endpoint.filters import matches
from infra.eventstore import EVENTS_TABLE
from projections import webhook_payload as payload
from projections.base import Item, Projection
from projections.webhook_tables import CHANNEL, DELIVERIES, TARGETS

LIVE = UUID(int=0)  # the generation of the deliveries made as events happen
NAME = "webhook_deliveries"
INSERT = (f"INSERT INTO {DELIVERIES} (id, organization_id, endpoint_id, event_id, event_type,"
          " stream_id, stream_version, position, generation, body, traceparent)"
          " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING")
SCAN = sql.SQL("SELECT notification_id, state FROM {} WHERE notification_id > %s"
               " ORDER BY notification_id LIMIT %s").format(sql.Identifier(EVENTS_TABLE))
BY_POSITION = sql.SQL("SELECT notification_id, state FROM {} WHERE notification_id = ANY(%s)"
                      " ORDER BY notification_id").format(sql.Identifier(EVENTS_TABLE))
_state = msgspec.json.Decoder(wh.WebhookEndpoint)


class Target(msgspec.Struct, frozen=True):
    endpoint_id: UUID
    registered_position: int
    state: wh.WebhookEndpoint
    version: int


class FanOut(Projection):
    name = NAME

    def __init__(self, aggregates: tuple[str, ...]) -> None:
        self.aggregates = aggregates

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        # The batch's organizations' endpoints in one query; an endpoint event re-reads its own.
        targets = _targets(cur, list({i.envelope.organization_id for i in items}))
        queued = 0
        for item in items:
            e = item.envelope
            if e.stream_type == wh.DECIDER.stream_type:
                queued += self._endpoint_event(cur, item)
                targets.update(_targets(cur, [e.organization_id]))
            for t in targets.get(e.organization_id, ()):
                if t.registered_position < item.position and _wants(t, e):
                    queued += _queue(cur, t.endpoint_id, e, item.position, LIVE)
        if queued:
            cur.execute("SELECT pg_notify(%s, '')", (CHANNEL,))

    def _endpoint_event(self, cur: psycopg.Cursor, item: Item) -> int:
        e = item.envelope
        event = e.event
        _fold(cur, item)
        match event:
            case EndpointRegistered():
                return self._catch_up(cur, e, item.position)
            case TestRequested():
                body = payload.test_body(event.test_id, e.organization_id, e.stream_id,
                                         e.occurred_at)
                cur.execute(INSERT, (payload.delivery_id(e.stream_id, event.test_id, LIVE),
                                     e.organization_id, e.stream_id, event.test_id,
                                     payload.TEST_EVENT, event.test_id, 1, 0, LIVE, body.decode(),
                                     _trace(e)))
                return 1
            case RedeliveryRequested():
                return _redeliver(cur, e, event.delivery_id)
            case ReplayRequested():
                return _replay(cur, e, event)
            case _:
                return 0

    def _catch_up(self, cur: psycopg.Cursor, e: Envelope, position: int) -> int:
        """The events stored after the registration that the fan-out may have passed already."""
        target = _target(cur, e.stream_id)
        rows = cur.execute(SCAN, (position, MAX_REPLAY_EVENTS)).fetchall()
        return _queue_all(cur, target, rows, LIVE, only=e.organization_id)


def _wants(target: Target, envelope: Envelope) -> bool:
    return target.state.status == "active" and matches(target.state.event_types,
                                                       envelope.event_type)


def _queue(cur: psycopg.Cursor, endpoint_id: UUID, e: Envelope, position: int,
           generation: UUID) -> int:
    cur.execute(INSERT, (payload.delivery_id(endpoint_id, e.event_id, generation),
                         e.organization_id, endpoint_id, e.event_id, e.event_type, e.stream_id,
                         e.version, position, generation, payload.body(e, position).decode(),
                         _trace(e)))
    return 1


def _trace(e: Envelope) -> str | None:
    """The traceparent the delivery keeps: the event's, so its webhook call joins its trace."""
    return e.traceparent or None


def _queue_all(cur: psycopg.Cursor, target: Target | None, rows: Iterable[tuple[Any, ...]],
               generation: UUID, *, only: UUID) -> int:
    if target is None:
        return 0
    queued = 0
    for position, state in rows:
        envelope = decode(bytes(state))
        if envelope.organization_id == only and _wants(target, envelope):
            queued += _queue(cur, target.endpoint_id, envelope, int(position), generation)
    return queued


def _fold(cur: psycopg.Cursor, item: Item) -> None:
    """The endpoint's state in webhook_targets, folded by the decider (version-guarded)."""
    e = item.envelope
    found = _target(cur, e.stream_id)
    if (found is not None and e.version <= found.version) or not isinstance(
            e.event, WebhookEndpointEvent):
        return
    state = wh.evolve(found.state if found else wh.INITIAL, e.event)
    cur.execute(
        f"INSERT INTO {TARGETS} (endpoint_id, organization_id, registered_position, version,"
        " state) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (endpoint_id) DO UPDATE"
        " SET state = EXCLUDED.state, version = EXCLUDED.version",
        (e.stream_id, e.organization_id, item.position, e.version,
         msgspec.json.encode(state).decode()))


COLUMNS = "endpoint_id, registered_position, state::text, version"


def _target(cur: psycopg.Cursor, endpoint_id: UUID) -> Target | None:
    row = cur.execute(f"SELECT {COLUMNS} FROM {TARGETS} WHERE endpoint_id = %s",
                      (endpoint_id,)).fetchone()
    return None if row is None else Target(row[0], row[1], _state.decode(row[2]), row[3])


def _targets(cur: psycopg.Cursor, organizations: list[UUID]) -> dict[UUID, list[Target]]:
    """The active endpoints of ``organizations`` (each one named, even with none)."""
    found: dict[UUID, list[Target]] = {o: [] for o in organizations}
    for r in cur.execute(f"SELECT {COLUMNS}, organization_id FROM {TARGETS}"
                         " WHERE organization_id = ANY(%s) AND state->>'status' = 'active'",
                         (organizations,)).fetchall():
        found[r[4]].append(Target(r[0], r[1], _state.decode(r[2]), r[3]))
    return found


def _redeliver(cur: psycopg.Cursor, e: Envelope, original: UUID) -> int:
    cur.execute(
        f"INSERT INTO {DELIVERIES} (id, organization_id, endpoint_id, event_id, event_type,"
        " stream_id, stream_version, position, generation, body, traceparent)"
        " SELECT %s, organization_id, endpoint_id, event_id, event_type, stream_id,"
        f" stream_version, position, %s, body, %s FROM {DELIVERIES}"
        " WHERE id = %s AND endpoint_id = %s ON CONFLICT (id) DO NOTHING",
        (payload.delivery_id(e.stream_id, original, e.event_id), e.event_id, _trace(e),
         original, e.stream_id))
    return cur.rowcount


def _replay(cur: psycopg.Cursor, e: Envelope, replay: ReplayRequested) -> int:
    """The organization's events from a position or a time on (found through the audit hash
    chain's index of each organization's positions), delivered and failed ones alike."""
    where, value = (("position > %s", replay.from_position) if replay.from_position is not None
                    else ("occurred_at >= %s", replay.from_time))
    positions = [r[0] for r in cur.execute(
        f"SELECT position FROM audit_chain WHERE organization_id = %s AND {where}"
        " ORDER BY position LIMIT %s", (e.organization_id, value, MAX_REPLAY_EVENTS))]
    target = _target(cur, e.stream_id)
    rows = cur.execute(BY_POSITION, (positions,)).fetchall() if positions else []
    return _queue_all(cur, target, rows, e.event_id, only=e.organization_id)
