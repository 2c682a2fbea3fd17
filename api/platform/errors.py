"""One structured error body everywhere, in the caller's language; domain errors map to HTTP here."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

import msgspec
import psycopg
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseUnavailable
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from psycopg_pool import PoolTimeout
from redis import exceptions as redis_errors

from api.platform import i18n
from api.platform.bodies import storable
from api.platform.middleware import ensure_request_id
from api.platform.proxy import origin_of
from commands.runner import Context, EventTooLarge, TooMuchContention, VersionConflict
from domain.access.events import AccessDenied
from domain.errors import (
    AlreadyExists,
    DomainError,
    Forbidden,
    ForeignNotFound,
    InvalidState,
    InvalidValue,
    NotFound,
    SlugTaken,
    Unauthenticated,
)

log = logging.getLogger("chronicle.api")


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    field: str
    message: str
    code: str | None = None  # the catalog reason, when the message comes from the catalog


class ApiError(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """The seed's ApiError. `code` is the broad, stable code; `reason` the specific one (the
    message catalog's key, equal to `code` when there is nothing more specific)."""

    code: str
    message: str
    reason: str
    request_id: str
    timestamp: datetime
    details: list[FieldError] | dict[str, Any] | None
    stack: str | None = None  # only for 500s, only when CHRONICLE_ENV=development


class ErrorBody(msgspec.Struct, frozen=True):
    error: ApiError


OAuthErrorCode = Literal["invalid_request", "invalid_client", "invalid_grant",
                         "unauthorized_client", "unsupported_grant_type", "invalid_scope"]


class OAuthErrorBody(msgspec.Struct, frozen=True):
    """RFC 6749 section 5.2's error body, which the /oauth/* endpoints answer with."""

    error: OAuthErrorCode
    error_description: str


class ApiException(Exception):
    """An error raised by the API layer itself, with its status and stable code.

    ``reason`` is the message catalog's key when it is more specific than ``code``; ``params``
    fill its placeholders. ``message`` (English) may be left out: the catalog's is used.
    """

    def __init__(self, status: int, code: str, message: str = "", *, reason: str | None = None,
                 params: Mapping[str, str | int] | None = None,
                 details: list[FieldError] | dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, audit: bool | None = None) -> None:
        self.reason = reason or code
        # Recorded as an access.Denied event when an organization's principal made the request:
        # every 403, and whatever else says so (another tenant's id answered with 404).
        self.audit = status == 403 if audit is None else audit
        self.params: dict[str, str | int] = dict(params or {})
        message = message or i18n.render(self.reason, "en", self.params) or code
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404, AlreadyExists: 409, SlugTaken: 409, InvalidState: 409, InvalidValue: 422,
    Unauthenticated: 401, Forbidden: 403,
}
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 412: "precondition_failed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
    429: "rate_limited", 431: "headers_too_large", 500: "internal_error",
    503: "service_unavailable",
}


def request_id_of(request: Request) -> str:
    return ensure_request_id(request.scope)


def error_response(request: Request, status: int, code: str, message: str = "",
                   details: list[FieldError] | dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, *, reason: str | None = None,
                   params: Mapping[str, object] | None = None,
                   stack: str | None = None, audit: bool | None = None) -> Response[ErrorBody]:
    """The error body in the caller's language (Accept-Language); ``message`` is the English
    fallback for a reason the catalog does not know."""
    reason = reason or code
    text, language = i18n.localize(reason, language_of(request), params, message)
    body = ErrorBody(ApiError(code=code, message=text, reason=reason,
                              request_id=request_id_of(request), timestamp=datetime.now(UTC),
                              details=details, stack=stack))
    if status == 403 if audit is None else audit:
        record_denial(request, status, code, reason)
    return Response(body, status_code=status, media_type=MediaType.JSON, headers={
        **(headers or {}), "Content-Language": language, "Vary": "Accept-Language"})


def language_of(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def on_api(request: Request, exc: ApiException) -> Response[ErrorBody]:
    return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers,
                          reason=exc.reason, params=exc.params, audit=exc.audit)


def record_denial(request: Request, status: int, code: str, reason: str) -> None:
    """Queue the audit record of a request an organization's principal was denied."""
    state = request.scope.get("state", {})
    principal = state.get("principal")
    container = getattr(request.app.state, "container", None)
    if principal is None or container is None:
        return
    origin = origin_of(request)
    container.denials.record(
        Context(actor=state["actor"], request_id=request_id_of(request), **origin),
        principal.organization_id,
        AccessDenied(method=request.method, path=storable(request.scope.get("path", ""), 1000),
                     status=status, code=code, reason=reason, **origin))


