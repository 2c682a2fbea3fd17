"""What may be used only once, remembered in PostgreSQL for as long as it could be presented:
request signatures (for the signature skew window) and spent refresh tokens (for their
session's lifetime), so neither Redis restarting empty nor Redis coming back with an older
copy of its data lets one be used twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

DDL = [
    "CREATE TABLE IF NOT EXISTS used_signatures ("
    " signature text PRIMARY KEY, until timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS used_signatures_until_idx ON used_signatures (until)",
    "CREATE TABLE IF NOT EXISTS spent_refresh_tokens ("
    " hash text PRIMARY KEY, session_id text NOT NULL, until timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS spent_refresh_tokens_until_idx ON spent_refresh_tokens (until)",
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
        """Past its horizon a signature's timestamp is refused anyway (and a refresh token's
        session is over): forget them."""
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM used_signatures WHERE until < now()")
            await conn.execute("DELETE FROM spent_refresh_tokens WHERE until < now()")


@dataclass
class SpentRefreshTokens:
    pool: AsyncConnectionPool

    async def spend(self, hashed: str, session_id: str, until: datetime) -> bool:
        """Record a refresh token Redis just rotated away; False when it had been spent
        before, which only a Redis that lost or rolled back its data lets happen."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO spent_refresh_tokens (hash, session_id, until) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING", (hashed, session_id, until))
            return cur.rowcount == 1
