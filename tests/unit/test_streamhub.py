"""The live streams' hub in memory: fan-out by organization and type, once per position, and a
slow subscriber dropped without holding up the others (the store is not needed while the
announcements have no gap)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import msgspec

from domain.envelope import SYSTEM, Envelope
from domain.organization.events import OrganizationRenamed
from infra.livefeed import Announcement, message, parse
from infra.settings import Settings
from infra.streamhub import Hub
from projections.event_queries import matching

A, B = uuid.uuid4(), uuid.uuid4()


def envelope(org: uuid.UUID, version: int = 1) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), stream_id=org, stream_type="organization",
                    version=version, organization_id=org, occurred_at=datetime.now(UTC),
                    actor=SYSTEM, request_id="r", correlation_id="c", causation_id="c",
                    event=OrganizationRenamed(name=f"n{version}", previous_name="p"))


def hub(queue: int = 8) -> Hub:
    h = Hub(None, Settings(stream_queue=queue))  # type: ignore[arg-type]
    h.last = 10
    return h


def announce(h: Hub, prev: int, *events: tuple[int, Envelope]) -> None:
    last = events[-1][0] if events else prev
    asyncio.run(h._apply(Announcement(prev=prev, last=last, events=list(events))))


def test_each_organization_gets_only_its_own_events_and_the_operator_every_one() -> None:
    h = hub()
    a, b, everyone = h.join(A, None), h.join(B, None), h.join(None, None)
    announce(h, 10, (11, envelope(A)), (12, envelope(B)), (13, envelope(A)))
    assert [i.position for i in a.queue] == [11, 13]
    assert [i.position for i in b.queue] == [12]
    assert [i.position for i in everyone.queue] == [11, 12, 13]


def test_a_type_filter_admits_only_matching_events() -> None:
    h = hub()
    renamed, created = h.join(A, matching(["organization.*"]).fullmatch), h.join(
        A, matching(["*.Created", "apikey.Issued"]).fullmatch)
    announce(h, 10, (11, envelope(A)))
    assert [i.position for i in renamed.queue] == [11]
    assert created.queue == []


def test_an_announcement_sent_again_is_delivered_once() -> None:
    h = hub()
    sub = h.join(A, None)
    announce(h, 10, (11, envelope(A)), (12, envelope(A)))
    announce(h, 10, (11, envelope(A)), (12, envelope(A)), (13, envelope(A)))
    assert [i.position for i in sub.queue] == [11, 12, 13]
    assert h.last == 13


def test_a_slow_subscriber_is_dropped_and_the_others_keep_receiving() -> None:
    h = hub(queue=2)
    slow, fast = h.join(A, None), h.join(A, None)
    announce(h, 10, (11, envelope(A)), (12, envelope(A)))
    assert [i.position for i in asyncio.run(fast.take())] == [11, 12]
    announce(h, 12, (13, envelope(A)))
    assert slow.closed == "slow_consumer"
    assert slow.queue == []
    assert [i.position for i in fast.queue] == [13]
    assert h.count == 1
    assert h.refusal(A) is None


def test_the_limits_refuse_beyond_the_organizations_and_the_processs_streams() -> None:
    h = Hub(None, Settings(stream_max_per_org=2, stream_max_per_process=3))  # type: ignore[arg-type]
    assert h.refusal(A) == "service_unavailable"  # before it read the relay's position
    h.last = 0
    h.join(A, None)
    h.join(A, None)
    assert h.refusal(A) == "too_many_streams"
    h.join(B, None)
    assert h.refusal(B) == "streams_full"


def test_a_waiting_stream_wakes_on_delivery_and_empty_on_a_tick_after_a_quiet_interval(
        ) -> None:
    async def scenario() -> tuple[list[int], bool, list[int]]:
        h = hub()
        sub = h.join(A, None)
        waiting = asyncio.ensure_future(sub.take())
        await asyncio.sleep(0)
        await h._apply(Announcement(prev=10, last=11, events=[(11, envelope(A))]))
        delivered = [i.position for i in await waiting]
        waiting = asyncio.ensure_future(sub.take())
        await asyncio.sleep(0)
        sub.beat()  # something arrived during this interval: no heartbeat
        await asyncio.sleep(0)
        after_busy = waiting.done()
        sub.beat()  # a quiet interval: wakes empty-handed
        return delivered, after_busy, [i.position for i in await waiting]

    assert asyncio.run(scenario()) == ([11], False, [])


def test_the_relays_message_decodes_to_the_announcement_it_made() -> None:
    from infra.eventstore import Recorded

    e = envelope(A)
    data = msgspec.json.encode(e)
    parsed = parse(message(10, [Recorded(11, e, data), Recorded(14, e, data)]))
    assert (parsed.prev, parsed.last, [p for p, _ in parsed.events]) == (10, 14, [11, 14])
    assert parsed.events[0][1] == e
    big = Recorded(11, e, b" " * 600_000 + data)
    assert parse(message(10, [big])) == Announcement(prev=10, last=11, events=[])


def test_with_no_stream_open_an_announcement_only_moves_the_position_its_events_unread() -> None:
    h = hub()
    h.on_message('{"prev":10,"last":14,"events":[[11,{"not":"an envelope"}]]}')
    asyncio.run(h._step())
    assert h.last == 14
    assert h.delivered == 0
    sub = h.join(A, None)
    assert sub.start == 14
    h.on_message(msgspec.json.encode(Announcement(prev=14, last=15, events=[(15, envelope(A))]))
                 .decode())
    asyncio.run(h._step())
    assert [i.position for i in sub.queue] == [15]
