"""The denial queue: bounded, drained whole by each take."""

from __future__ import annotations

import uuid

from commands.denials import STREAM_TYPE, DenialLog
from commands.runner import Context
from domain.access.events import AccessDenied
from domain.envelope import Actor

CTX = Context(actor=Actor(kind="api_key", id="k1"), request_id="req-1")
DENIED = AccessDenied(method="POST", path="/v1/api-keys", status=403, code="forbidden",
                      reason="permission_denied")


def test_each_denial_is_its_own_one_event_stream_in_the_callers_organization() -> None:
    log = DenialLog(store=None, capacity=10)  # type: ignore[arg-type]
    org = uuid.uuid4()
    log.record(CTX, org, DENIED)
    log.record(CTX, org, DENIED)
    batch = log.take()
    assert [e.version for e in batch] == [1, 1]
    assert len({e.stream_id for e in batch}) == 2
    assert {e.stream_type for e in batch} == {STREAM_TYPE}
    assert {e.organization_id for e in batch} == {org}
    assert {e.request_id for e in batch} == {"req-1"}
    assert log.take() == []


def test_a_full_queue_counts_what_it_drops_instead_of_growing() -> None:
    log = DenialLog(store=None, capacity=2)  # type: ignore[arg-type]
    for _ in range(5):
        log.record(CTX, uuid.uuid4(), DENIED)
    assert len(log.take()) == 2
    assert log.dropped == 3


class RefusingStore:
    max_event_bytes = 256 * 1024

    def __init__(self) -> None:
        self.refuse, self.appended = True, 0

    def append(self, batch: list[object]) -> None:
        if self.refuse:
            raise ConnectionError("the database went away")
        self.appended += len(batch)


def test_a_batch_the_store_refused_is_appended_on_the_next_try_not_lost() -> None:
    store = RefusingStore()
    log = DenialLog(store=store, capacity=10)  # type: ignore[arg-type]
    log.record(CTX, uuid.uuid4(), DENIED)
    refused = log.append(log.take())
    assert len(refused) == 1
    log.requeue(refused)
    log.record(CTX, uuid.uuid4(), DENIED)
    store.refuse = False
    assert log.append(log.take()) == []
    assert (store.appended, log.dropped, log.recorded) == (2, 0, 2)


def test_a_requeued_batch_that_overflows_the_queue_counts_what_it_drops() -> None:
    log = DenialLog(store=RefusingStore(), capacity=3)  # type: ignore[arg-type]
    for _ in range(3):
        log.record(CTX, uuid.uuid4(), DENIED)
    batch = log.take()
    log.record(CTX, uuid.uuid4(), DENIED)
    log.requeue(batch)
    assert (len(log.take()), log.dropped) == (3, 1)
