"""The OpenAPI document's shared parts: bearer scheme, documented headers, error responses.

Routes stay thin: they spread ``**read(...)``, ``**command(...)``, ``**documented(...)`` or
``**health(...)`` into their decorator. Error bodies are the one ``ErrorBody`` schema, with
examples drawn from the message catalog (api/platform/i18n.py) by the reasons a route can answer with.
Headers that the shared machinery reads or writes (request ids, versions, idempotency,
If-Match, rate limits, ETag) are added to each operation by the ``operation_class`` built
here, since litestar documents only the headers a handler declares itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
    Tag,
)

from api.platform import i18n, versioning
from api.platform.docs_ui import SwaggerUI
from api.platform.errors import ErrorBody, OAuthErrorBody
from api.platform.schemas import CommandAccepted

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

BEARER = "operatorToken"
OPERATOR: list[SecurityRequirement] = [{BEARER: []}]
STRING, INTEGER = Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.INTEGER)


@dataclass
class RawExample(Example):
    """An Example whose value is emitted exactly: litestar's serializer drops None inside
    example values (a required `details: null` would vanish) and would emit the `id` field,
    which only keys the example."""

    @property
    def _exclude_fields(self) -> set[str]:
        return {"id"}

    def to_schema(self) -> dict[str, Any]:
        return {**super().to_schema(), "value": self.value}


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Struct schemas that say what msgspec enforces (`forbid_unknown_fields` structs get
    `additionalProperties: false`), and the same document in every process."""

    def to_openapi_schema(  # type: ignore[override]
            self, field_definition: FieldDefinition, schema_creator: SchemaCreator,
    ) -> Schema | Reference:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if msgspec.inspect.type_info(field_definition.type_).forbid_unknown_fields:  # type: ignore[attr-defined]
            schema.additional_properties = False
        # The reference, as litestar answers for a struct it has met before. A Schema here would
        # get the default of the field that met the struct first stamped on the shared component,
        # and which field that is follows hash order: a different document in every process.
        return schema_creator.schema_registry.get_reference_for_field_definition(
            field_definition) or schema


def _param(name: str, description: str, schema: Schema, where: str = "header") -> Parameter:
    return Parameter(name=name, param_in=where, schema=schema, description=description)


def _header(description: str, schema: Schema = STRING, *, required: bool = False) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema, description=description, required=required)


_VERSION = Schema(type=OpenAPIType.STRING, enum=[versioning.LATEST])
_VERSION_TEXT = (f"The API version the client is written against. This document describes "
                 f"{versioning.LATEST}; known versions: {', '.join(versioning.KNOWN)}. "
                 "Omitted: the latest. Header and query parameter must agree.")
_RATE = {"Limit": "The request quota of the tightest window.",
         "Remaining": "Requests left in that window.",
         "Reset": "Seconds until the window's quota is restored."}
# Shared by many operations, so they live once in components and are referenced.
PARAMETERS: dict[str, Parameter] = {
    # Any value is accepted: one that is not a well-formed id (empty, too long, other
    # characters) is replaced, as Heroku's router and Rails do, never refused: a tracing header
    # must not fail a request. The schema says so rather than claiming a pattern it won't enforce.
    "RequestId": _param(
        "X-Request-Id", "The request's id, kept if it is 1-128 of `A-Z a-z 0-9 . _ : -`; any "
        "other value (empty included) is replaced by a new `req_` id. Echoed in the response "
        "and the error body.", STRING),
    "ChronicleVersion": _param(versioning.HEADER, _VERSION_TEXT, _VERSION),
    "ChronicleVersionQuery": _param(versioning.QUERY, _VERSION_TEXT, _VERSION, where="query"),
    "AcceptLanguage": _param("Accept-Language",
                             "Language of error messages: `en` (default) or `ja`.", STRING),
    "IdempotencyKey": _param(
        "Idempotency-Key", "Makes the write safe to retry for 24 hours: the same key with the "
        "same request replays the first response (with `Idempotent-Replayed: true`); with "
        "another request it is refused with 422; while the first is still running, 409.",
        Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern=r"^[!-~]+$")),
    "IfMatch": _param(
        "If-Match", "Optimistic concurrency: the version the client last saw (its ETag, like "
        '`"3"`); another current version gets 409 `version_conflict`. `*` or absent: no check.',
        Schema(type=OpenAPIType.STRING, pattern=r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)\s*$')),
}
HEADERS: dict[str, OpenAPIHeader] = {
    "X-Request-Id": _header("The request's id (the caller's, if well-formed).", required=True),
    versioning.HEADER: _header("The API version the response was made for.", required=True),
    **{f"RateLimit-{k}": _header(v, INTEGER) for k, v in _RATE.items()},
    "Retry-After": _header("Seconds to wait before retrying.", INTEGER, required=True),
    "WWW-Authenticate": _header("The Bearer challenge.", required=True),
    "ETag": _header('The resource\'s version, quoted (`"3"`): send it as If-Match.',
                    Schema(type=OpenAPIType.STRING, pattern=r'^"[0-9]+"$'), required=True),
    "Idempotent-Replayed": _header(
        "`true` when this answers an earlier request with the same Idempotency-Key.",
        Schema(type=OpenAPIType.STRING, enum=["true"])),
    "Location": _header("The new resource's URL.", required=True),
}
COMMON_REQUEST = ("RequestId", "ChronicleVersion", "ChronicleVersionQuery", "AcceptLanguage")
EVERY_RESPONSE = ("X-Request-Id", versioning.HEADER)
RATE_LIMIT = tuple(f"RateLimit-{k}" for k in _RATE)
RATE_LIMITED: dict[str, OpenAPIHeader | Reference] = {  # on a 429 they are always there
    f"RateLimit-{k}": _header(v, INTEGER, required=True) for k, v in _RATE.items()}
