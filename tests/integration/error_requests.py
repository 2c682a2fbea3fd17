"""One request per error reason of the catalog, for the test that every reason is reachable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import redis
from litestar import get
from litestar.exceptions import (
    ClientException,
    HTTPException,
    PermissionDeniedException,
    ServiceUnavailableException,
)
from litestar.params import FromPath
from litestar.testing import TestClient

from commands.runner import TooMuchContention, VersionConflict
from domain.errors import AlreadyExists, DomainError, InvalidState, InvalidValue
from infra.settings import Settings

# Reasons no HTTP request can produce today, and where they are tested instead.
ELSEWHERE = {
    "alert_already_firing": "the evaluator's, not a route's; tests/unit/test_alert_rule_decider.py",
    "alert_not_firing": "the evaluator's, not a route's; tests/unit/test_alert_rule_decider.py",
    "alert_rule_window_invalid": "the request schema refuses it first; alert rule decider tests",
    # The bodies' bounds (api/platform/bodies.py, domain/limits.py) refuse these first, as 422
    # validation_failed naming the field; the deciders keep their own check.
    "ip_whitelist_too_many": "the request schema refuses it first; decider tests",
    "allowed_origins_too_many": "the request schema refuses it first; decider tests",
    "session_timeout_out_of_range": "the request schema refuses it first; decider tests",
    "data_retention_out_of_range": "the request schema refuses it first; decider tests",
    "timezone_invalid": "the request schema (the IANA database) refuses it first; decider "
                        "tests, tests/integration/test_fuzzed_inputs.py",
    "rate_limit_out_of_range": "the request schema refuses it first; tests/unit/test_limits.py",
    "permission_too_large": "the request schema refuses it first; tests/unit/test_limits.py",
    "event_too_large": "needs a small MAX_EVENT_BYTES; tests/integration/test_bounded_bodies.py",
    "organization_already_exists": "ids are made by the server; the decider's unit tests",
    "slug_not_held": "only a deleted organization releases its own slug; slug decider tests",
    "name_too_long": "the request schema refuses it first; decider tests",
    "slug_invalid": "the request schema refuses it first; decider tests",
    "suspend_reason_too_long": "the request schema refuses it first; decider tests",
    "rate_limited": "tests/integration/test_ratelimit.py (the operator's bucket is shared)",
    "payment_required": "the code of a paid plan's quota refusal; tests/integration/"
                        "test_usage_policies.py",
    "quota_exceeded_payment_required": "needs a month's usage past a paid plan's quota;"
                                       " tests/integration/test_usage_policies.py",
    "api_key_exists": "key ids are made by the server; tests/unit/test_apikey_decider.py",
    "api_key_name_invalid": "the request schema refuses it first; apikey decider tests",
    "api_key_too_many_permissions": "the request schema refuses it first; apikey decider tests",
    "api_key_expiry_in_past": "tests/unit/test_apikey_decider.py",
    "api_key_grace_out_of_range": "the request schema refuses it first; apikey decider tests",
    "api_key_revoked": "tests/unit/test_apikey_decider.py",
    "api_key_not_found": "tests/unit/test_apikey_decider.py",
    "organization_suspended_no_keys": "commands/apikeys.py; not yet requested over HTTP",
    "permission_denied": "tests/integration/test_api_keys.py",
    "permission_escalation": "tests/integration/test_api_keys.py",
    "operator_only": "tests/integration/test_api_keys.py",
    "invalid_api_key": "tests/integration/test_api_keys.py",
    "idempotency_not_supported": "tests/integration/test_api_keys.py",
    "token_revoked": "tests/integration/test_sessions.py (revocation reaches every process)",
    "oauth_client_exists": "client ids are made by the server; tests/unit/test_oauthclient_decider.py",
    "oauth_client_name_invalid": "the request schema refuses it first; oauthclient decider tests",
    "webhook_endpoint_exists": "endpoint ids are made by the server; webhook decider tests",
    "webhook_description_too_long": "the request schema refuses it first; decider tests",
    "redirect_uris_too_many": "the request schema refuses it first; oauthclient decider tests",
    "scopes_too_many": "the request schema refuses it first; oauthclient decider tests",
    "grant_types_required": "the request schema refuses it first; oauthclient decider tests",
    "pkce_method_unsupported": "tests/integration/test_oauth.py (needs a user's session)",
    "redirect_uri_mismatch": "tests/integration/test_oauth.py (needs a user's session)",
    "scope_not_allowed": "tests/integration/test_oauth.py (needs a user's session)",
    "grant_not_allowed": "tests/integration/test_oauth.py (needs a user's session)",
    "refresh_token_reused": "tests/integration/test_sessions.py",
    "https_required": "tests/integration/test_org_security.py (needs a proxied client)",
    "ip_not_allowed": "tests/integration/test_org_security.py",
    "organization_suspended": "tests/integration/test_org_security.py",
    "organization_closed": "tests/integration/test_org_security.py",
    "invalid_signature": "sent as the code of every signature_* reason; test_signing.py",
    "signature_required": "tests/integration/test_signing.py",
    "signature_malformed": "tests/integration/test_signing.py",
    "signature_expired": "tests/integration/test_signing.py",
    "signature_mismatch": "tests/integration/test_signing.py",
    "signature_replayed": "tests/integration/test_signing.py",
    "two_factor_required": "authenticate(); tests/integration/test_users.py",
    "invalid_two_factor_code": "authenticate(); tests/integration/test_users.py",
    "email_not_verified": "authenticate(); tests/integration/test_users.py",
    "organization_not_active": "authenticate(); tests/integration/test_users.py",
    "invitation_not_pending": "needs a mailed token; tests/integration/test_users.py",
    "two_factor_already_enabled": "needs a current TOTP code; tests/unit/test_user_decider.py",
    "user_name_too_long": "the request schema refuses it first; user decider tests",
    "user_too_many_permissions": "the request schema refuses it first; user decider tests",
    "role_description_too_long": "the request schema refuses it first; role decider tests",
    "role_too_many_permissions": "the request schema refuses it first; role decider tests",
    "user_exists": "user ids are made by the server; tests/unit/test_user_decider.py",
    "role_exists": "role ids are made by the server; tests/unit/test_role_decider.py",
    "resource_type_description_too_long": "the request schema refuses it first; "
                                          "tests/unit/test_resource_type_decider.py",
    "schema_too_deep": "the edge's MAX_JSON_DEPTH refuses the body first; "
                       "tests/unit/test_resource_type_decider.py",
    "resource_exists": "resource ids are made by the server; tests/unit/test_resource_decider.py",
    "data_too_deep": "the edge's MAX_JSON_DEPTH refuses the body first; "
                     "tests/unit/test_resource_decider.py",
    "resource_metadata_too_large": "the request schema refuses it first; "
                                   "tests/unit/test_resource_decider.py",
    "relationships_too_many": "the request schema refuses it first; "
                              "tests/unit/test_resource_decider.py",
    "relationship_too_deep": "needs a chain of 100 parents; tests/unit/test_resource_relations.py",
    "cascade_too_large": "needs 1,000 dependents; the bound is MAX_CASCADE in domain/limits.py",
    "patch_invalid": "the patch body's schema keeps every merge a resource; "
                     "tests/usecases/test_resources.py",
    "claim_not_held": "only an owner releases its claim; tests/unit/test_role_decider.py",
    "transaction_items_count": "the request schema refuses it first; "
                               "tests/usecases/test_transactions.py",
    "bulk_items_count": "the request schema refuses it first; "
                        "tests/unit/test_bulk_operation_decider.py",
    "bulk_item_too_large": "MAX_BODY_BYTES refuses such a body first; "
                           "tests/unit/test_bulk_operation_decider.py",
    "bulk_operation_exists": "operation ids are made by the server; "
                             "tests/unit/test_bulk_operation_decider.py",
    "bulk_chunk_out_of_order": "only the bulk worker records chunks; "
                               "tests/unit/test_bulk_operation_decider.py",
}

# Exceptions only a fault or a race raises; a test-only route raises them to prove the mapping.
RAISED: dict[str, Callable[[], Exception]] = {
    "bad_request": lambda: ClientException("bad"),
    "forbidden": PermissionDeniedException,
    "not_acceptable": lambda: HTTPException(status_code=406),
    "conflict": lambda: HTTPException(status_code=409),
    "unsupported_media_type": lambda: HTTPException(status_code=415),
    "service_unavailable": ServiceUnavailableException,
    "error": lambda: HTTPException(status_code=418),
    "internal_error": lambda: RuntimeError("boom"),
    "domain_error": lambda: DomainError("a rule said no"),
    "already_exists": lambda: AlreadyExists("it exists"),
    "invalid_state": lambda: InvalidState("not now"),
    "invalid_value": lambda: InvalidValue("not that"),
    "version_changed_concurrently": lambda: VersionConflict(3, None),
    "too_much_contention": lambda: TooMuchContention("the stream kept changing; try again"),
    "precondition_failed": lambda: HTTPException(status_code=412),
}


@get("/test/raise/{what:str}", include_in_schema=False)
async def raise_for_test(what: FromPath[str]) -> None:
    raise RAISED[what]()


class Clients(NamedTuple):
    main: TestClient[Any]  # CORS_ORIGINS=https://app.example.com
    impatient: TestClient[Any]  # READ_WAIT_TIMEOUT_MS=50
    closed: TestClient[Any]  # an unreachable Redis, RATE_LIMIT_FAILURE_MODE=closed
    settings: Settings


Spec = tuple[TestClient[Any], str, str, dict[str, Any]]


def expired_token(c: Clients) -> Spec:
    org = c.main.post("/v1/organizations", json={"name": "a", "slug": f"x-{uuid.uuid4().hex[:8]}"})
    token, _ = c.main.app.state.container.tokens.issue(
        subject=str(uuid.uuid4()), organization_id=uuid.UUID(org.json()["id"]), kind="user",
        now=datetime.now(UTC) - timedelta(days=1))
    return c.main, "GET", ORGS, {"headers": {"Authorization": f"Bearer {token}"}}


def org_id(c: Clients) -> str:
    return organization(c).rsplit("/", 1)[1]


def deleted_client(c: Clients) -> Spec:
    created = c.main.post("/v1/oauth/clients", json={"name": "x", "organizationId": org_id(c)})
    path = f"/v1/oauth/clients/{created.json()['id']}"
    assert c.main.delete(path).status_code == 200
    return c.main, "DELETE", path, {}


def organization(c: Clients, **body: Any) -> str:
    body = {"name": "Acme", "slug": f"err-{uuid.uuid4().hex[:12]}", **body}
    created = c.main.post("/v1/organizations", json=body)
    assert created.status_code == 201, created.text
    return f"/v1/organizations/{created.json()['id']}"


def after(c: Clients, path: str, *steps: str) -> str:
    for step in steps:
        assert c.main.post(f"{path}/{step}", json={}).status_code == 200
    return path


def deleted(c: Clients) -> str:
    path = organization(c)
    assert c.main.delete(path).status_code == 200
    return path


def with_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"name": "x", "slug": f"s-{uuid.uuid4().hex[:10]}", "settings": settings}}


def slug_taken(c: Clients) -> Spec:
    slug = f"taken-{uuid.uuid4().hex[:10]}"
    organization(c, slug=slug)
    return c.main, "POST", "/v1/organizations", {"json": {"name": "B", "slug": slug}}


def reused_key(c: Clients) -> Spec:
    key = str(uuid.uuid4())
    c.main.post("/v1/organizations", json={"name": "a", "slug": f"k-{key[:8]}"},
                headers={"Idempotency-Key": key})
    return c.main, "POST", "/v1/organizations", {"json": {"name": "b", "slug": f"k-{key[:8]}"},
                                                 "headers": {"Idempotency-Key": key}}


def key_in_use(c: Clients) -> Spec:
    key = str(uuid.uuid4())
    with redis.Redis.from_url(c.settings.redis_url) as r:
        r.set(f"{c.settings.redis_key_prefix}idempotency:operator:platform-operator:{key}", "1",
              px=60_000)
    return c.main, "POST", "/v1/organizations", {"json": {"name": "a", "slug": f"k-{key[:8]}"},
                                                 "headers": {"Idempotency-Key": key}}


def too_deep(c: Clients) -> Spec:
    body = '{"name":"x","slug":"x","settings":' + '{"a":' * 40 + "1" + "}" * 41
    return c.main, "POST", "/v1/organizations", {
        "content": body, "headers": {"Content-Type": "application/json"}}


def signed_up(c: Clients) -> str:
    """A new organization's owner, as a /v1/users path."""
    n = uuid.uuid4().hex[:10]
    created = c.main.post("/v1/auth/signup", json={
        "organizationName": "Err", "slug": f"err-{n}", "email": f"err-{n}@example.com",
        "password": "a long enough password"})
    assert created.status_code == 201, created.text
    return f"/v1/users/{created.json()['userId']}"


