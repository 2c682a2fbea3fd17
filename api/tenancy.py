"""Read-model connections for a caller: the second wall between tenants.

For an organization's principal, the read runs in a transaction as the row-level-security
role with the organization set (projections/rows.py ``tenant_wall``), so even a query that
forgot its ``WHERE organization_id = …`` sees only the caller's rows. The platform operator
reads as the service role (every row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Request
from psycopg import AsyncConnection

from api.access import principal_of
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
