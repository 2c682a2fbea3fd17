"""Idempotency records in PostgreSQL (commands/idempotency.py says what they are): the table,
the API's read, the write inside the append's transaction, and the request's fingerprint.

A record holds the response a command produced, keyed by the caller's scope and key, with a
fingerprint of the request; it lives 24 hours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
from psycopg import Cursor

from commands.idempotency import Record

TTL = "24 hours"

DDL = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys ("
    " scope text NOT NULL, key text NOT NULL, fingerprint bytea NOT NULL,"
    " status int NOT NULL, body bytea NOT NULL, headers jsonb NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL,"
    " PRIMARY KEY (scope, key))"
)
SELECT = ("SELECT fingerprint, status, body, headers FROM idempotency_keys"
          " WHERE scope = %s AND key = %s AND expires_at > now()")
DELETE_EXPIRED = "DELETE FROM idempotency_keys WHERE scope = %s AND key = %s AND expires_at <= now()"
INSERT = ("INSERT INTO idempotency_keys (scope, key, fingerprint, status, body, headers, expires_at)"
          f" VALUES (%s, %s, %s, %s, %s, %s, now() + interval '{TTL}')")


class Saved(NamedTuple):
    fingerprint: bytes
    status: int
    body: bytes
    headers: dict[str, str]


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """Same parameters, same fingerprint: JSON bodies compare by value, not by spelling."""
    try:
        canonical = msgspec.json.encode(msgspec.json.decode(body), order="sorted") if body else b""
    except msgspec.DecodeError:
        canonical = body
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), canonical])).digest()


def saved_from(row: Sequence[Any] | None) -> Saved | None:
    if row is None:
        return None
    return Saved(bytes(row[0]), int(row[1]), bytes(row[2]), dict(row[3]))


def write(cur: Cursor[Any], record: Record) -> None:
    """Record the response (PostgreSQL); raises a unique violation if a live record exists."""
    claim, rendered = record
    cur.execute(DELETE_EXPIRED, (claim.scope, claim.key))
    cur.execute(INSERT, (claim.scope, claim.key, claim.fingerprint, rendered.status,
                         rendered.body, msgspec.json.encode(rendered.headers).decode()))