ON_ERROR = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}
ETAG, ACCEPTED = ("ETag",), ("ETag", "Idempotent-Replayed")
CREATED = (*ACCEPTED, "Location")


def _ref(kind: str, name: str) -> Reference:
    return Reference(ref=f"#/components/{kind}/{name}")


STATUS_TEXT = {
    400: "Malformed request: a bad parameter, header, JSON body or API version.",
    401: "The credential (operator token, API key, access or refresh token, password) is "
         "missing or not valid.",
    403: "An API key may not do this: the route is the operator's, or the key lacks the "
         "permission.",
    404: "No such organization.",
    409: "Conflicts with the current state: a taken slug, a transition the status forbids, "
         "or an Idempotency-Key still running.",
    412: "Precondition Failed (RFC 9110): the If-Match version is not the current one; "
         "nothing was changed.",
    413: "The request body is larger than MAX_BODY_BYTES.",
    415: "The body's Content-Type is not the one the route takes.",
    422: "The body breaks a rule of its schema or of the domain, or the Idempotency-Key was "
         "used with other parameters.",
    402: "Payment Required: a paid plan's monthly quota is used up; `details` has the quota, "
         "the period and where to upgrade (`upgrade`: the plan change, which stays open).",
    429: "Rate limit exceeded, or a free plan's monthly quota used up until the month ends.",
    431: "The request headers are larger than MAX_HEADER_BYTES.",
    503: "Not available yet: the read model has not reached `min_position` within the wait, "
         "or rate limiting is unavailable.",
}
# Placeholder values for the catalog's message templates, and the details some errors carry.
_PARAMS: dict[str, object] = {
    "slug": "acme", "expected": 3, "actual": 4, "min_position": 1042, "retry_after": 2,
    "max": 32, "version": "2020-01-01", "known": ", ".join(versioning.KNOWN),
    "allowed": "active, suspended, deleted", "value": "10.0.0.300", "action": "update",
    "resource": "organizations", "field": "requestsPerSecond",
    "quota": "apiCalls", "plan": "starter", "period": "2026-11",
}
_DETAILS: dict[str, Any] = {
    "validation_failed": [{"field": "slug", "message":
                           "Expected `str` matching regex '^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$'"}],
    "slug_taken": [{"field": "slug", "message": "slug 'acme' is already taken",
                    "code": "slug_taken"}],
    "ip_whitelist_invalid": [{"field": "settings.ipWhitelist", "code": "ip_whitelist_invalid",
                              "message": "'10.0.0.300' is not an IP address or CIDR range"}],
    "quota_exceeded_payment_required": {
        "quota": "apiCalls", "used": 1_000_000, "limit": 1_000_000, "period": "2026-11",
        "plan": "starter", "resetsAt": "2026-12-01T00:00:00+00:00",
        "upgrade": {"method": "PATCH", "plans": ["professional", "enterprise"],
                    "href": "/v1/organizations/3fa85f64-5717-4562-b3fc-2c963f66afa6"}},
}
EVERY_ROUTE = ("unknown_api_version", "headers_too_large")
OPERATOR_ROUTE = ("unauthorized", "invalid_token", "invalid_api_key", "token_expired",
                  "token_invalid", "token_revoked", "rate_limited",
                  "quota_exceeded_payment_required", "rate_limiter_unavailable")
