"""A read model's batch insert (projections/table.py insert_many), by executemany for a few
rows (and in a pipeline) and through COPY and a staging table for more: the same rows either
way, a redelivered row changes nothing, and it works outside a transaction (a rebuild's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from infra.settings import Settings
from projections.table import COPY_FROM, Column, Table


@pytest.fixture
def table(db: psycopg.Connection) -> Iterator[Table]:
    spec = Table(f"insert_many_{uuid.uuid4().hex[:12]}", tenant="organization_id", columns=(
        Column("id", "uuid"), Column("organization_id", "uuid"), Column("tags", "text[]"),
        Column("data", "jsonb"), Column("note", "text", null=True), Column("version", "bigint"),
        Column("created_position", "bigint"), Column("created_at", "timestamptz"),
        Column("updated_at", "timestamptz")))
    for statement in spec.ddl():
        db.execute(statement)
    yield spec
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(spec.name)))


def made(n: int, note: str) -> list[dict[str, object]]:
    org, now = uuid.uuid4(), datetime.now(UTC)
    return [{"id": uuid.uuid4(), "organization_id": org, "tags": ["a", f"b,{i}", 'q"'],
             "data": f'{{"n": {i}, "s": "tab\\t and \\\\ and é"}}',
             "note": None if i % 2 else note, "version": 1, "created_position": i,
             "created_at": now, "updated_at": now} for i in range(n)]


def stored(db: psycopg.Connection, table: Table) -> dict[Any, tuple[Any, ...]]:
    rows = db.execute(sql.SQL("SELECT id, organization_id, tags, data, note FROM {}").format(
        sql.Identifier(table.name))).fetchall()
    return {r[0]: tuple(r) for r in rows}


@pytest.mark.parametrize(("n", "pipelined"), [(3, False), (COPY_FROM, False), (40, False),
                                               (40, True)])
def test_a_batch_is_stored_as_given_and_a_redelivered_one_changes_nothing(
        n: int, pipelined: bool, table: Table, db: psycopg.Connection,
        settings: Settings) -> None:
    rows = made(n, "first")
    with psycopg.connect(settings.database_url) as conn, conn.transaction(), \
            conn.pipeline() if pipelined else nullcontext(), conn.cursor() as cur:
        table.insert_many(cur, sql.Identifier(table.name), rows)
        table.insert_many(cur, sql.Identifier(table.name), [{**r, "note": "again"} for r in rows])
    found = stored(db, table)
    assert set(found) == {r["id"] for r in rows}
    for r in rows:
        _, org, tags, data, note = found[r["id"]]
        assert (org, tags, note) == (r["organization_id"], r["tags"], r["note"])
        assert data == {"n": rows.index(r), "s": "tab\t and \\ and é"}


def test_a_batch_outside_a_transaction_is_stored_and_the_next_one_too(
        table: Table, db: psycopg.Connection, settings: Settings) -> None:
    first, second = made(COPY_FROM + 4, "one"), made(COPY_FROM + 1, "two")
    with psycopg.connect(settings.database_url, autocommit=True) as conn, conn.cursor() as cur:
        table.insert_many(cur, sql.Identifier(table.name), first)
        table.insert_many(cur, sql.Identifier(table.name), second)
    assert set(stored(db, table)) == {r["id"] for r in [*first, *second]}
