"""A writer for the append fuzz test: new streams appended with random delays inside the transaction.

Run as a process (``python -m tests.integration.fuzz_writer URL SEED``) so the test can
SIGKILL it mid-transaction; it prints ``open <stream>`` once its ids are drawn and
``done <stream>`` after commit, so the test knows which transaction a kill interrupted.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from commands.runner import Context, StreamWrite, envelopes
from domain.envelope import Actor, Envelope
from domain.organization.events import (
    OrganizationCreated,
    OrganizationEvent,
    OrganizationRenamed,
    OrganizationSettings,
)
from infra.eventstore import EventStore, datastore_from_url

FUZZER = Actor(kind="system", id="fuzz")


class Abandon(Exception):
    """Raised by a hook to roll its transaction back."""


def fresh_stream(rng: random.Random) -> list[Envelope]:
    """A new organization stream of one to three events."""
    oid = uuid.UUID(int=rng.getrandbits(128), version=4)
    events: list[OrganizationEvent] = [OrganizationCreated(
        name="fuzz", slug=f"f-{oid.hex[:12]}", plan="free", settings=OrganizationSettings())]
    events += [OrganizationRenamed(name=f"fuzz {i}", previous_name="fuzz")
               for i in range(rng.randrange(3))]
    ctx = Context(actor=FUZZER, request_id="fuzz", clock=lambda: datetime.now(UTC))
    return envelopes(ctx, [StreamWrite(oid, "organization", oid, 0, events)])


def delaying_hook(rng: random.Random, max_delay: float, *, roll_back: bool, in_server: float,
                  on_open: Callable[[], None] = lambda: None) -> Callable[[Any, Any], None]:
    """Hold the transaction open after its ids are drawn: a pg_sleep (with probability
    ``in_server``) or a sleep in the client; then roll it back if asked."""
    def hook(cur: Any, _ids: Any) -> None:
        on_open()
        delay = rng.random() * max_delay
        if rng.random() < in_server:
            cur.execute("SELECT pg_sleep(%s)", (delay,))
        else:
            time.sleep(delay)
        if roll_back:
            raise Abandon
    return hook


def main() -> None:
    url, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    store = EventStore(datastore_from_url(url, pool_size=1, max_overflow=0))
    while True:
        batch = fresh_stream(rng)
        sid = batch[0].stream_id

        def opened(sid: uuid.UUID = sid) -> None:
            print(f"open {sid}", flush=True)

        # Client-side sleeps only: a kill during one always lands before COMMIT was sent.
        store.append(batch, after_insert=delaying_hook(rng, 0.05, roll_back=False,
                                                       in_server=0.0, on_open=opened))
        print(f"done {sid}", flush=True)


if __name__ == "__main__":
    main()