KEY_PERMISSION, OPERATOR_ONLY = ("permission_denied",), ("operator_only",)
WRITE = ("invalid_idempotency_key", "json_too_deep", "payload_too_large", "event_too_large",
         "idempotency_key_in_use", "idempotency_key_reused")
BODY = ("malformed_json", "missing_body", "validation_failed")
TARGET = ("organization_not_found", "permission_denied")  # a key may lack the permission
VERSIONED = ("if_match_invalid", "version_conflict")


def error_example(reason: str) -> Example:
    """An ErrorBody as the API sends it for ``reason`` (a key of the message catalog)."""
    entry = i18n.CATALOG[reason]
    return RawExample(id=reason, summary=reason, value={"error": {
        "code": entry.code or reason, "message": i18n.render(reason, "en", _PARAMS),
        "reason": reason, "requestId": "req_5f0c9e4b2d8a4f1e9b7c3a6d2e1f0a9b",
        "timestamp": "2026-11-01T09:30:00.000000Z", "details": _DETAILS.get(reason)}})


def errors(*reasons: str) -> dict[int, ResponseSpec]:
    """One documented response per status the reasons fall under, each with its examples."""
    by_status: dict[int, list[Example]] = {}
    for reason in dict.fromkeys(reasons):
        by_status.setdefault(i18n.CATALOG[reason].status, []).append(error_example(reason))
    return {status: ResponseSpec(ErrorBody, description=STATUS_TEXT[status],
                                 examples=examples, generate_examples=False)
            for status, examples in sorted(by_status.items())}


def _operation(request: Sequence[str], success: Sequence[str],
               request_examples: Mapping[str, Any] | None, *, optional_body: bool = False,
               limited: bool = False) -> type[Operation]:
    """An Operation class that adds the shared request and response headers (and examples)."""

    @dataclass
    class Documented(Operation):
        def __post_init__(self) -> None:
            self.parameters = [*(self.parameters or []), *(
                _ref("parameters", name) for name in (*COMMON_REQUEST, *request))]
            for status, response in (self.responses or {}).items():
                if isinstance(response, OpenAPIResponse):
                    response.headers = {**(response.headers or {}), **_headers_for(
                        int(status), secured=bool(self.security) or limited, success=success)}
            if isinstance(self.request_body, RequestBody):
                self.request_body.required = not optional_body
                for media in self.request_body.content.values():
                    media.examples = {name: RawExample(summary=name, value=value)
                                      for name, value in (request_examples or {}).items()
                                      } or media.examples

    return Documented


def _headers_for(status: int, *, secured: bool, success: Sequence[str],
                 ) -> dict[str, OpenAPIHeader | Reference]:
    names = [*EVERY_RESPONSE, *(success if status < 300 else ())]
    if secured:
        names += ON_ERROR.get(status, ())
    headers: dict[str, OpenAPIHeader | Reference] = {n: _ref("headers", n) for n in names}
    if secured and status != 401:  # the limit is charged after authentication, and on a 429
        headers.update(RATE_LIMITED if status == 429 else {
            n: _ref("headers", n) for n in RATE_LIMIT})
    return headers


def documented(status: int, model: type, *reasons: str, example: Any = None,
               request_headers: Sequence[str] = (), success_headers: Sequence[str] = (),
               requests: Mapping[str, Any] | None = None, optional_body: bool = False,
               description: str = "OK") -> dict[str, Any]:
    """Route kwargs for any authenticated operation: its success body (``model``), the errors
    of every /v1 route and ``reasons``, and the headers named (keys of PARAMETERS, HEADERS)."""
    success = ResponseSpec(model, description=description, generate_examples=False,
                           examples=[RawExample(id="example", value=example)] if example
                           else None)
    return {"responses": {status: success, **errors(*EVERY_ROUTE, *OPERATOR_ROUTE, *reasons)},
            "operation_class": _operation(request_headers, success_headers, requests,
                                          optional_body=optional_body)}


def oauth(model: type | None, fields: Mapping[str, str], required: Sequence[str],
          ) -> dict[str, Any]:
    """Route kwargs for an RFC 6749-style endpoint: a form body, and errors in RFC 6749's
    `{error, error_description}` shape (400, and 401 for client authentication)."""
    form = Schema(type=OpenAPIType.OBJECT, required=list(required), properties={
        name: Schema(type=OpenAPIType.STRING, description=text) for name, text in fields.items()})
    base = _operation((), (), None)

    @dataclass
    class FormOperation(base):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            super().__post_init__()
            self.request_body = RequestBody(required=True, content={
                "application/x-www-form-urlencoded": OpenAPIMediaType(schema=form)})

    return {"responses": {
        200: ResponseSpec(model, description="OK", generate_examples=False) if model else
        ResponseSpec(None, description="OK (also for an unknown token)"),
        # The API version check comes before the endpoint: its 400 is the ErrorBody.
        400: ResponseSpec(OAuthErrorBody | ErrorBody, generate_examples=False,
                          description="RFC 6749 section 5.2: invalid_request, invalid_grant, "
                          "invalid_scope, unauthorized_client or unsupported_grant_type (or, as "
                          "everywhere, ErrorBody for a bad API version)."),
        401: ResponseSpec(OAuthErrorBody, generate_examples=False, description=(
            "invalid_client: client authentication (HTTP Basic or client_secret_post) failed.")),
        **errors("headers_too_large")}, "operation_class": FormOperation}


