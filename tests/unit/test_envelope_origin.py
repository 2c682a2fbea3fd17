"""The envelope's request origin (ip address, user agent, source) for the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Request

from api.platform.proxy import origin_of
from commands.runner import Context, envelopes, write
from domain.envelope import SYSTEM, Actor, decode, encode
from domain.limits import MAX_USER_AGENT
from domain.organization import decider as org
from domain.organization.events import OrganizationRenamed

# An event as stored before the envelope carried its request's origin.
OLD_STORED = (
    b'{"event_id":"6c1b7b0e-6f5e-4a39-9c5c-3b0c2f7d9a10",'
    b'"stream_id":"0b9d1a8e-3f2c-4c1e-8a5d-2e7f6c9b4a31","stream_type":"organization",'
    b'"version":2,"organization_id":"0b9d1a8e-3f2c-4c1e-8a5d-2e7f6c9b4a31",'
    b'"occurred_at":"2026-11-30T09:00:00Z","actor":{"kind":"operator","id":"operator"},'
    b'"request_id":"req_1","correlation_id":"req_1","causation_id":"req_1",'
    b'"schema_version":1,"event":{"type":"organization.Renamed","name":"B",'
    b'"previous_name":"A"}}')


def test_an_event_stored_without_an_origin_still_decodes_as_a_system_one() -> None:
    envelope = decode(OLD_STORED)
    assert envelope.origin == ("", "", "system")
    assert envelope.event == OrganizationRenamed(name="B", previous_name="A")
    assert encode(envelope) == OLD_STORED


def test_the_context_origin_is_copied_into_every_envelope_of_the_command() -> None:
    ctx = Context(actor=Actor(kind="user", id="u1"), request_id="req_2",
                  ip_address="203.0.113.9", user_agent="curl/8", source="web",
                  clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    stream = uuid.uuid4()
    batch = envelopes(ctx, [write(org.DECIDER, stream, stream, 1, [
        OrganizationRenamed(name="B", previous_name="A"),
        OrganizationRenamed(name="C", previous_name="B")])])
    assert {e.origin for e in batch} == {("203.0.113.9", "curl/8", "web")}
    assert decode(encode(batch[0])) == batch[0]


def test_a_context_without_a_request_is_a_system_source() -> None:
    assert Context(actor=SYSTEM, request_id="seed").source == "system"


def request(*headers: tuple[bytes, bytes]) -> Request[Any, Any, Any]:
    return Request({"type": "http", "method": "POST", "path": "/v1/x", "headers": list(headers),
                    "client": ("203.0.113.7", 4000), "query_string": b""})


def test_a_request_with_origin_or_fetch_metadata_is_from_the_web_and_else_from_the_api() -> None:
    assert origin_of(request((b"user-agent", b"curl/8"))) == {
        "ip_address": "203.0.113.7", "user_agent": "curl/8", "source": "api"}
    assert origin_of(request((b"origin", b"https://app.example.com")))["source"] == "web"
    assert origin_of(request((b"sec-fetch-site", b"same-origin")))["source"] == "web"


def test_a_user_agent_is_kept_within_its_bound() -> None:
    agent = origin_of(request((b"user-agent", b"a" * 10_000)))["user_agent"]
    assert len(agent) == MAX_USER_AGENT