def invited(c: Clients, *steps: str) -> str:
    org = organization(c).rsplit("/", 1)[1]
    created = c.main.post("/v1/users", json={
        "email": f"err-{uuid.uuid4().hex[:10]}@example.com", "organizationId": org})
    assert created.status_code == 201, created.text
    return after(c, f"/v1/users/{created.json()['id']}", *steps)


def taken_email(c: Clients) -> Spec:
    org = organization(c).rsplit("/", 1)[1]
    body = {"email": f"dup-{uuid.uuid4().hex[:10]}@example.com", "organizationId": org}
    assert c.main.post("/v1/users", json=body).status_code == 201
    return c.main, "POST", "/v1/users", {"json": body}


def taken_role_name(c: Clients) -> Spec:
    org = organization(c).rsplit("/", 1)[1]
    assert c.main.post("/v1/roles", json={"name": "Dup", "organizationId": org}).status_code == 201
    return c.main, "POST", "/v1/roles", {"json": {"name": "DUP", "organizationId": org}}


def taken_type_name(c: Clients) -> Spec:
    body = in_org(c, name="dup", schema={})
    assert c.main.post("/v1/resource-types", **body).status_code == 201
    return c.main, "POST", "/v1/resource-types", body


def new_type(c: Clients, **body: Any) -> Spec:
    return c.main, "POST", "/v1/resource-types", in_org(c, **{"name": "t", "schema": {}, **body})


