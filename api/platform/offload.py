"""The threads a request's blocking work runs on (a command's load and append: psycopg's sync
pool under the eventsourcing recorder).

``loop.run_in_executor`` on one process-wide pool costs about half of anyio's
``to_thread.run_sync`` per call, which a create pays once. The semantics are anyio's defaults:
the caller's context variables travel with the call (the trace, the request id in logs), and a
cancelled request does not abandon the work: the cancellation lands once the thread returns, so
nothing after it (an idempotency lock's release) runs while the command is still writing.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

THREADS = 40  # anyio's default capacity; the database pool bounds the real concurrency
_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="blocking")


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a pool thread, in a copy of the caller's context."""
    future = asyncio.get_running_loop().run_in_executor(
        _pool, contextvars.copy_context().run, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
