"""A read model's table spec: the DDL, the insert and the guarded update it generates."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from psycopg import sql

from projections.table import Column, Index, Table

NOTES = Table("notes", tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("body", "text", default="''"),
    Column("tags", "jsonb", default="'{}'"),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
    Column("archived_at", "timestamptz", null=True, added=True),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))


def text(statements: Sequence[sql.Composable]) -> list[str]:
    return [s.as_string(None) for s in statements]


def test_the_ddl_creates_the_columns_with_their_key_types_nulls_and_defaults() -> None:
    create = text(NOTES.ddl())[0]
    assert create == (
        'CREATE TABLE IF NOT EXISTS "notes" ("id" uuid PRIMARY KEY,'
        ' "organization_id" uuid NOT NULL, "body" text NOT NULL DEFAULT \'\','
        ' "tags" jsonb NOT NULL DEFAULT \'{}\', "version" bigint NOT NULL,'
        ' "created_position" bigint NOT NULL, "created_at" timestamptz NOT NULL,'
        ' "updated_at" timestamptz NOT NULL, "archived_at" timestamptz)')


def test_a_column_added_later_reaches_existing_tables_by_alter_table() -> None:
    assert 'ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "archived_at" timestamptz' \
        in text(NOTES.ddl())


def test_indexes_and_the_tenant_wall_are_named_after_the_table_they_are_made_for() -> None:
    statements = text(NOTES.ddl("notes_r1"))
    assert 'CREATE INDEX IF NOT EXISTS "notes_r1_organization_idx" ON "notes_r1"' \
        ' ("organization_id", "created_position")' in statements
    assert 'ALTER TABLE "notes_r1" ENABLE ROW LEVEL SECURITY' in statements
    assert any('CREATE POLICY tenant ON "notes_r1"' in s and '"organization_id" =' in s
               for s in statements)
    assert 'GRANT SELECT ON "notes_r1" TO "chronicle_reader"' in statements


def test_a_column_with_its_own_statistics_target_gets_it_on_every_copy_of_the_table() -> None:
    spec = Table("docs", tenant="organization_id", columns=(
        *NOTES.columns[:3], Column("data", "jsonb", statistics=1000), *NOTES.columns[4:]))
    assert 'ALTER TABLE "docs_r1" ALTER COLUMN "data" SET STATISTICS 1000' \
        in text(spec.ddl("docs_r1"))
    assert not any("STATISTICS" in s for s in text(NOTES.ddl()))


def test_a_spec_without_the_columns_every_read_model_writes_is_refused() -> None:
    with pytest.raises(ValueError, match="created_position"):
        Table("broken", tenant="id", columns=(
            Column("id", "uuid"), Column("version", "bigint"), Column("created_at", "timestamptz"),
            Column("updated_at", "timestamptz")))


def test_an_index_may_name_its_access_method_and_operator_class() -> None:
    documents = Table("docs", tenant="organization_id", columns=NOTES.columns, indexes=(
        Index("body_idx", ("tags",), method="gin", opclass="jsonb_path_ops"),))
    assert 'CREATE INDEX IF NOT EXISTS "docs_body_idx" ON "docs" USING gin'\
        ' ("tags" jsonb_path_ops)' in text(documents.ddl())