def read(model: type, *reasons: str, example: Any = None, etag: bool = False,
         ) -> dict[str, Any]:
    """Route kwargs for a read answering 200 with ``model`` (and its version as ETag)."""
    return documented(200, model, *reasons, example=example,
                      success_headers=ETAG if etag else ())


def command(status: int, *reasons: str, example: Any, requests: Mapping[str, Any] | None = None,
            creates: bool = False, optional_body: bool = False) -> dict[str, Any]:
    """Route kwargs for an organization command: CommandAccepted, the errors of any write,
    Idempotency-Key, and If-Match unless it ``creates`` (then Location)."""
    return documented(
        status, CommandAccepted, *WRITE, *reasons, example=example, requests=requests,
        optional_body=optional_body,
        request_headers=("IdempotencyKey",) if creates else ("IdempotencyKey", "IfMatch"),
        success_headers=CREATED if creates else ACCEPTED,
        description="Accepted: the new version, and the event store position to pass as "
                    "`min_position` to read this write.")


PUBLIC_ROUTE = ("rate_limited", "rate_limiter_unavailable", "json_too_deep", "payload_too_large")


def public(status: int, model: type, *reasons: str, description: str = "OK") -> dict[str, Any]:
    """Route kwargs for a public /v1 route: no bearer token, rate limited per client IP."""
    success = ResponseSpec(model, description=description, generate_examples=False)
    return {"responses": {status: success, **errors(*EVERY_ROUTE, *PUBLIC_ROUTE, *reasons)},
            "operation_class": _operation((), (), None, limited=True), "security": []}


def health(unhealthy: type | None = None) -> dict[str, Any]:
    """Route kwargs for an unauthenticated health route (503 carries its own body)."""
    responses = errors(*EVERY_ROUTE)
    if unhealthy is not None:
        responses[503] = ResponseSpec(unhealthy, generate_examples=False,
                                      description="A required dependency is unhealthy.")
    return {"responses": responses, "operation_class": _operation((), (), None)}


def config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Chronicle", version="1.0.0", path="/docs", render_plugins=[SwaggerUI()],
        description="Event-sourced API platform. Writes are commands that answer with the new "
        "version and the store `position`; reads accept `min_position` to wait (bounded) "
        "until the read model has caught up with a write. Every error has one body: "
        "`{\"error\": {code, reason, message, requestId, timestamp, details}}`.",
        components=Components(
            parameters=dict(PARAMETERS), headers=dict(HEADERS), security_schemes={
                BEARER: SecurityScheme(
                    type="http", scheme="bearer", bearer_format="opaque token",
                    description="`Authorization: Bearer <token>`: the platform operator's token "
                        "(CHRONICLE_ADMIN_TOKEN), an organization's API key, or a JWT access "
                        "token (RS256; keys at /.well-known/jwks.json) from login or OAuth. A key "
                        "may also sign requests: `Chronicle-Signature: t=<unix time>,v1=<hex "
                        "HMAC-SHA256 of \"<t>.<METHOD>.<path?query>.<hex SHA-256 of the body>\" "
                        "under the key's signingSecret>` (required for keys issued with "
                        "requireSignature; 300 s skew; each signature is accepted once).")}),
        tags=[Tag(name="organizations", description="Tenants: commands and read models."),
              Tag(name="operations", description="Operator views of the pipeline."),
              Tag(name="users", description="An organization's users: invitations, profile, "
                                            "role, status, two-factor."),
              Tag(name="roles", description="System roles and custom roles."),
              Tag(name="sign-up", description="Public: sign-up, email verification, "
                                              "invitations. No bearer token; rate limited per "
                                              "client IP."),
              Tag(name="health", description="Liveness and readiness; no authentication."),
              Tag(name="oauth", description="OAuth 2.0 endpoints and the JWKS (RFC 6749, "
                  "7517, 7662, 7009); their errors are RFC 6749's `{error, error_description}`."),
              Tag(name="auth", description="Login, refresh, logout and sessions.")])
