"""Tamper evidence: a hash chain over each organization's stored events, in store order, and
signed checkpoints of its head.

Each event's digest is SHA-256(previous digest || canonical bytes of its stored row: stream
id, version, topic, state bytes, position); an organization's first event chains from 32 zero
bytes. The consumer runs on the Kafka topics like any projection, but chains from the event
store's rows, not from the messages: Kafka orders a stream, not an organization, while the
relay publishes position P only once every position below P is final, so when a batch holds P
every row up to P can be chained in position order. Rows, the chain's head and the Kafka
offsets commit in one transaction; the head row is locked, so consumers of several partitions
take turns. Every chain table is append-only (a trigger refuses UPDATE and DELETE).

A checkpoint signs an organization's head (HMAC-SHA256 under AUDIT_CHAIN_KEY) at most every
AUDIT_CHECKPOINT_SECONDS: rewriting the chain from an edited row onwards, which needs the
digests only, no longer verifies against a checkpoint, which needs the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql

from domain.deciders import AGGREGATES
from domain.envelope import Actor
from infra.eventstore import EVENTS_TABLE
from projections.base import Item, Projection
from projections.rows import append_only, tenant_wall

GENESIS = bytes(32)
CHUNK = 1000  # event rows read at a time while chaining
CHECKPOINT_CONTEXT = b"chronicle-audit-checkpoint/v1"


class Header(msgspec.Struct, frozen=True):
    """The envelope's fields a link records: the rest of the stored bytes (the event, a
    resource's data) is skipped, not built, which was half of this projection's time."""

    organization_id: UUID
    occurred_at: datetime
    actor: Actor


_headers = msgspec.json.Decoder(Header)


def _statements() -> tuple[str, ...]:
    walls = [*tenant_wall("audit_chain", "organization_id"),
             *tenant_wall("audit_checkpoints", "organization_id"),
             *append_only("audit_chain"), *append_only("audit_checkpoints")]
    return (
        "CREATE TABLE IF NOT EXISTS audit_chain (organization_id uuid NOT NULL,"
        " seq bigint NOT NULL, position bigint NOT NULL UNIQUE, stream_id uuid NOT NULL,"
        " version bigint NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL,"
        " actor_kind text NOT NULL, actor_id text NOT NULL, digest bytea NOT NULL,"
        " PRIMARY KEY (organization_id, seq))",
        "CREATE INDEX IF NOT EXISTS audit_chain_org_position_idx"
        " ON audit_chain (organization_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_chain_stream_idx ON audit_chain (stream_id, version)",
        "CREATE TABLE IF NOT EXISTS audit_chain_head (id int PRIMARY KEY,"
        " position bigint NOT NULL)",
        "INSERT INTO audit_chain_head (id, position) VALUES (1, 0) ON CONFLICT DO NOTHING",
        "CREATE TABLE IF NOT EXISTS audit_checkpoints (organization_id uuid NOT NULL,"
        " seq bigint NOT NULL, position bigint NOT NULL, digest bytea NOT NULL,"
        " signature bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (organization_id, seq))",
        *(s.as_string(None) for s in walls),
    )


DDL = _statements()
ROWS = sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
               " WHERE notification_id > %s AND notification_id <= %s"
               " ORDER BY notification_id LIMIT %s").format(sql.Identifier(EVENTS_TABLE))
# COPY, not an executemany of INSERTs: psycopg formats COPY rows in C, and adapted each
# INSERT's parameters in Python (a bulk operation chains 10,000 events). The head's lock keeps
# a position from being chained twice, as it did for the INSERTs (position is UNIQUE).
COPY = ("COPY audit_chain (organization_id, seq, position, stream_id, version,"
        " event_type, occurred_at, actor_kind, actor_id, digest) FROM STDIN")
# One statement for all the organizations of a chunk (and of a batch's checkpoints): each
# lookup is an index probe of its own (LATERAL ... LIMIT 1), however long the chains are.
LAST = ("SELECT o, l.seq, l.digest, l.position FROM unnest(%s::uuid[]) AS o"
        " LEFT JOIN LATERAL (SELECT seq, digest, position FROM audit_chain"
        " WHERE organization_id = o ORDER BY seq DESC LIMIT 1) AS l ON true")
DUE = ("SELECT o FROM unnest(%s::uuid[], %s::bigint[]) AS u(o, s) WHERE NOT EXISTS"
       " (SELECT 1 FROM audit_checkpoints WHERE organization_id = o"
       " AND (seq >= s OR created_at > now() - make_interval(secs => %s)))")
CHECKPOINT = ("INSERT INTO audit_checkpoints (organization_id, seq, position, digest, signature)"
              " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")


def canonical(stream_id: UUID, version: int, topic: str, state: bytes, position: int) -> bytes:
    """A stored event's row as unambiguous bytes (fixed widths, lengths before the texts)."""
    name = topic.encode()
    return b"".join((stream_id.bytes, version.to_bytes(8, "big"), len(name).to_bytes(4, "big"),
                     name, len(state).to_bytes(8, "big"), state, position.to_bytes(8, "big")))


