"""A request's blocking work on the pool's threads: the caller's context goes along, and a
cancelled request waits for the work instead of abandoning it."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from api.platform.offload import in_thread

REQUEST = contextvars.ContextVar("request", default="none")


def test_the_work_runs_on_another_thread_and_sees_the_callers_context() -> None:
    async def call() -> tuple[str, int]:
        REQUEST.set("req_1")
        return await in_thread(lambda: (REQUEST.get(), threading.get_ident()))

    seen, ident = asyncio.run(call())
    assert seen == "req_1"
    assert ident != threading.get_ident()


def test_a_cancelled_caller_resumes_only_after_the_work_has_returned() -> None:
    finished: list[float] = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append(time.monotonic())

    async def call() -> float:
        task = asyncio.ensure_future(in_thread(slow))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    resumed = asyncio.run(call())
    assert finished
    assert resumed >= finished[0]


def test_an_exception_of_the_work_reaches_the_caller() -> None:
    def fail() -> None:
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        asyncio.run(in_thread(fail))
