"""Rebuilds of every read model on the real services, swapped in while tenants keep reading."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg import sql

from infra import clickhouse
from infra.eventstore import EventStore
from infra.projector.rebuild import rebuild, rebuildable
from infra.settings import Settings
from projections.registry import PROJECTIONS
from projections.resource_indexes import index_name
from projections.rows import READER_ROLE, TENANT_SETTING
from projections.status import caught_up
from tests.conftest import wait_until

TABLES = [name for name, spec in PROJECTIONS.items() if spec.table is not None]
# The ClickHouse tables the usage meter reads, as a query that shows every row.
CLICKHOUSE_TABLES = {
    "clickhouse_users": "SELECT * FROM users FINAL ORDER BY organization_id, id",
    "clickhouse_resources": "SELECT id, version, position, status, size, data, updated_at"
                            " FROM resources FINAL ORDER BY organization_id, type, id",
}


def populate(client: TestClient[Any], count: int = 3) -> str:
    """Organizations with a key, an invited user, a role, an OAuth client, a resource type, an
    alert rule, a resource, a bulk operation and a webhook endpoint each; the last id."""
    org_id = ""
    for i in range(count):
        org = client.post("/v1/organizations", json={
            "name": f"Rebuilt {i}", "slug": f"rb-{uuid.uuid4().hex[:10]}"}).json()
        org_id = org["id"]
        client.patch(f"/v1/organizations/{org_id}", json={"name": f"Rebuilt {i} again"})
        for path, body in (
                ("/v1/api-keys", {"name": "key"}),
                ("/v1/users", {"email": f"rb-{uuid.uuid4().hex[:10]}@example.com"}),
                ("/v1/roles", {"name": f"Role {i}"}),
                ("/v1/oauth/clients", {"name": "client", "scopes": ["organizations:read"]}),
                ("/v1/resource-types", {"name": "things", "schema": {"type": "object"}}),
                ("/v1/webhook-endpoints", {"url": "https://93.184.216.34/rebuilt",
                                           "eventTypes": ["resource.*"]}),
                ("/v1/alert-rules", {"name": "Slow", "metric": "p95_ms", "windowSeconds": 300,
                                     "comparison": "gt", "threshold": 500})):
            response = client.post(path, json={**body, "organizationId": org_id})
            assert response.status_code == 201, response.text
        made = client.post("/v1/resources/things", params={"organization_id": org_id},
                           json={"data": {"n": i}, "metadata": {"tags": ["t"]}}).json()
        thing = f"/v1/resources/things/{made['id']}"
        assert client.patch(thing, params={"organization_id": org_id}, json={"data": {"m": 1}},
                            headers={"Content-Type": "application/merge-patch+json"}
                            ).status_code == 200
        assert client.post("/v1/bulk-operations", params={"organization_id": org_id}, json={
            "items": [{"op": "create", "type": "things", "data": {}}]}).status_code == 202
    return org_id


def rows(conn: psycopg.Connection, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(
        sql.Identifier(table))).fetchall()


class TenantReads:
    """A tenant reading ``table`` through the row-level-security wall, as fast as it can."""

    def __init__(self, settings: Settings, table: str, tenant: str) -> None:
        self.counts: list[int] = []
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self.query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        self.url, self.tenant = settings.database_url, tenant
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                try:
                    with conn.transaction():
                        conn.execute("SELECT set_config('role', %s, true), set_config(%s, %s, true)",
                                     (READER_ROLE, TENANT_SETTING, self.tenant))
                        row = conn.execute(self.query).fetchone()
                    self.counts.append(int(row[0]) if row else 0)
                except psycopg.Error as exc:
                    self.errors.append(exc)

    def __enter__(self) -> TenantReads:
        self.thread.start()
        wait_until(lambda: len(self.counts) > 3, message="the first reads")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def caught_up_all(settings: Settings, head: int) -> bool:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return all(caught_up(conn, n) >= head for n in [*TABLES, "clickhouse_events"])


def wall(conn: psycopg.Connection, table: str) -> tuple[Any, ...]:
    """The table's indexes, tenant policy and the reader's grant, as the catalog has them."""
    indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY 1",
                           (table,)).fetchall()
    policies = conn.execute("SELECT policyname, cmd, roles::text, qual FROM pg_policies"
                            " WHERE tablename = %s", (table,)).fetchall()
    row = conn.execute("SELECT relrowsecurity, has_table_privilege(%s, oid, 'SELECT')"
                       " FROM pg_class WHERE relname = %s", (READER_ROLE, table)).fetchone()
    return tuple(indexes), tuple(policies), row


def test_every_table_read_model_and_the_clickhouse_tables_can_be_rebuilt() -> None:
    assert set(rebuildable()) == {*TABLES, "clickhouse_events", *CLICKHOUSE_TABLES}
    assert "mailer" not in rebuildable(), "a rebuild would send every mail again"


@pytest.mark.parametrize("name", TABLES)
def test_a_rebuilt_read_model_equals_the_live_one_and_no_read_sees_it_empty(
        name: str, settings: Settings, store: EventStore, client: TestClient[Any]) -> None:
    tenant = populate(client)
    head = store.head()
    wait_until(lambda: caught_up_all(settings, head), message="projections")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        live, catalog = rows(conn, name), wall(conn, name)
        lines: list[str] = []
        with TenantReads(settings, name, tenant) as reads:
            rebuild(settings, store, name, lines.append)
            wait_until(lambda: len(reads.counts) > 10, message="reads after the swap")
        assert not reads.errors
        assert min(reads.counts) > 0, "a read saw an empty table"
        assert rows(conn, name) == live
        assert wall(conn, name) == catalog
        assert any("swapping" in line for line in lines)
        assert caught_up(conn, name) >= head
    populate(client, count=1)
    wait_until(lambda: caught_up_all(settings, store.head()), message="after the rebuild")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        assert len(rows(conn, name)) > len(live), "the live projector writes to the rebuilt table"


def test_rebuilt_clickhouse_events_equal_the_live_ones_and_no_read_sees_them_empty(
        settings: Settings, store: EventStore, client: TestClient[Any]) -> None:
    populate(client, count=1)
    wait_until(lambda: caught_up_all(settings, store.head()), message="projections")
    ch = clickhouse.client(settings)
    query = "SELECT stream_id, version, event_type, payload FROM events FINAL ORDER BY 1, 2"
    live = ch.query(query).result_rows
    counts: list[int] = []
    stopping = threading.Event()

    def read() -> None:
        reader = clickhouse.client(settings)
        while not stopping.is_set():
            counts.append(int(reader.query("SELECT count() FROM events").result_rows[0][0]))
        reader.close()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        rebuild(settings, store, "clickhouse_events", lambda _line: None)
        wait_until(lambda: len(counts) > 10, message="reads after the exchange")
    finally:
        stopping.set()
        thread.join(timeout=30)
    assert min(counts) > 0, "a read saw an empty events table"
    assert ch.query(query).result_rows == live
    ch.close()


@pytest.mark.parametrize("name", sorted(CLICKHOUSE_TABLES))
def test_a_rebuilt_clickhouse_table_equals_the_live_one(
        name: str, settings: Settings, store: EventStore, client: TestClient[Any]) -> None:
    populate(client, count=1)
    head = store.head()

    def caught_up_too() -> bool:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            return caught_up_all(settings, head) and caught_up(conn, name) >= head

    wait_until(caught_up_too, message="projections")
    ch = clickhouse.client(settings)
    live = ch.query(CLICKHOUSE_TABLES[name]).result_rows
    lines: list[str] = []
    rebuild(settings, store, name, lines.append)
    assert live
    assert ch.query(CLICKHOUSE_TABLES[name]).result_rows == live
    assert any("exchanging" in line for line in lines)
    ch.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        assert caught_up(conn, name) >= head


def test_a_rebuilt_resources_table_keeps_the_expression_indexes_types_declare(
        settings: Settings, store: EventStore, client: TestClient[Any]) -> None:
    org = client.post("/v1/organizations", json={
        "name": "Indexed", "slug": f"ix-{uuid.uuid4().hex[:10]}"}).json()["id"]
    paths = ["rank", "shop.city"]
    assert client.post("/v1/resource-types", json={
        "name": "shops", "schema": {"type": "object"}, "indexed": paths,
        "organizationId": org}).status_code == 201
    assert client.post("/v1/resources/shops", params={"organization_id": org},
                       json={"data": {"rank": 1, "shop": {"city": "Oslo"}}}).status_code == 201
    wait_until(lambda: caught_up_all(settings, store.head()), message="projections")
    query = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'resources'"
             " AND indexname = ANY(%s) ORDER BY 1")
    names = [index_name(p) for p in paths]
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        live = conn.execute(query, (names,)).fetchall()
        assert [name for name, _ in live] == sorted(names)
        rebuild(settings, store, "resources", lambda _line: None)
        assert conn.execute(query, (names,)).fetchall() == live
