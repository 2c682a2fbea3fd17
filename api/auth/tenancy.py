"""Read-model connections for a caller: the second wall between tenants.

For an organization's principal, the read runs in a transaction as the row-level-security
role with the organization set (projections/rows.py ``tenant_wall``), so even a query that
forgot its ``WHERE organization_id = …`` sees only the caller's rows. The platform operator
reads as the service role (every row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

from anyio import to_thread
from litestar import Request
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.auth.access import principal_of
from api.auth.principal import Principal
from api.platform.errors import ApiException
from infra import tracing
from infra.container import Container
from projections.rows import READER_ROLE, TENANT_SETTING

T = TypeVar("T")

READ_MODEL = "read model"  # what a read's PostgreSQL span names as its target
WALL = "SELECT set_config('role', %s, true), set_config(%s, %s, true)"


def reading(container: Container, request: Request,
            ) -> AbstractAsyncContextManager[AsyncConnection]:
    return reading_as(container, principal_of(request))


@asynccontextmanager
async def reading_as(container: Container,
                     principal: Principal | None) -> AsyncIterator[AsyncConnection]:
    """A read-model connection behind ``principal``'s wall (None: the operator's, every row)."""
    with tracing.db("SELECT", READ_MODEL):
        async with container.pool.connection() as conn:
            if principal is None:
                yield conn
                return
            # Pipeline mode: BEGIN and the wall's settings go out with the first query instead
            # of waiting for an answer each. The explicit transaction keeps the wall up across
            # the syncs that the caller's fetches make.
            async with conn.pipeline(), conn.transaction():
                await conn.execute(WALL, (READER_ROLE, TENANT_SETTING,
                                          str(principal.organization_id)))
                yield conn


async def read(container: Container, request: Request,
               query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run one read-side query (projections/*_queries.py) behind the caller's tenant wall."""
    async with reading(container, request) as conn:
        return await query(conn)


async def read_as(container: Container, principal: Principal | None,
                  query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``read`` for a live stream, which keeps its principal rather than its whole request."""
    async with reading_as(container, principal) as conn:
        return await query(conn)


async def read_one(pool: AsyncConnectionPool, tenant: UUID | None, query: str,
                   params: tuple[Any, ...]) -> dict[str, Any] | None:
    """The first row of one query as ``tenant`` sees it (None: the operator), in one round trip.

    For a tenant, the transaction, the wall and the query go as one simple-protocol message
    (``BEGIN; wall; query; COMMIT``, values bound client-side and quoted by psycopg): the
    four round trips of ``reading`` become one. An error in any part skips the rest, so the
    query never runs without the wall; the pool rolls back the aborted transaction.
    """
    with tracing.db("SELECT", READ_MODEL):
        return await _read_one(pool, tenant, query, params)


async def _read_one(pool: AsyncConnectionPool, tenant: UUID | None, query: str,
                    params: tuple[Any, ...]) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        if tenant is None:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            return await cur.fetchone()
        client = AsyncClientCursor(conn, row_factory=dict_row)
        await client.execute(f"BEGIN; {WALL}; {query}; COMMIT",
                             (READER_ROLE, TENANT_SETTING, str(tenant), *params))
        client.nextset()  # past BEGIN
        client.nextset()  # past the wall's settings
        return await client.fetchone()


async def not_found(container: Container, request: Request, stream_id: UUID,
                    reason: str) -> ApiException:
    """The 404 for ``stream_id``; audited as a denial when the id is another organization's.

    The tenant wall hides other organizations' rows, so only on this (rare) path do we ask
    the event store, which does not wait for a projection, whose the id is: the caller still
    sees "not found".
    """
    principal = principal_of(request)
    foreign = False
    if principal is not None:
        owner = await to_thread.run_sync(container.store.owner, stream_id)
        foreign = owner is not None and owner != principal.organization_id
    return ApiException(404, "not_found", reason=reason, audit=foreign)
