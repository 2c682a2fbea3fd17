"""Expression indexes on the resources read model for the data paths a resource type declares
``indexed`` (``POST /v1/resource-types {"indexed": ["price", "shop.city"]}``): one btree per
distinct path, over exactly the expression the queries order and compare by
(projections/resource_filters.py ``Field.expr``), led by (organization, type) so that one index
serves every organization's types that index the path."""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from domain.resource_type.decider import INDEX_PATH
from projections.resources import TABLE

# Every path some type of some organization declares (a rebuild of the table makes them all).
DECLARED = "SELECT DISTINCT jsonb_array_elements_text(indexed) FROM resource_types"


def suffix(path: str) -> str:
    return f"data_{hashlib.sha256(path.encode()).hexdigest()[:16]}"


def index_name(path: str, table: str = TABLE) -> str:
    return f"{table}_{suffix(path)}"


def index_ddl(path: str, table: str = TABLE) -> sql.Composed:
    """CREATE INDEX for ``path``. DDL takes no bound parameters, so the path is written into
    the statement as a quoted literal: only a path the type's decider accepted (INDEX_PATH,
    names of letters, digits and underscores) gets here, and it is checked again."""
    if not INDEX_PATH.fullmatch(path):
        raise ValueError(f"not an index path: {path!r}")
    expression = sql.SQL("coalesce(data #> {}::text[], 'null'::jsonb)").format(
        sql.Literal(path.split(".")))
    return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (organization_id, type, ({}), id)").format(
        sql.Identifier(index_name(path, table)), sql.Identifier(table), expression)


def ensure(cur: psycopg.Cursor, paths: tuple[str, ...]) -> None:
    """Create the paths' indexes (in the projection's transaction: a redelivered
    registration finds them made)."""
    for path in paths:
        cur.execute(index_ddl(path))


def declared(cur: psycopg.Cursor, table: str) -> dict[str, sql.Composed]:
    """The index of every path the types declare, by its name's suffix, as DDL on ``table``
    (a fresh copy of the read model that a rebuild fills)."""
    cur.execute(DECLARED)
    return {suffix(path): index_ddl(path, table) for (path,) in cur.fetchall()
            if INDEX_PATH.fullmatch(path)}
