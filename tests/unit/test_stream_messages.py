"""What a WebSocket client may say on an open stream, the refusals' denial budget, and the
stream tickets' redaction in logged text."""

from __future__ import annotations

import uuid

import pytest

from api.platform.errors import ApiException
from api.streams.clientmessages import client_request
from commands.denials import Budget
from infra.redaction import REDACTED, text


def test_a_resume_message_names_the_position_to_resume_after() -> None:
    assert client_request('{"type":"resume","after":42}', None) == 42
    assert client_request('{"type":"resume","after":0}', None) == 0


@pytest.mark.parametrize(("message", "data"), [
    ("nope", None), ('{"type":"resume"}', None), ('{"type":"resume","after":-1}', None),
    ('{"type":"resume","after":true}', None), ('{"type":"resume","after":1,"x":1}', None),
    ('{"type":"other","after":1}', None), ("[1]", None), (None, b"binary"),
    ('{"type":"resume","after":' + "9" * 30 + "}", None), (" " * 2000, None)])
def test_anything_else_is_a_400_error_to_answer_with(message: str | None,
                                                     data: bytes | None) -> None:
    answer = client_request(message, data)
    assert isinstance(answer, ApiException)
    assert (answer.status, answer.code) == (400, "invalid_parameter")


def test_the_budget_admits_so_many_records_per_organization_per_window() -> None:
    budget = Budget(per_window=2, window_s=60.0)
    a, b = uuid.uuid4(), uuid.uuid4()
    assert [budget.allows(a, 0.0) for _ in range(4)] == [True, True, False, False]
    assert budget.allows(b, 1.0)
    assert budget.suppressed == 2
    assert budget.allows(a, 61.0)


def test_the_budget_holds_at_most_so_many_organizations_in_a_window() -> None:
    budget = Budget(per_window=5, window_s=60.0, max_keys=2)
    assert [budget.allows(uuid.uuid4(), 0.0) for _ in range(3)] == [True, True, False]


def test_a_stream_ticket_is_redacted_in_logged_text_and_urls() -> None:
    ticket = "st_" + "Ab9_-" * 8 + "xyz"
    assert ticket not in text(f"opened with {ticket}")
    logged = text("GET /v1/ws?types=a.*&ticket=anything-at-all&after=3")
    assert logged == f"GET /v1/ws?types=a.*&ticket={REDACTED}&after=3"
    assert text("/v1/events/stream?access_token=abc") == f"/v1/events/stream?access_token={REDACTED}"
