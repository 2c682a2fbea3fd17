"""Auditors' replay of an organization's events in store order. The event store's table has no
organization column, so the hash chain (``audit_chain``: organization, position, stream,
version, type, time and actor of every event, behind the tenant wall) is the index: a page of
positions is found there, and the stored rows are then read by position."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from psycopg import AsyncConnection, sql

from domain.envelope import Envelope, decode
from infra.eventstore import EVENTS_TABLE

# An event type, or a pattern with * wildcards: "organization.Renamed", "resource.*", "*.Deleted".
TYPE_PATTERN = re.compile(r"[A-Za-z0-9_.*]{1,100}")
STORED = sql.SQL("SELECT notification_id, state FROM {} WHERE notification_id = ANY(%s)"
                 " ORDER BY notification_id").format(sql.Identifier(EVENTS_TABLE))

HISTORY = sql.SQL("SELECT notification_id, state FROM {} WHERE originator_id = %s"
                  " AND originator_version > %s ORDER BY originator_version LIMIT %s"
                  ).format(sql.Identifier(EVENTS_TABLE))
# The stream's length and its first event (whose envelope names the owning organization).
HEAD = sql.SQL("SELECT count(*), (SELECT state FROM {0} WHERE originator_id = %s"
               " ORDER BY originator_version LIMIT 1) FROM {0} WHERE originator_id = %s"
               ).format(sql.Identifier(EVENTS_TABLE))


class Filters(NamedTuple):
    organization_id: UUID | None = None  # None: every organization (the operator's view)
    stream_id: UUID | None = None
    type: str | None = None  # a TYPE_PATTERN
    actor: str | None = None  # an actor's id
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    after: int | None = None  # a store position


def like(pattern: str) -> str:
    """A type pattern as a LIKE pattern: * matches anything, nothing else is special."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def matching(patterns: list[str]) -> re.Pattern[str]:
    """The types that ``patterns`` (TYPE_PATTERNs) admit, as one regular expression: the
    live streams' filter, matching what ``like`` matches in SQL."""
    return re.compile("|".join(re.escape(p).replace(r"\*", ".*") for p in patterns))


def _where(f: Filters) -> tuple[str, list[object]]:
    clauses: list[str] = []
    values: list[object] = []
    for clause, value in (
            ("organization_id = %s", f.organization_id), ("stream_id = %s", f.stream_id),
            ("event_type LIKE %s", None if f.type is None else like(f.type)),
            ("actor_id = %s", f.actor), ("occurred_at >= %s", f.since),
            ("occurred_at < %s", f.until), ("position > %s", f.after)):
        if value is not None:
            clauses.append(clause)
            values.append(value)
    return " AND ".join(clauses) or "true", values


class Positions(NamedTuple):
    found: list[int]  # up to the limit, in store order
    more: bool  # more match after them
    total: int  # every match, without ``after``


async def positions(conn: AsyncConnection, filters: Filters, limit: int) -> Positions:
    clause, values = _where(filters)
    cur = await conn.execute(f"SELECT position FROM audit_chain WHERE {clause}"
                             " ORDER BY position LIMIT %s", (*values, limit + 1))
    found = [row[0] for row in await cur.fetchall()]
    clause, values = _where(filters._replace(after=None))
    cur = await conn.execute(f"SELECT count(*) FROM audit_chain WHERE {clause}", values)
    counted = await cur.fetchone()
    return Positions(found[:limit], len(found) > limit, int(counted[0]) if counted else 0)


async def positions_upto(conn: AsyncConnection, filters: Filters, upto: int,
                         limit: int) -> list[int]:
    """Up to ``limit`` matching positions after ``filters.after`` and at most ``upto``, in
    store order (the live streams' replay: no count, a page after a page)."""
    clause, values = _where(filters)
    cur = await conn.execute(f"SELECT position FROM audit_chain WHERE {clause}"
                             " AND position <= %s ORDER BY position LIMIT %s",
                             (*values, upto, limit))
    return [row[0] for row in await cur.fetchall()]


async def stored(conn: AsyncConnection, wanted: list[int]) -> list[tuple[int, Envelope]]:
    """The stored events at ``wanted`` positions, decoded, in store order (a position whose
    row is gone is left out: verification names it)."""
    if not wanted:
        return []
    cur = await conn.execute(STORED, (wanted,))
    return [(row[0], decode(bytes(row[1]))) for row in await cur.fetchall()]


class HistoryPage(NamedTuple):
    events: list[tuple[int, Envelope]]  # (position, event), oldest first
    more: bool  # later versions follow
    total: int  # the stream's events
    owner: UUID | None  # the stream's organization (None: no such stream)


async def stream(conn: AsyncConnection, stream_id: UUID, after: int,
                 limit: int) -> HistoryPage:
    """Up to ``limit`` of a stream's stored events after version ``after``, oldest first."""
    cur = await conn.execute(HEAD, (stream_id, stream_id))
    head = await cur.fetchone()
    total, first = (int(head[0]), head[1]) if head else (0, None)
    owner = None if first is None else decode(bytes(first)).organization_id
    cur = await conn.execute(HISTORY, (stream_id, after, limit + 1))
    rows = await cur.fetchall()
    events = [(row[0], decode(bytes(row[1]))) for row in rows[:limit]]
    return HistoryPage(events, len(rows) > limit, total, owner)
