"""The audit trail in PostgreSQL: one append-only entry per event of every stream type (the
seed's Audit: actor, action, resource, a redacted field-level diff, the request's origin).

The diff needs each stream's state before the event. The last state per stream is kept in
``audit_states`` (internal, never served); when it is not the state just before the event (a
redelivery, a rebuild replaying from the start, a stream older than this read model) the
stream is folded again with its decider from the event store's rows up to that version, so
a rebuild writes the same entries as the live projection did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.access.events import AccessDenied
from domain.decider import Decider
from domain.deciders import AGGREGATES, DECIDERS
from domain.envelope import Envelope, decode
from infra.eventstore import EVENTS_TABLE
from projections.audit_map import diff, entry_of
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "audit_entries"
BY_TYPE: dict[str, Decider[Any, Any, Any]] = {d.stream_type: d for d in DECIDERS}

SPEC = Table(TABLE, tenant="organization_id", append_only=True, columns=(
    Column("id", "uuid"),  # the event's id
    Column("organization_id", "uuid"),
    Column("stream_id", "uuid"),
    Column("stream_type", "text"),
    Column("event_type", "text"),
    Column("version", "bigint"),  # the stream version the event made
    Column("created_position", "bigint"),  # the event's store position
    Column("created_at", "timestamptz"),  # when the event happened (the entry's timestamp)
    Column("updated_at", "timestamptz"),
    Column("actor_kind", "text"),
    Column("actor_id", "text"),
    Column("action", "text"),
    Column("resource", "text"),
    Column("resource_id", "text"),
    Column("old_values", "jsonb", null=True),
    Column("new_values", "jsonb", null=True),
    Column("ip_address", "text"),
    Column("user_agent", "text"),
    Column("request_id", "text"),
    Column("source", "text"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),
            Index("resource_idx", ("organization_id", "resource", "resource_id")),
            Index("actor_idx", ("organization_id", "actor_id")),
            Index("time_idx", ("organization_id", "created_at"))))

STATES_DDL = ("CREATE TABLE IF NOT EXISTS audit_states (stream_id uuid PRIMARY KEY,"
              " version bigint NOT NULL, state bytea NOT NULL)")
# One statement for the batch's streams (three arrays; an executemany adapted each row's
# parameters in Python: a third of the audit's CPU for a bulk operation's 10,000 streams).
SAVE_STATES = ("INSERT INTO audit_states (stream_id, version, state)"
               " SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[])"
               " ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version,"
               " state = EXCLUDED.state WHERE audit_states.version < EXCLUDED.version")
HISTORY = sql.SQL("SELECT state FROM {} WHERE originator_id = %s AND originator_version < %s"
                  " ORDER BY originator_version").format(sql.Identifier(EVENTS_TABLE))


class AuditProjection(ReadModel):
    """A read model of every stream type: ``apply`` takes each event, whatever its stream."""

    spec = SPEC
    stream_type = "*"  # no single one; the base's per-type filter is not used
    # A batch is a few statements, its entries the bulk of it: COPY (not possible in the
    # runner's pipeline) saves more than the pipeline's round trips.
    pipelined = False

    def __init__(self, table: str | None = None) -> None:
        super().__init__(table)
        self.aggregates = AGGREGATES  # every stream type, not one

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        states: dict[UUID, tuple[int, Any]] = {}  # within the batch: the newest state seen
        saved = self._saved(cur, items)
        entries = []
        for item in items:
            e = item.envelope
            decider = BY_TYPE.get(e.stream_type)
            if decider is None:
                continue
            before = self._before(cur, decider, e, states, saved)
            after = decider.evolve(before, e.event)
            states[e.stream_id] = (e.version, after)
            entries.append(self._entry(item, before, after))
        # The batch's entries in one executemany, and each stream's newest state once (what
        # the next batch folds from), rather than a statement or two per event.
        self.spec.insert_many(cur, self.table, entries)
        if states:
            cur.execute(SAVE_STATES, (list(states), [v for v, _ in states.values()],
                                      [msgspec.json.encode(s) for _, s in states.values()]))

    @staticmethod
    def _saved(cur: psycopg.Cursor, items: Sequence[Item]) -> dict[UUID, tuple[int, bytes]]:
        """The saved states of the batch's streams that have history, in one read."""
        streams = list({i.envelope.stream_id for i in items if i.envelope.version > 1})
        if not streams:
            return {}
        cur.execute("SELECT stream_id, version, state FROM audit_states"
                    " WHERE stream_id = ANY(%s)", (streams,))
        return {stream: (version, state) for stream, version, state in cur.fetchall()}

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        self.apply(cur, [item])

    def _before(self, cur: psycopg.Cursor, decider: Decider[Any, Any, Any], e: Envelope,
                states: dict[UUID, tuple[int, Any]],
                saved: dict[UUID, tuple[int, bytes]]) -> Any:
        """The stream's state just before ``e``."""
        if e.version == 1:
            return decider.initial
        if (seen := states.get(e.stream_id)) is not None and seen[0] == e.version - 1:
            return seen[1]
        row = saved.get(e.stream_id)
        if row is not None and row[0] == e.version - 1:
            return msgspec.json.decode(row[1], type=type(decider.initial))
        cur.execute(HISTORY, (e.stream_id, e.version))
        return decider.fold(decider.initial, (decode(r[0]).event for r in cur.fetchall()))

    def _entry(self, item: Item, before: Any, after: Any) -> dict[str, object]:
        e = item.envelope
        resource, action = entry_of(e.event)
        old_values, new_values = diff(before, after, e.event)
        ip_address, user_agent, source = e.origin
        if isinstance(e.event, AccessDenied) and not ip_address:  # recorded before the envelope
            ip_address, user_agent, source = (e.event.ip_address, e.event.user_agent,
                                              e.event.source)
        resource_id = getattr(e.event, "resource_id", "") or str(e.stream_id)
        return {
            "id": e.event_id, "organization_id": e.organization_id, "stream_id": e.stream_id,
            "stream_type": e.stream_type, "event_type": e.event_type, "version": e.version,
            "created_position": item.position, "created_at": e.occurred_at,
            "updated_at": e.occurred_at, "actor_kind": e.actor.kind, "actor_id": e.actor.id,
            "action": action, "resource": resource, "resource_id": resource_id,
            "old_values": _json(old_values), "new_values": _json(new_values),
            "ip_address": ip_address, "user_agent": user_agent, "request_id": e.request_id,
            "source": source}


def _json(values: dict[str, Any] | None) -> Jsonb | None:
    # msgspec's encoder, not the standard library's: a resource's entry carries its data.
    return None if values is None else Jsonb(values, dumps=msgspec.json.encode)
