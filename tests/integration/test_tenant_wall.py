"""Row-level security on the read models: the second wall between tenants."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from uuid import UUID

import psycopg
from litestar.testing import TestClient
from psycopg_pool import AsyncConnectionPool

from api.auth.tenancy import read_one
from infra.settings import Settings
from projections.organization_queries import GET
from projections.rows import READER_ROLE, TENANT_SETTING
from tests.integration.test_api_keys import issue, new_org

# Tables with an organization column that no tenant's principal reads through the API.
NOT_TENANT_READ = {
    "idempotency_keys": "read only by the idempotency layer, keyed by the caller's own scope",
}


def tenant_tables(conn: psycopg.Connection[Any]) -> dict[str, bool]:
    rows = conn.execute(
        "SELECT c.table_name, t.relrowsecurity FROM information_schema.columns c"
        " JOIN pg_class t ON t.relname = c.table_name AND t.relkind = 'r'"
        " JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = c.table_schema"
        " WHERE c.table_schema = current_schema() AND c.column_name = 'organization_id'"
        " UNION SELECT 'organizations', relrowsecurity FROM pg_class WHERE relname = 'organizations'"
    ).fetchall()
    return dict(rows)


def test_every_read_model_with_an_organization_has_row_level_security(settings: Settings,
                                                                     ) -> None:
    with psycopg.connect(settings.database_url) as conn:
        tables = tenant_tables(conn)
        policies = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_policies WHERE policyname = 'tenant'").fetchall()}
    assert {"organizations", "api_keys"} <= set(tables)
    unwalled = {t for t, rls in tables.items()
                if t not in NOT_TENANT_READ and not (rls and t in policies)}
    assert not unwalled, f"add projections.rows.tenant_wall to these tables' ddl: {unwalled}"


def test_the_wall_shows_a_tenant_only_its_own_rows_whatever_the_query(
        client: TestClient[Any], settings: Settings) -> None:
    mine, theirs = new_org(client), new_org(client)
    issue(client, mine["id"])
    issue(client, theirs["id"])
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("SELECT set_config('role', %s, true), set_config(%s, %s, true)",
                     (READER_ROLE, TENANT_SETTING, mine["id"]))
        keys = {str(r[0]) for r in conn.execute("SELECT organization_id FROM api_keys")}
        orgs = {str(r[0]) for r in conn.execute("SELECT id FROM organizations")}
        conn.rollback()
        assert keys == {mine["id"]}
        assert orgs == {mine["id"]}
        # No tenant set: nothing at all, rather than everything.
        conn.execute("SELECT set_config('role', %s, true)", (READER_ROLE,))
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        conn.rollback()
        # And the reader can only read.
        conn.execute("SELECT set_config('role', %s, true), set_config(%s, %s, true)",
                     (READER_ROLE, TENANT_SETTING, mine["id"]))
        try:
            conn.execute("DELETE FROM api_keys")
            raise AssertionError("the reader role could delete")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()


def test_the_one_round_trip_read_shows_a_tenant_only_its_own_row_and_leaves_no_wall_behind(
        client: TestClient[Any], settings: Settings) -> None:
    mine, theirs = new_org(client), new_org(client)

    async def reads() -> list[object]:
        async with AsyncConnectionPool(settings.database_url, min_size=1, max_size=1,
                                       kwargs={"autocommit": True}) as pool:
            own = await read_one(pool, UUID(mine["id"]), GET, (UUID(mine["id"]),))
            other = await read_one(pool, UUID(mine["id"]), GET, (UUID(theirs["id"]),))
            with contextlib.suppress(psycopg.errors.UndefinedColumn):
                await read_one(pool, UUID(mine["id"]), "SELECT nope FROM organizations", ())
            # The same (only) connection afterwards: the service role again, every row.
            operator = await read_one(pool, None, GET, (UUID(theirs["id"]),))
            return [own and str(own["id"]), other, operator and str(operator["id"])]

    assert asyncio.run(reads()) == [mine["id"], None, theirs["id"]]
