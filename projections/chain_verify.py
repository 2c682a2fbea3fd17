"""Verify an organization's hash chain against the event store's rows: recompute every digest
from the stored event it covers, check that no chained event is gone and no event was slipped
in under the chain's head, and check every signed checkpoint; report the first break."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Any, Literal, NamedTuple
from uuid import UUID

from psycopg import AsyncConnection, sql

from domain.envelope import decode
from infra.eventstore import EVENTS_TABLE
from projections.chain import GENESIS, link, sign

BATCH = 1000
Kind = Literal["modified", "missing", "inserted", "checkpoint_forged", "checkpoint_mismatch"]

CHAINED = sql.SQL(
    "SELECT c.seq, c.position, c.stream_id, c.version, c.digest, e.originator_id,"
    " e.originator_version, e.topic, e.state FROM audit_chain c LEFT JOIN {} e"
    " ON e.notification_id = c.position WHERE c.organization_id = %s ORDER BY c.seq"
).format(sql.Identifier(EVENTS_TABLE))
UNCHAINED = sql.SQL(
    "SELECT e.notification_id, e.originator_id, e.originator_version, e.state FROM {} e"
    " WHERE e.notification_id <= (SELECT position FROM audit_chain_head WHERE id = 1)"
    " AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.position = e.notification_id)"
    " ORDER BY e.notification_id").format(sql.Identifier(EVENTS_TABLE))
CHECKPOINTS = ("SELECT k.seq, k.position, k.digest, k.signature, c.digest AS chained"
               " FROM audit_checkpoints k LEFT JOIN audit_chain c"
               " ON c.organization_id = k.organization_id AND c.seq = k.seq"
               " WHERE k.organization_id = %s ORDER BY k.seq")


class Break(NamedTuple):
    kind: Kind
    position: int
    stream_id: UUID | None = None
    version: int | None = None
    seq: int | None = None


class Report(NamedTuple):
    organization_id: UUID
    events: int
    head_position: int
    checkpoints: int
    break_: Break | None

    @property
    def ok(self) -> bool:
        return self.break_ is None


async def organizations(conn: AsyncConnection) -> list[UUID]:
    """Every organization the chain holds events of."""
    cur = await conn.execute("SELECT DISTINCT organization_id FROM audit_chain ORDER BY 1")
    return [row[0] for row in await cur.fetchall()]


async def verify(conn: AsyncConnection, organization_id: UUID, key: bytes) -> Report:
    """The organization's chain checked end to end; ``conn`` must be in a transaction (the
    rows are read through server-side cursors, in constant memory)."""
    events, head, found = await _chain(conn, organization_id)
    if found is None:
        found = await _inserted(conn, organization_id)
    checkpoints, forged = await _checkpoints(conn, organization_id, key)
    return Report(organization_id, events, head, checkpoints, found or forged)


async def _rows(conn: AsyncConnection, query: Any, params: tuple[Any, ...],
                name: str) -> AsyncIterator[tuple[Any, ...]]:
    async with conn.cursor(name=name) as cur:
        cur.itersize = BATCH
        await cur.execute(query, params)
        async for row in cur:
            yield row


async def _chain(conn: AsyncConnection, org: UUID) -> tuple[int, int, Break | None]:
    """(events checked, the head's position, the first break): each digest is recomputed from
    the event row and the previous stored digest, so a break is pinned to one event."""
    previous, seq, head = GENESIS, 0, 0
    async for (at, position, stream_id, version, digest, row_stream, row_version, topic,
               state) in _rows(conn, CHAINED, (org,), "chain_verify"):
        if at != seq + 1:  # chain rows themselves were removed
            return seq, head, Break("missing", position, stream_id, version, seq + 1)
        if state is None:
            return seq, head, Break("missing", position, stream_id, version, at)
        recomputed = link(previous, row_stream, row_version, topic, bytes(state), position)
        if (row_stream, row_version) != (stream_id, version) or not hmac.compare_digest(
                recomputed, bytes(digest)):
            return seq, head, Break("modified", position, stream_id, version, at)
        previous, seq, head = bytes(digest), at, position
    return seq, head, None


async def _inserted(conn: AsyncConnection, org: UUID) -> Break | None:
    """An event of the organization under the chain's head that the chain never saw."""
    async for position, stream_id, version, state in _rows(conn, UNCHAINED, (), "chain_extra"):
        try:
            owner: UUID | None = decode(bytes(state)).organization_id
        except ValueError:
            owner = None  # undecodable: it cannot be shown to be another organization's
        if owner in (org, None):
            return Break("inserted", position, stream_id, version)
    return None


async def _checkpoints(conn: AsyncConnection, org: UUID, key: bytes) -> tuple[int, Break | None]:
    count = 0
    async for seq, position, digest, signature, chained in _rows(
            conn, CHECKPOINTS, (org,), "chain_checkpoints"):
        count += 1
        if not hmac.compare_digest(sign(key, org, seq, position, bytes(digest)),
                                   bytes(signature)):
            return count, Break("checkpoint_forged", position, seq=seq)
        if chained is None or bytes(chained) != bytes(digest):
            return count, Break("checkpoint_mismatch", position, seq=seq)
    return count, None


async def check(conn: AsyncConnection, key: bytes,
                organization_id: UUID | None = None) -> list[Report]:
    """One organization's chain, or every organization's, in one snapshot-free transaction."""
    async with conn.transaction():
        orgs = [organization_id] if organization_id else await organizations(conn)
        return [await verify(conn, org, key) for org in orgs]


def described(report: Report) -> dict[str, Any]:
    """A report as the API shapes it (camelCase), for the command line."""
    b = report.break_
    return {"organizationId": str(report.organization_id), "ok": report.ok,
            "events": report.events, "headPosition": report.head_position,
            "checkpoints": report.checkpoints,
            "break": None if b is None else {
                "kind": b.kind, "position": b.position, "seq": b.seq, "version": b.version,
                "streamId": None if b.stream_id is None else str(b.stream_id)}}
