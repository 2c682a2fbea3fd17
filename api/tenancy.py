"""Read-model connections for a caller: the second wall between tenants.

For an organization's principal, the read runs in a transaction as the row-level-security
role with the organization set (projections/rows.py ``tenant_wall``), so even a query that
forgot its ``WHERE organization_id = …`` sees only the caller's rows. The platform operator
reads as the service role (every row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from anyio import to_thread
from litestar import Request
from psycopg import AsyncConnection

from api.access import principal_of
from api.errors import ApiException
from infra.container import Container
from projections.rows import READER_ROLE, TENANT_SETTING


@asynccontextmanager
async def reading(container: Container, request: Request) -> AsyncIterator[AsyncConnection]:
    principal = principal_of(request)
    async with container.pool.connection() as conn:
        if principal is None:
            yield conn
            return
        async with conn.transaction():
            await conn.execute("SELECT set_config('role', %s, true), set_config(%s, %s, true)",
                               (READER_ROLE, TENANT_SETTING, str(principal.organization_id)))
            yield conn



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