def link(previous: bytes, stream_id: UUID, version: int, topic: str, state: bytes,
         position: int) -> bytes:
    return hashlib.sha256(previous + canonical(stream_id, version, topic, state,
                                               position)).digest()


def sign(key: bytes, organization_id: UUID, seq: int, position: int, digest: bytes) -> bytes:
    message = b"".join((CHECKPOINT_CONTEXT, organization_id.bytes, seq.to_bytes(8, "big"),
                        position.to_bytes(8, "big"), digest))
    return hmac.new(key, message, hashlib.sha256).digest()


class ChainProjection(Projection):
    name = "audit_chain"
    aggregates: tuple[str, ...] = AGGREGATES

    def __init__(self, key: bytes, checkpoint_seconds: float) -> None:
        self.key, self.checkpoint_seconds = key, checkpoint_seconds

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        target = max((i.position for i in items), default=0)
        cur.execute("SELECT position FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        row = cur.fetchone()
        head = row[0] if row else 0
        heads: dict[UUID, tuple[int, bytes, int]] = {}  # organization: (seq, digest, position)
        while head < target:
            cur.execute(ROWS, (head, target, CHUNK))
            rows = cur.fetchall()
            if not rows:
                break
            self._chain(cur, heads, rows)
            head = rows[-1][0]
        cur.execute("UPDATE audit_chain_head SET position = %s WHERE id = 1 AND position < %s",
                    (target, target))
        self._checkpoint(cur, heads)

    def _chain(self, cur: psycopg.Cursor, heads: dict[UUID, tuple[int, bytes, int]],
               rows: list[tuple[int, UUID, int, str, bytes]]) -> None:
        """Chain a chunk of event rows, in position order, with one read and one write."""
        envelopes = [_headers.decode(state) for *_, state in rows]
        missing = list({e.organization_id for e in envelopes} - heads.keys())
        if missing:
            for org, seq, digest, position in cur.execute(LAST, (missing,)).fetchall():
                heads[org] = (seq, bytes(digest), position) if seq is not None else (0, GENESIS, 0)
        links = []
        for (position, stream_id, version, topic, state), e in zip(rows, envelopes, strict=True):
            org = e.organization_id
            seq, previous, _ = heads[org]
            digest = link(previous, stream_id, version, topic, bytes(state), position)
            links.append((org, seq + 1, position, stream_id, version, topic,
                          e.occurred_at, e.actor.kind, e.actor.id, digest))
            heads[org] = (seq + 1, digest, position)
        with cur.copy(COPY) as copy:
            for link_row in links:
                copy.write_row(link_row)

    def _checkpoint(self, cur: psycopg.Cursor, heads: dict[UUID, tuple[int, bytes, int]]) -> None:
        """Sign each organization's head unless a checkpoint of it is recent enough."""
        if not heads:
            return
        orgs = list(heads)
        due = cur.execute(DUE, (orgs, [heads[o][0] for o in orgs],
                                self.checkpoint_seconds)).fetchall()
        cur.executemany(CHECKPOINT, [
            (org, seq, position, digest, sign(self.key, org, seq, position, digest))
            for org, (seq, digest, position) in ((o, heads[o]) for (o,) in due)])