def enrolling(c: Clients) -> str:
    path = signed_up(c)
    assert c.main.post(f"{path}/two-factor").status_code == 200
    return path


def in_org(c: Clients, **body: Any) -> dict[str, Any]:
    return {"json": {"organizationId": organization(c).rsplit("/", 1)[1], **body}}


def alert_rule(c: Clients, **body: Any) -> dict[str, Any]:
    return in_org(c, **{"name": "Errors", "metric": "error_rate", "windowSeconds": 300,
                        "comparison": "gt", "threshold": 0.1, **body})


def typed(c: Clients) -> tuple[str, str]:
    """A fresh organization with a `bees` type whose data needs a string `name`: the
    organization's id and the type's collection path."""
    org = org_id(c)
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert c.main.post("/v1/resource-types", json={
        "name": "bees", "schema": schema, "organizationId": org}).status_code == 201
    return org, "/v1/resources/bees"


def resource_after(c: Clients, *steps: str) -> Spec:
    """A PUT on a new resource after ``steps`` (delete, archive)."""
    org, path = typed(c)
    params = {"organization_id": org}
    created = c.main.post(path, params=params, json={"data": {"name": "Maya"}})
    assert created.status_code == 201, created.text
    target = f"{path}/{created.json()['id']}"
    for step in steps:
        done = (c.main.delete(target, params=params) if step == "delete"
                else c.main.post(f"{target}/{step}", params=params))
        assert done.status_code == 200, done.text
    return c.main, "PUT", target, {"params": params, "json": {"data": {"name": "Vespa"}}}


