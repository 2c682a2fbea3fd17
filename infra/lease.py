"""Leadership of one job across a deployment's processes: a PostgreSQL session-level advisory
lock held on a connection of its own. The lock lives as long as that session, so a leader that
dies (a kill -9, a lost network) lets it go with its connection, and the next process to ask
takes over; advisory locks are per database, so two deployments on one server never meet."""

from __future__ import annotations

import hashlib
import logging

import psycopg

log = logging.getLogger("chronicle.lease")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (pg_try_advisory_lock takes a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLease:
    def __init__(self, database_url: str, name: str) -> None:
        self.database_url, self.key = database_url, lock_key(name)
        self.conn: psycopg.AsyncConnection | None = None  # the leader's session, held

    @property
    def leading(self) -> bool:
        return self.conn is not None

    async def held(self) -> bool:
        """Whether this process leads now: it keeps the lock while its session answers, and
        otherwise asks for it again (a follower holds no connection between asks)."""
        if self.conn is not None:
            try:
                await self.conn.execute("SELECT 1")  # the same session: the lock is still ours
                return True
            except psycopg.Error as exc:
                log.warning("lost the %s lease's session: %s", self.key, exc)
                await self.release()
        conn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        try:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            found = await cur.fetchone()
        except BaseException:
            await conn.close()
            raise
        if found is not None and found[0]:
            self.conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        """Let the lock go (closing the session releases it)."""
        conn, self.conn = self.conn, None
        if conn is not None and not conn.closed:
            await conn.close()
