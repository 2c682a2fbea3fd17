"""Schemathesis drives the real API process from the API's own OpenAPI document.

Every documented operation gets generated requests, valid and invalid, sent with the operator
token; every response must not be a server error and must be what the document says: a
documented status code, content type, headers and body schema. The API, relay and projector
run as real processes on an environment of their own, so what the fuzzer writes stays there.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as _openapi_checks  # registers them

from tests.conftest import ADMIN_TOKEN, deprovision, provision, running_stack

# hypothesis looks numpy up in sys.modules while drawing; a projector thread of the test
# session (tests/conftest.Workers) may be importing it at that moment, half-initialized.
with contextlib.suppress(ImportError):
    import numpy  # noqa: F401

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MAX_EXAMPLES = 15
SENT: dict[str, int] = {}
JUDGED: dict[str, int] = {}  # cases the explained checks passed on to schemathesis' own


@schemathesis.check
def no_server_error_but_waiting(ctx: Any, response: Any, case: Any) -> bool | None:
    """not_a_server_error, except the documented 503 `not_caught_up`: the designed answer to a
    `min_position` the read model has not reached (generated positions mostly lie far ahead)."""
    if response.status_code == 503 and _error_code(response) == "not_caught_up":
        return None
    return not_a_server_error(ctx, response, case)


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


# Schema-valid requests that are still refused, each for a reason a schema cannot say.
EXPLAINED_REFUSALS = {
    "mail_token_invalid": "a mail token is schema-valid text; only its HMAC and expiry make it real",
    "password_policy": "the 12-256 character policy answers with its own reason, not the schema's",
    "invalid_request": "RFC 6749 3.2: an OAuth parameter sent more than once is invalid_request",
    "invalid_parameter": "a NUL in a query string is refused for every route (PostgreSQL cannot "
                         "compare it); JSON Schema has no way to forbid one character",
    "webhook_url_invalid": "an absolute http(s) URL with a host and no credentials is more than "
                           "a JSON Schema format says",
    "webhook_url_forbidden": "whether a host is or resolves to a public address takes DNS",
    "webhook_event_types_invalid": "an event type filter's grammar is the decider's",
}


@schemathesis.check
def positive_data_acceptance_explained(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, except the refusals explained above."""
    if _reason(response) in EXPLAINED_REFUSALS or _unstorable_text(response):
        return None
    JUDGED["positive"] = JUDGED.get("positive", 0) + 1
    return _openapi_checks.positive_data_acceptance(ctx, response, case)


@schemathesis.check
def negative_data_rejection_explained(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection, except cases negative only in ways explained here:
    - undeclared query parameters: Chronicle ignores them (as GitHub does; bodies refuse
      unknown fields);
    - Authorization left out: this harness adds the operator's token to every case, so such a
      request is no longer negative (ignored_auth checks missing and bad credentials)."""
    mutations = getattr(getattr(getattr(case.meta, "phase", None), "data", None), "mutations", ())
    if mutations and all(_explained(m) for m in mutations):
        return None
    if mutations:
        JUDGED["negative"] = JUDGED.get("negative", 0) + 1
    return _openapi_checks.negative_data_rejection(ctx, response, case)


def _explained(mutation: Any) -> bool:
    where = str(getattr(mutation.parameter_location, "name", "")).lower()
    if where == "header":
        return (mutation.parameter or "").lower() == "authorization"
    return where == "query" and "additionalProperties" in mutation.keywords


def _unstorable_text(response: Any) -> bool:
    """A body string holding NUL or a lone surrogate, refused by the one body base (422): as in
    a query string, PostgreSQL cannot store it and JSON Schema cannot forbid one character."""
    return response.status_code == 422 and "must not contain" in response.text and (
        "NUL" in response.text or "unpaired surrogates" in response.text)


def _reason(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("reason"))
    return str(body.get("error")) if isinstance(body, dict) and "error" in body else None


# Every check schemathesis has (`--checks all`); ours stand in for the three they explain.
REPLACED = {not_a_server_error, _openapi_checks.positive_data_acceptance,
            _openapi_checks.negative_data_rejection}
OURS = [no_server_error_but_waiting, positive_data_acceptance_explained,
        negative_data_rejection_explained]
CHECKS = [*OURS, *(c for c in REGISTRY.get_all() if c not in REPLACED and c not in OURS)]


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env_settings = provision()
    log = tmp_path_factory.mktemp("schemathesis") / "stack.log"
    # A short read wait: generated min_position values are mostly far ahead of the store.
    # Info logs: the server's lifecycle lines tell a clean shutdown from a process that was killed.
    try:
        with running_stack(env_settings, log, READ_WAIT_TIMEOUT_MS="200",
                           LOG_LEVEL="info") as url:
            yield url
    finally:
        deprovision(env_settings)
        # pytest shows this with a failure: the server's side of the story.
        print(_tail(log))


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@pytest.fixture(scope="module")
def api_schema(api_url: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{api_url}/docs/openapi.json")
    schema.config.update(base_url=api_url)
    return schema


@pytest.fixture(scope="module")
def organization_id(api_url: str) -> str:
    """A real organization, so targeted commands and reads get past 404 too."""
    created = httpx.post(f"{api_url}/v1/organizations", headers=AUTH,
                         json={"name": "Fuzzed", "slug": f"fuzzed-{uuid.uuid4().hex[:8]}"},
                         timeout=20)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_documented(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    fuzz_all({op: op.as_strategy(generation_mode=mode) for op in operations})


def test_operations_on_an_existing_organization_answer_as_documented(
        api_schema: Any, organization_id: str) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    fuzz_all({op: op.as_strategy(path_parameters={"organization_id": organization_id})
              for op in operations if "{organization_id}" in op.path})


def fuzz_all(strategies: dict[Any, Any]) -> None:
    """Every operation gets its examples; the failures of all of them are reported together."""
    failures = {}
    for operation, strategy in strategies.items():
        try:
            fuzz(operation, strategy)
        except (Exception, FailureGroup) as exc:  # schemathesis' report names the checks
            failures[operation.label] = exc
    assert not failures, "\n\n".join(f"{label}: {_report(exc)}" for label, exc in failures.items())


def _report(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", ())
    return "\n".join([str(exc), *(f"  - {e!s}" for e in inner)])


def fuzz(operation: Any, strategy: Any) -> None:
    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: Any) -> None:
        SENT[operation.label] = SENT.get(operation.label, 0) + 1
        # The operator's token, unless the case carries its own (negated) Authorization.
        own = {k.lower() for k in (case.headers or {})}
        case.call_and_validate(headers=None if "authorization" in own else AUTH, checks=CHECKS,
                               timeout=30)

    answers_as_documented()


def test_schemathesis_sent_requests_to_every_operation(api_schema: Any) -> None:
    operations = {result.ok().label for result in api_schema.get_all_operations()}
    assert set(SENT) == operations
    assert min(SENT.values()) >= 2 * 5, SENT  # positive and negative, at least 5 of each
    # The explanations leave most cases to the real checks (they are not switched off).
    assert JUDGED.get("positive", 0) >= len(operations) * 5, JUDGED
    assert JUDGED.get("negative", 0) >= len(operations) * 3, JUDGED