def queried(c: Clients, *repeated: tuple[str, str], **query: str) -> Spec:
    """A list of a fresh organization's `bees`, once the type is readable, with ``query``
    (and the ``repeated`` parameters)."""
    org = org_id(c)
    made = c.main.post("/v1/resource-types", json={
        "name": "bees", "schema": {"type": "object"}, "organizationId": org})
    assert made.status_code == 201, made.text
    return c.main, "GET", "/v1/resources/bees", {"params": [
        ("organization_id", org), ("min_position", str(made.json()["position"])),
        *query.items(), *repeated]}


def related(c: Clients, kind: str) -> tuple[str, str, str, str]:
    """Resource A and resource B related to it by ``kind``: the organization, the type's
    collection path, A's id and B's."""
    org, path = typed(c)
    params = {"organization_id": org}
    a = c.main.post(path, params=params, json={"data": {"name": "a"}}).json()["id"]
    b = c.main.post(path, params=params, json={"data": {"name": "b"}, "relationships": [
        {"type": kind, "id": a}]})
    assert b.status_code == 201, b.text
    return org, path, a, b.json()["id"]


def cycle(c: Clients) -> Spec:
    org, path, a, b = related(c, "parent")
    return c.main, "PUT", f"{path}/{a}", {"params": {"organization_id": org}, "json": {
        "data": {"name": "a"}, "relationships": [{"type": "parent", "id": b}]}}


