"""Used request signatures, remembered in PostgreSQL for as long as their timestamp is accepted,
so a signed request is accepted once even if Redis restarts empty (or is down)."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

DDL = [
    "CREATE TABLE IF NOT EXISTS used_signatures ("
    " signature text PRIMARY KEY, until timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS used_signatures_until_idx ON used_signatures (until)",
]


@dataclass
class UsedSignatures:
    pool: AsyncConnectionPool

    async def first_use(self, signature: str, horizon_s: int) -> bool:
        """Record ``signature``; False when it was recorded before (a replay). One insert is
        both the check and the durable record, so no rebuild is ever needed."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO used_signatures (signature, until)"
                " VALUES (%s, now() + make_interval(secs => %s)) ON CONFLICT DO NOTHING",
                (signature, horizon_s))
            return cur.rowcount == 1

    async def prune(self) -> None:
        """Past its horizon a signature's timestamp is refused anyway: forget it."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM used_signatures WHERE until < now()")
