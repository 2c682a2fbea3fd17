"""One structured error body everywhere, and the single place domain errors map to HTTP."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api.middleware import ensure_request_id
from commands.runner import TooMuchContention, VersionConflict
from domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidState,
    InvalidValue,
    NotFound,
    SlugTaken,
)

log = logging.getLogger("chronicle.api")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class ApiError(msgspec.Struct, frozen=True, rename="camel"):
    code: str
    message: str
    request_id: str
    timestamp: datetime
    details: list[FieldError] | dict[str, Any] | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    error: ApiError


class ApiException(Exception):
    """An error raised by the API layer itself, with its status and stable code."""

    def __init__(self, status: int, code: str, message: str, *,
                 details: list[FieldError] | dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404, AlreadyExists: 409, SlugTaken: 409, InvalidState: 409, InvalidValue: 422,
}
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
    429: "rate_limited", 500: "internal_error", 503: "service_unavailable",
}


def request_id_of(request: Request) -> str:
    return ensure_request_id(request.scope)


def error_response(request: Request, status: int, code: str, message: str,
                   details: list[FieldError] | dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    body = ErrorBody(ApiError(code=code, message=message, request_id=request_id_of(request),
                              timestamp=datetime.now(UTC), details=details))
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def on_api(request: Request, exc: ApiException) -> Response[ErrorBody]:
    return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


def on_domain(request: Request, exc: DomainError) -> Response[ErrorBody]:
    status = next((s for t, s in DOMAIN_STATUS.items() if isinstance(exc, t)), 400)
    details = [FieldError(exc.field, exc.message)] if exc.field else None
    return error_response(request, status, exc.code, exc.message, details)


def on_conflict(request: Request, exc: VersionConflict | TooMuchContention) -> Response[ErrorBody]:
    return error_response(request, 409, exc.code, str(exc))


def on_validation(request: Request, exc: ValidationException) -> Response[ErrorBody]:
    extra = [e for e in (exc.extra if isinstance(exc.extra, list) else [])
             if isinstance(e, dict)]
    if any(e.get("key") == "data" and e.get("message") == "'data'" for e in extra):
        return error_response(request, 400, "missing_body", "a JSON request body is required")
    details = [FieldError(_field(e), str(e.get("message", ""))) for e in extra]
    source = {e.get("source") for e in extra if isinstance(e, dict)}
    if source and "body" not in source:
        return error_response(request, 400, "invalid_parameter",
                              "a path or query parameter is invalid", details)
    return error_response(request, 422, "validation_failed", "the request body is invalid",
                          details)


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
    if status == 400 and "JSON is malformed" in str(exc.detail):
        code = "malformed_json"
    message = exc.detail if status < 500 else "internal server error"
    return error_response(request, status, code, str(message), headers=exc.headers)


def on_unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error", "internal server error")


HANDLERS: dict[type[Exception], Any] = {
    ApiException: on_api,
    DomainError: on_domain,
    VersionConflict: on_conflict,
    TooMuchContention: on_conflict,
    ValidationException: on_validation,
    HTTPException: on_http,
    Exception: on_unexpected,
}
