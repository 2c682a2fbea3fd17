"""Table specs for PostgreSQL read models: one declaration gives the DDL, the tenant wall,
the insert and the version-guarded update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from psycopg import Cursor, sql

from projections.rows import append_only, tenant_wall, update_if_newer

# INSERT statements by (table, key, columns): a handful per table.
_INSERTS: dict[tuple[str, str, tuple[str, ...]], bytes] = {}

# What the base read model writes on every row: the guard and the creation order for paging.
BOOKKEEPING = frozenset({"id", "version", "created_position", "created_at", "updated_at"})


class Column(NamedTuple):
    name: str
    type: str  # a PostgreSQL type, written as in the DDL
    null: bool = False
    default: str | None = None  # an SQL expression
    added: bool = False  # shipped after the table: existing databases get it by ALTER TABLE
    statistics: int | None = None  # ANALYZE's sample and histogram size, when not the default


class Index(NamedTuple):
    suffix: str  # the index is named "<table>_<suffix>"
    columns: tuple[str, ...]
    method: str = "btree"  # the access method, written as in the DDL: gin for jsonb and arrays
    opclass: str = ""  # an operator class for every column (jsonb_path_ops), written as in DDL


@dataclass(frozen=True)
class Table:
    """One read-model table; ``key`` is its primary key and ``tenant`` the column RLS checks."""

    name: str
    columns: tuple[Column, ...]
    tenant: str
    indexes: tuple[Index, ...] = ()
    key: str = "id"
    # Rows are written once and never changed: a trigger refuses UPDATE, DELETE and TRUNCATE
    # (a rebuild fills a fresh copy and drops the old table, which the trigger allows).
    append_only: bool = False

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        missing = (BOOKKEEPING | {self.tenant, self.key}) - names
        if missing:
            raise ValueError(f"{self.name} lacks the columns {sorted(missing)}")

    def ddl(self, table: str | None = None) -> list[sql.Composed]:
        """Create the table (or the fresh copy ``table``), its indexes and its tenant wall."""
        name = table or self.name
        t = sql.Identifier(name)
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                t, sql.SQL(", ").join(self._column(c) for c in self.columns)),
            *(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(t, self._column(c))
              for c in self.columns if c.added),
            *(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STATISTICS {}").format(
                t, sql.Identifier(c.name), sql.Literal(c.statistics))
              for c in self.columns if c.statistics is not None),
            *(self._index(i, name) for i in self.indexes),
            *tenant_wall(name, self.tenant),
            *(append_only(name) if self.append_only else ()),
        ]

    def _index(self, index: Index, table: str) -> sql.Composed:
        using = sql.SQL("") if index.method == "btree" else sql.SQL(f" USING {index.method}")
        opclass = sql.SQL(f" {index.opclass}" if index.opclass else "")
        return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {}{} ({})").format(
            sql.Identifier(self.index_name(index, table)), sql.Identifier(table), using,
            sql.SQL(", ").join(sql.Composed([sql.Identifier(c), opclass])
                               for c in index.columns))

    def index_name(self, index: Index, table: str | None = None) -> str:
        return f"{table or self.name}_{index.suffix}"

    def _column(self, column: Column) -> sql.Composed:
        parts = [sql.Identifier(column.name), sql.SQL(column.type)]
        if column.name == self.key:
            parts.append(sql.SQL("PRIMARY KEY"))
        elif not column.null:
            parts.append(sql.SQL("NOT NULL"))
        if column.default is not None:
            parts += [sql.SQL("DEFAULT"), sql.SQL(column.default)]
        return sql.SQL(" ").join(parts)

    def insert(self, cur: Cursor[Any], table: sql.Identifier, values: dict[str, object]) -> None:
        """Insert a row unless its key exists: a redelivered creation changes nothing."""
        cur.execute(self._insert_statement(table, tuple(values)), list(values.values()))

    def insert_many(self, cur: Cursor[Any], table: sql.Identifier,
                    rows: list[dict[str, object]]) -> None:
        """``insert`` for rows of one shape, in one executemany (one round trip per batch)."""
        if rows:
            cur.executemany(self._insert_statement(table, tuple(rows[0])),
                            [list(r.values()) for r in rows])

    def _insert_statement(self, table: sql.Identifier, names: tuple[str, ...]) -> bytes:
        shape = (repr(table), self.key, names)
        # Composed once per shape, and kept as bytes: formatting it for every row was most of a
        # batch's Python, and psycopg renders a Composed again on every execute.
        if (statement := _INSERTS.get(shape)) is None:
            statement = _INSERTS[shape] = sql.SQL(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING").format(
                table, sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                sql.Identifier(self.key)).as_bytes(None)
        return statement

    def update(self, cur: Cursor[Any], table: sql.Identifier, key: UUID, version: int,
               values: dict[str, object]) -> None:
        update_if_newer(cur, table, key, version, key=self.key, **values)
