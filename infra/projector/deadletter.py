"""Parked events: the dead-letter table, parking an event with its offset, and retrying them."""

from __future__ import annotations

from typing import NamedTuple

import psycopg
from confluent_kafka import Message

from domain.envelope import decode
from projections.base import Item, Projection

DDL = (
    "CREATE TABLE IF NOT EXISTS projection_dead_letters ("
    " projection text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
    " kafka_offset bigint NOT NULL, position bigint NOT NULL, stream_id text NOT NULL,"
    " version bigint NOT NULL, event_type text NOT NULL, payload bytea NOT NULL,"
    " error text NOT NULL, attempts int NOT NULL,"
    " first_failed_at timestamptz NOT NULL DEFAULT now(),"
    " last_failed_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (projection, topic, partition, kafka_offset))"
)

COUNTS = "SELECT projection, count(*) FROM projection_dead_letters GROUP BY projection"


class Parked(NamedTuple):
    topic: str
    partition: int
    offset: int
    position: int
    payload: bytes
    error: str
    attempts: int


def _header(msg: Message, name: str) -> str:
    for header in msg.headers() or []:
        if header[0] == name and header[1] is not None:
            value = header[1]
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return ""


def park(cur: psycopg.Cursor, projection: str, msg: Message, error: BaseException,
         attempts: int) -> None:
    """Set one event aside; the caller moves the offset past it in the same transaction."""
    cur.execute(
        "INSERT INTO projection_dead_letters (projection, topic, partition, kafka_offset,"
        " position, stream_id, version, event_type, payload, error, attempts)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (projection, topic, partition, kafka_offset) DO UPDATE SET"
        " error = EXCLUDED.error, last_failed_at = now(),"
        " attempts = projection_dead_letters.attempts + EXCLUDED.attempts",
        (projection, msg.topic() or "", msg.partition() or 0, msg.offset() or 0,
         int(_header(msg, "position") or 0), (msg.key() or b"").decode(errors="replace"),
         int(_header(msg, "stream-version") or 0), _header(msg, "event-type"),
         msg.value() or b"", describe(error), attempts))


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {str(name): int(n) for name, n in conn.execute(COUNTS).fetchall()}


def parked(conn: psycopg.Connection, projection: str) -> list[Parked]:
    rows = conn.execute(
        "SELECT topic, partition, kafka_offset, position, payload, error, attempts"
        " FROM projection_dead_letters WHERE projection = %s"
        " ORDER BY position, topic, partition, kafka_offset", (projection,)).fetchall()
    return [Parked(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]


class RetryReport(NamedTuple):
    applied: list[Parked]
    failed: list[Parked]


def retry(conn: psycopg.Connection, projection: Projection) -> RetryReport:
    """Apply every parked event of ``projection`` again, in order, in a transaction each.

    One that applies is removed in its transaction; one that fails stays, with the new error.
    """
    applied: list[Parked] = []
    failed: list[Parked] = []
    for event in parked(conn, projection.name):
        key = (projection.name, event.topic, event.partition, event.offset)
        try:
            items = [Item(event.position, decode(event.payload))]
            with conn.transaction(), conn.cursor() as cur:
                projection.apply(cur, items)
                cur.execute("DELETE FROM projection_dead_letters WHERE projection = %s"
                            " AND topic = %s AND partition = %s AND kafka_offset = %s", key)
        except Exception as exc:  # the error is the report, kept on the row
            error = describe(exc)
            conn.execute("UPDATE projection_dead_letters SET error = %s, last_failed_at = now(),"
                         " attempts = attempts + 1 WHERE projection = %s AND topic = %s"
                         " AND partition = %s AND kafka_offset = %s", (error, *key))
            failed.append(event._replace(error=error, attempts=event.attempts + 1))
            continue
        applied.append(event)
        projection.after_commit(items)
    return RetryReport(applied, failed)
