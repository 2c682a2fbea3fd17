"""Row helpers shared by PostgreSQL projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import redis
from psycopg import Cursor, sql

from projections.base import Item


def update_if_newer(cur: Cursor[Any], table: sql.Identifier, stream_id: UUID, version: int,
                    *, key: str = "id", **columns: object) -> None:
    """Set ``columns`` on the stream's row only if ``version`` is newer than the row's:
    a redelivered or replayed event changes nothing."""
    columns["version"] = version
    cur.execute(_update_statement(table, key, tuple(columns)),
                (*columns.values(), stream_id, version))


_UPDATES: dict[tuple[str, str, tuple[str, ...]], bytes] = {}


def _update_statement(table: sql.Identifier, key: str, names: tuple[str, ...]) -> bytes:
    """Composed once per shape and kept as bytes (psycopg renders a Composed on every execute:
    more than the rest of an event's update)."""
    shape = (repr(table), key, names)
    if (statement := _UPDATES.get(shape)) is None:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(c)) for c in names)
        statement = _UPDATES[shape] = sql.SQL(
            "UPDATE {} SET {} WHERE {} = %s AND version < %s").format(
            table, assignments, sql.Identifier(key)).as_bytes(None)
    return statement


# Row-level security: the second wall between tenants. API reads made for an organization's
# principal run as READER_ROLE with TENANT_SETTING set to its organization (api/auth/tenancy.py);
# the policy then shows only that organization's rows, whatever the query's WHERE says.
READER_ROLE = "chronicle_reader"
TENANT_SETTING = "chronicle.organization_id"

READER_ROLE_DDL = [
    "DO $$ BEGIN"
    f" IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN"
    f"  CREATE ROLE {READER_ROLE} NOLOGIN;"
    " END IF;"
    " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;"
    " END $$",
    f"GRANT {READER_ROLE} TO CURRENT_USER",
]


def tenant_wall(table: str, column: str) -> list[sql.Composed]:
    """Enable RLS on ``table``: READER_ROLE sees the rows whose ``column`` is the tenant."""
    t = sql.Identifier(table)
    return [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(t),
        sql.SQL(
            "DO $$ BEGIN"
            " IF NOT EXISTS (SELECT FROM pg_policies WHERE tablename = {name}"
            "  AND policyname = 'tenant') THEN"
            "  CREATE POLICY tenant ON {t} FOR SELECT TO {role}"
            "  USING ({column} = nullif(current_setting({setting}, true), '')::uuid);"
            " END IF; END $$").format(
            name=sql.Literal(table), t=t, role=sql.Identifier(READER_ROLE),
            column=sql.Identifier(column), setting=sql.Literal(TENANT_SETTING)),
        sql.SQL("GRANT SELECT ON {} TO {}").format(t, sql.Identifier(READER_ROLE)),
    ]


def announce(client: redis.Redis | None, channel: str, items: Sequence[Item],
             stream_type: str) -> None:
    """After a committed batch, publish the ids of the ``stream_type`` streams it changed, so
    the API processes' caches evict them (infra/invalidation.py)."""
    ids = sorted({str(i.envelope.stream_id) for i in items if i.envelope.stream_type == stream_type})
    if ids and client is not None:
        client.publish(channel, ",".join(ids))


APPEND_ONLY_FUNCTION = sql.SQL(
    "CREATE OR REPLACE FUNCTION chronicle_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION '% on % refused: its rows are append-only', TG_OP, TG_TABLE_NAME"
    " USING ERRCODE = 'insufficient_privilege'; END $$")


def append_only(table: str) -> list[sql.Composed]:
    """Triggers on ``table`` that refuse every UPDATE, DELETE and TRUNCATE, whoever runs it."""
    t = sql.Identifier(table)
    return [
        sql.Composed([APPEND_ONLY_FUNCTION]),
        sql.SQL("CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE ON {}"
                " FOR EACH ROW EXECUTE FUNCTION chronicle_append_only()").format(t),
        sql.SQL("CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON {}"
                " FOR EACH STATEMENT EXECUTE FUNCTION chronicle_append_only()").format(t),
    ]