def depended_on(c: Clients) -> Spec:
    org, path, a, _ = related(c, "dependency")
    return c.main, "DELETE", f"{path}/{a}", {"params": {"organization_id": org}}


def in_type(c: Clients, method: str, tail: str = "", query: dict[str, str] | None = None,
            **kwargs: Any) -> Spec:
    org, path = typed(c)
    return c.main, method, f"{path}{tail}", {"params": {"organization_id": org, **(query or {})},
                                              **kwargs}


ORGS = "/v1/organizations"
HOOKS, PUBLIC_HOOK = "/v1/webhook-endpoints", "https://93.184.216.34/hook"


def hook(c: Clients) -> str:
    created = c.main.post(HOOKS, **in_org(c, url=PUBLIC_HOOK, eventTypes=["*"]))
    assert created.status_code == 201, created.text
    return f"{HOOKS}/{created.json()['id']}"


EMAIL = "someone@example.com"
REQUESTS: dict[str, Callable[[Clients], Spec]] = {
    "malformed_json": lambda c: (c.main, "POST", ORGS, {
        "content": b"{bad", "headers": {"Content-Type": "application/json"}}),
    "missing_body": lambda c: (c.main, "POST", ORGS, {}),
    "invalid_parameter": lambda c: (c.main, "GET", f"{ORGS}?limit=abc", {}),
    "if_match_invalid": lambda c: (c.main, "PATCH", organization(c), {
        "json": {"name": "y"}, "headers": {"If-Match": "abc"}}),
    "as_of_invalid": lambda c: (c.main, "GET", f"{ORGS}/{uuid.uuid4()}?as_of=nope", {}),
    "status_filter_invalid": lambda c: (c.main, "GET", f"{ORGS}?status=gone", {}),
    "cursor_invalid": lambda c: (c.main, "GET", f"{ORGS}?cursor=!!!", {}),
    "invalid_idempotency_key": lambda c: (c.main, "POST", ORGS, {
        **with_settings({}), "headers": {"Idempotency-Key": "k" * 300}}),
    "json_too_deep": too_deep,
    "unknown_api_version": lambda c: (c.main, "GET", "/health/live", {
        "headers": {"Chronicle-Version": "1999-01-01"}}),
    "conflicting_api_version": lambda c: (c.main, "GET", "/health/live?chronicle_version=2026-06-01",
                                          {"headers": {"Chronicle-Version": "2026-11-01"}}),
    "unauthorized": lambda c: (c.main, "GET", ORGS, {"headers": {"Authorization": ""}}),
    "invalid_token": lambda c: (c.main, "GET", ORGS, {"headers": {"Authorization": "Bearer no"}}),
    "invalid_credentials": lambda c: (c.main, "POST", "/v1/auth/login", {"json": {
        "email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "not a password"}}),
    "session_required": lambda c: (c.main, "POST", "/v1/auth/logout", {}),
    "session_not_found": lambda c: (c.main, "DELETE", f"/v1/sessions/{uuid.uuid4()}", {}),
    "refresh_token_invalid": lambda c: (c.main, "POST", "/v1/auth/refresh", {
        "json": {"refreshToken": "rt_nope"}}),
    "oauth_client_not_found": lambda c: (c.main, "GET", f"/v1/oauth/clients/{uuid.uuid4()}", {}),
    "oauth_client_deleted": deleted_client,
    "organization_suspended_no_clients": lambda c: (c.main, "POST", "/v1/oauth/clients", {
        "json": {"name": "x", "organizationId": after(c, organization(c), "suspend").rsplit(
            "/", 1)[1]}}),
    "redirect_uri_invalid": lambda c: (c.main, "POST", "/v1/oauth/clients", {"json": {
        "name": "x", "organizationId": org_id(c), "redirectUris": ["http://example.com/cb"]}}),
    "redirect_uri_required": lambda c: (c.main, "POST", "/v1/oauth/clients", {"json": {
        "name": "x", "organizationId": org_id(c), "grantTypes": ["authorization_code"]}}),
    "scope_invalid": lambda c: (c.main, "POST", "/v1/oauth/clients", {"json": {
        "name": "x", "organizationId": org_id(c), "scopes": ["everything"]}}),
    "token_invalid": lambda c: (c.main, "GET", ORGS, {"headers": {"Authorization": "Bearer a.b.c"}}),
    "token_expired": expired_token,
    "cors_preflight_rejected": lambda c: (c.main, "OPTIONS", ORGS, {"headers": {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}}),
    "not_found": lambda c: (c.main, "GET", "/v1/nowhere", {}),
    "organization_not_found": lambda c: (c.main, "GET", f"{ORGS}/{uuid.uuid4()}/history", {}),
    "method_not_allowed": lambda c: (c.main, "PUT", ORGS, {"json": {}}),
    "slug_taken": slug_taken,
    "organization_deleted": lambda c: (c.main, "PATCH", deleted(c), {"json": {"name": "z"}}),
    "organization_already_suspended": lambda c: (
        c.main, "POST", f"{after(c, organization(c), 'suspend')}/suspend", {"json": {}}),
    "organization_not_suspended": lambda c: (
        c.main, "POST", f"{organization(c)}/reactivate", {}),
    "version_conflict": lambda c: (c.main, "PATCH", organization(c), {
        "json": {"name": "y"}, "headers": {"If-Match": '"7"'}}),
    "idempotency_key_in_use": key_in_use,
    "payload_too_large": lambda c: (c.main, "POST", ORGS, {
        "content": b"{" + b" " * (c.settings.max_body_bytes + 1) + b"}"}),
    "validation_failed": lambda c: (c.main, "POST", ORGS, {"json": {"name": 5, "slug": "x"}}),
    "name_blank": lambda c: (c.main, "POST", ORGS, {"json": {"name": "  ", "slug": "x"}}),
    "ip_whitelist_invalid": lambda c: (c.main, "POST", ORGS, with_settings(
        {"ipWhitelist": ["nope"]})),
    "allowed_origin_invalid": lambda c: (c.main, "POST", ORGS, with_settings(
        {"security": {"allowedOrigins": ["https://a.example/path"]}})),
    "idempotency_key_reused": reused_key,
    "headers_too_large": lambda c: (c.main, "GET", "/health/live", {
        "headers": {"X-Padding": "p" * c.settings.max_header_bytes}}),
    "not_caught_up": lambda c: (c.impatient, "GET", f"{ORGS}?min_position={10**15}", {}),
    "rate_limiter_unavailable": lambda c: (c.closed, "GET", ORGS, {}),
    **{reason: (lambda c, r=reason: (c.main, "GET", f"/test/raise/{r}", {})) for reason in RAISED},
    "organization_id_required": lambda c: (c.main, "POST", "/v1/users", {"json": {
        "email": EMAIL}}),
    "user_not_found": lambda c: (c.main, "GET", f"/v1/users/{uuid.uuid4()}", {}),
    "role_not_found": lambda c: (c.main, "GET", f"/v1/roles/{uuid.uuid4()}", {}),
    "email_taken": taken_email,
    "role_name_taken": taken_role_name,
    "resource_type_exists": taken_type_name,
    "resource_type_not_found": lambda c: (c.main, "GET", "/v1/resource-types/none", {
        "params": {"organization_id": organization(c).rsplit("/", 1)[1]}}),
    "resource_type_name_invalid": lambda c: new_type(c, name="Bad"),
    "schema_invalid": lambda c: new_type(c, schema={"type": 12}),
    "schema_too_large": lambda c: new_type(c, schema={"description": "x" * 70_000}),
    "indexed_paths_invalid": lambda c: new_type(c, indexed=["a b"]),
    "data_invalid": lambda c: in_type(c, "POST", json={"data": {"name": 7}}),
    "data_too_large": lambda c: in_type(c, "POST", json={"data": {"name": "x" * 70_000}}),
    "relationship_unknown": lambda c: in_type(c, "POST", json={"data": {}, "relationships": [
        {"type": "parent", "id": str(uuid.uuid4())}]}),
    "external_key_invalid": lambda c: in_type(c, "PUT", "/by-key/-lead", json={"data": {}}),
    "resource_not_found": lambda c: in_type(c, "GET", f"/{uuid.uuid4()}"),
    "as_of_time_invalid": lambda c: in_type(c, "GET", f"/{uuid.uuid4()}",
                                                  query={"as_of": "yesterday"}),
    "merge_patch_required": lambda c: in_type(c, "PATCH", f"/{uuid.uuid4()}", json={}),
    "query_field_unknown": lambda c: queried(c, colour="eq.red"),
    "query_operator_invalid": lambda c: queried(c, **{"data.name": "like.x"}),
    "query_operator_not_for_field": lambda c: queried(c, tags="gt.x"),
    "query_value_invalid": lambda c: queried(c, version="gt.x"),
    "query_too_many_filters": lambda c: queried(c, **{
        f"labels.k{i}": "exists.true" for i in range(21)}),
    "query_parameter_repeated": lambda c: queried(c, ("limit", "1"), ("limit", "2")),
    "query_order_invalid": lambda c: queried(c, order="name.up"),
    "query_limit_invalid": lambda c: queried(c, limit="0"),
    "query_select_invalid": lambda c: queried(c, select="secret"),
    "query_expand_invalid": lambda c: queried(c, expand="parent"),
    "relationship_cycle": cycle,
    "resource_has_dependents": depended_on,
    "resource_deleted": lambda c: resource_after(c, "delete"),
    "resource_archived": lambda c: resource_after(c, "archive"),
    "batch_item_incomplete": lambda c: (c.main, "POST", "/v1/transactions", {
        "params": {"organization_id": typed(c)[0]},
        "json": {"items": [{"op": "replace", "type": "bees", "data": {}}]}}),
    "bulk_operation_not_found": lambda c: (c.main, "GET", f"/v1/bulk-operations/{uuid.uuid4()}",
                                           {"params": {"organization_id": org_id(c)}}),
    "last_owner": lambda c: (c.main, "POST", f"{signed_up(c)}/suspend", {}),
    "user_already_suspended": lambda c: (c.main, "POST", f"{invited(c, 'suspend')}/suspend", {}),
    "user_not_suspended": lambda c: (c.main, "POST", f"{invited(c)}/reactivate", {}),
    "user_not_active": lambda c: (c.main, "POST", f"{invited(c)}/two-factor", {}),
    "user_suspended": lambda c: (c.main, "POST", f"{invited(c, 'suspend')}/two-factor", {}),
    "two_factor_not_pending": lambda c: (c.main, "POST", f"{signed_up(c)}/two-factor/confirm",
                                         {"json": {"code": "123456"}}),
    "two_factor_not_enabled": lambda c: (c.main, "DELETE", f"{signed_up(c)}/two-factor",
                                         {"json": {"code": "123456"}}),
    "two_factor_code_invalid": lambda c: (c.main, "POST", f"{enrolling(c)}/two-factor/confirm",
                                          {"json": {"code": "000000"}}),
    "email_invalid": lambda c: (c.main, "POST", "/v1/users", in_org(c, email="not-an-email")),
    "role_invalid": lambda c: (c.main, "POST", "/v1/users", in_org(c, email=EMAIL,
                                                                   role="superuser")),
    "avatar_invalid": lambda c: (c.main, "PATCH", invited(c), {"json": {"avatar": "ftp://x"}}),
    "metadata_too_large": lambda c: (c.main, "PATCH", invited(c), {"json": {
        "metadata": {"blob": "x" * 20_000}}}),
    "password_policy": lambda c: (c.main, "POST", "/v1/auth/signup", {"json": {
        "organizationName": "x", "slug": "x", "email": EMAIL, "password": "short"}}),
    "mail_token_invalid": lambda c: (c.main, "POST", "/v1/auth/verify-email", {"json": {
        "token": "nope"}}),
    "role_name_invalid": lambda c: (c.main, "POST", "/v1/roles", in_org(c, name="   ")),
    "role_name_reserved": lambda c: (c.main, "POST", "/v1/roles", in_org(c, name="Admin")),
    "webhook_endpoint_not_found": lambda c: (c.main, "GET",
                                             f"/v1/webhook-endpoints/{uuid.uuid4()}", {}),
    "webhook_delivery_not_found": lambda c: (c.main, "GET",
                                             f"/v1/webhook-deliveries/{uuid.uuid4()}", {}),
    "webhook_url_invalid": lambda c: (c.main, "POST", HOOKS, in_org(
        c, url="ftp://93.184.216.34/", eventTypes=["*"])),
    "webhook_url_forbidden": lambda c: (c.main, "POST", HOOKS, in_org(
        c, url="http://127.0.0.1/", eventTypes=["*"])),
    "webhook_event_types_invalid": lambda c: (c.main, "POST", HOOKS, in_org(
        c, url=PUBLIC_HOOK, eventTypes=["Not a filter"])),
    "webhook_replay_invalid": lambda c: (c.main, "POST", f"{hook(c)}/replay", {"json": {}}),
    "alert_rule_not_found": lambda c: (c.main, "GET", f"/v1/alert-rules/{uuid.uuid4()}", {}),
    "alert_rule_name_invalid": lambda c: (c.main, "POST", "/v1/alert-rules", alert_rule(
        c, name="   ")),
    "alert_rule_threshold_invalid": lambda c: (c.main, "POST", "/v1/alert-rules", alert_rule(
        c, threshold=1.5)),
    "alert_rule_route_invalid": lambda c: (c.main, "POST", "/v1/alert-rules", alert_rule(
        c, route="v1/resources")),
}


def request(clients: Clients, reason: str, language: str) -> Any:
    client, method, path, kwargs = REQUESTS[reason](clients)
    headers = {"Accept-Language": language, **kwargs.pop("headers", {})}
    if "json" in kwargs:
        kwargs = {"content": json.dumps(kwargs.pop("json")), **kwargs}
        headers.setdefault("Content-Type", "application/json")
    return client.request(method, path, headers=headers, **kwargs)