def on_domain(request: Request, exc: DomainError) -> Response[ErrorBody]:
    status = next((s for t, s in DOMAIN_STATUS.items() if isinstance(exc, t)), 400)
    details = None
    if exc.field:
        text, _ = i18n.localize(exc.code, language_of(request), exc.params, exc.message)
        details = [FieldError(exc.field, text, exc.code)]
    # RFC 9110: a 401 names how to authenticate (a failed login, say).
    challenge = {"WWW-Authenticate": 'Bearer realm="chronicle"'} if status == 401 else None
    return error_response(request, status, exc.category, exc.message, details, challenge,
                          reason=exc.code, params=exc.params,
                          audit=True if isinstance(exc, ForeignNotFound) else None)


def on_conflict(request: Request, exc: VersionConflict | TooMuchContention) -> Response[ErrorBody]:
    """A stale If-Match is RFC 9110's 412 Precondition Failed (a VersionConflict is only raised
    for a version the caller pinned); contention without one stays a 409."""
    if isinstance(exc, VersionConflict) and exc.actual is None:
        return error_response(request, 412, exc.code, str(exc),
                              reason="version_changed_concurrently",
                              params={"expected": exc.expected})
    if isinstance(exc, VersionConflict):
        return error_response(request, 412, exc.code, str(exc),
                              params={"expected": exc.expected, "actual": exc.actual})
    return error_response(request, 409, exc.code, str(exc))


def on_too_large(request: Request, exc: EventTooLarge) -> Response[ErrorBody]:
    return error_response(request, 413, "payload_too_large", str(exc), reason=exc.code,
                          params={"size": exc.size, "max": exc.limit})


def on_validation(request: Request, exc: ValidationException) -> Response[ErrorBody]:
    extra = [e for e in (exc.extra if isinstance(exc.extra, list) else [])
             if isinstance(e, dict)]
    if any(e.get("key") == "data" and e.get("message") == "'data'" for e in extra):
        return error_response(request, 400, "missing_body")
    # msgspec's own messages stay in English; the error's message is localized.
    details = [FieldError(_field(e), str(e.get("message", ""))) for e in extra]
    source = {e.get("source") for e in extra if isinstance(e, dict)}
    if source and "body" not in source:
        return error_response(request, 400, "invalid_parameter", details=details)
    return error_response(request, 422, "validation_failed", details=details)


def _field(error: dict[str, Any]) -> str:
    """The field path a validation error points at, as the client spelled it."""
    key = str(error.get("key", ""))
    key = "" if key == "data" else key
    message = str(error.get("message", ""))
    unknown = re.search(r"unknown field `([^`]*)`", message)
    if unknown:
        return f"{key}.{unknown.group(1)}" if key else unknown.group(1)
    return key or "body"


def on_http(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    code = HTTP_CODES.get(status, "error")
    detail = str(exc.detail)
    if status == 400 and "JSON is malformed" in detail:
        code = "malformed_json"
    # litestar's own wording, when it says more than the status line, stays available.
    extra = {"detail": detail} if status < 500 and detail and detail != _phrase(status) else None
    return error_response(request, status, code, _phrase(status), extra, headers=exc.headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


RETRY_AFTER_S = 1


def on_unavailable(request: Request, exc: Exception) -> Response[ErrorBody]:
    """A dependency that did not answer (Redis refused the connection, timed out or is still
    loading its data): the caller may retry shortly, so 503 with Retry-After, never a 500."""
    log.warning("a dependency is unavailable on %s %s: %s", request.method, request.url.path,
                exc)
    return error_response(request, 503, "service_unavailable",
                          headers={"Retry-After": str(RETRY_AFTER_S)})


def on_unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    ensure_request_id(request.scope)  # the line names the request even without telemetry
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    stack = "".join(traceback.format_exception(exc)) if _development(request) else None
    return error_response(request, 500, "internal_error", stack=stack)


def _development(request: Request) -> bool:
    """Stack traces are shown only when CHRONICLE_ENV=development, never elsewhere."""
    settings = getattr(getattr(request.app.state, "container", None), "settings", None)
    return getattr(settings, "env", None) == "development"


HANDLERS: dict[type[Exception], Any] = {
    ApiException: on_api,
    DomainError: on_domain,
    VersionConflict: on_conflict,
    TooMuchContention: on_conflict,
    EventTooLarge: on_too_large,
    ValidationException: on_validation,
    HTTPException: on_http,
    # BusyLoadingError (Redis replaying its AOF) is a ConnectionError too.
    redis_errors.ConnectionError: on_unavailable,
    redis_errors.TimeoutError: on_unavailable,
    psycopg.OperationalError: on_unavailable,  # the database went away or timed out
    PoolTimeout: on_unavailable,
    ClickHouseUnavailable: on_unavailable,  # ClickHouse refused, timed out or went away
    Exception: on_unexpected,
}
