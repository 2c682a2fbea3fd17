"""OAuth 2.0 endpoints: token (client credentials, authorization code with PKCE S256, refresh
token; RFC 6749 and 7636), introspection (RFC 7662), revocation (RFC 7009), and the
authenticated user's approval that issues an authorization code.

/oauth/* take application/x-www-form-urlencoded bodies, authenticate the client by HTTP Basic
or client_secret_post, and answer errors in RFC 6749's shape ``{error, error_description}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, unquote, urlencode
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Request, Response, post
from litestar.params import JSONBody

from api.auth.access import Caller, principal_permits
from api.auth.schemas import Authorization, AuthorizeBody, Introspection, TokenResponse
from api.auth.sessions import claims_of, session_timeout
from api.platform import openapi as docs
from api.platform.dependencies import Services
from api.platform.errors import ApiException, OAuthErrorBody, OAuthErrorCode
from api.platform.proxy import client_ip
from domain.oauthclient.decider import OAuthClient, valid_scope
from infra.container import Container
from infra.sessions import DeviceInfo, Identity, RefreshRefused
from infra.tokens import TokenError, looks_like_jwt

CODE_TTL_S = 60
MAX_FIELDS = 20
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error."""

    def __init__(self, error: OAuthErrorCode, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def on_oauth_error(_request: Request, exc: OAuthError) -> Response[OAuthErrorBody]:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="chronicle"'
    return Response(OAuthErrorBody(exc.error, exc.description), status_code=exc.status,
                    headers=headers)


async def form_of(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form body is malformed") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name!r} is repeated")
        form[name] = value
    return form


def credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    posted = "client_id" in form or "client_secret" in form
    if header[:6].lower() == "basic ":
        if posted and "client_secret" in form:
            raise OAuthError("invalid_request", "use one client authentication method")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "malformed Basic credentials", 401)
        return unquote(client_id), unquote(secret)
    if posted:
        return form.get("client_id", ""), form.get("client_secret", "")
    raise OAuthError("invalid_client", "client authentication is required", 401)


async def client_of(request: Request, c: Container,
                    form: dict[str, str]) -> tuple[str, OAuthClient]:
    client_id, secret = credentials(request, form)
    found = await to_thread.run_sync(lambda: c.oauth_clients.authenticate(client_id, secret))
    if found is None:
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return str(found[0]), found[1]


def requested_scope(form: dict[str, str], allowed: tuple[str, ...]) -> str:
    raw = form.get("scope")
    wanted = raw.split() if raw is not None else list(allowed)
    if not wanted or any(s not in allowed for s in wanted):
        raise OAuthError("invalid_scope", "the requested scope exceeds the client's scopes")
    return " ".join(dict.fromkeys(wanted))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def code_key(c: Container, code: str) -> str:
    prefix = c.settings.redis_key_prefix
    return f"{prefix}oauth:code:{hashlib.sha256(code.encode()).hexdigest()}"


TOKEN_FIELDS = {
    "grant_type": "client_credentials, authorization_code or refresh_token",
    "scope": "Space-separated `resource:action` scopes (client_credentials; default: all the "
             "client's scopes)",
    "code": "The authorization code (authorization_code)",
    "redirect_uri": "The redirect URI the code was issued for (authorization_code)",
    "code_verifier": "The PKCE verifier whose S256 hash was the challenge (authorization_code)",
    "refresh_token": "The refresh token (refresh_token)",
    "client_id": "client_secret_post: the client id (or use HTTP Basic)",
    "client_secret": "client_secret_post: the client secret",
}


@post("/oauth/token", status_code=200, tags=["oauth"], summary="Issue tokens (RFC 6749)",
      **docs.oauth(TokenResponse, TOKEN_FIELDS, ("grant_type",)))
async def token(request: Request, container: Services) -> Response[TokenResponse]:
    form = await form_of(request)
    client_id, client = await client_of(request, container, form)
    grant = form.get("grant_type", "")
    if grant not in ("client_credentials", "authorization_code", "refresh_token"):
        raise OAuthError("unsupported_grant_type", f"grant_type {grant[:40]!r} is not supported")
    if grant not in client.grant_types:
        raise OAuthError("unauthorized_client", f"this client may not use {grant}")
    if grant == "client_credentials":
        body = client_credentials(container, form, client_id, client)
    elif grant == "authorization_code":
        body = await authorization_code(request, container, form, client_id, client)
    else:
        body = await refresh_grant(container, form, client_id)
    return Response(body, headers=NO_STORE)


def client_credentials(c: Container, form: dict[str, str], client_id: str,
                       client: OAuthClient) -> TokenResponse:
    scope = requested_scope(form, client.scopes)
    assert client.organization_id is not None
    access, claims = c.tokens.issue(
        subject=client_id, organization_id=client.organization_id, kind="oauth_client",
        now=datetime.now(UTC), scope=scope, client_id=client_id)
    return TokenResponse(access_token=access, token_type="Bearer",  # noqa: S106
                         expires_in=claims.exp - claims.iat, scope=scope)


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """What an authorization code stands for (in Redis, for CODE_TTL_S, used once)."""

    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    user_id: UUID
    organization_id: UUID
    email: str
    role: str


async def authorization_code(request: Request, c: Container, form: dict[str, str],
                             client_id: str, client: OAuthClient) -> TokenResponse:
    code, verifier = form.get("code", ""), form.get("code_verifier", "")
    if not code or "redirect_uri" not in form:
        raise OAuthError("invalid_request", "code and redirect_uri are required")
    if not VERIFIER.fullmatch(verifier):
        raise OAuthError("invalid_request", "code_verifier must be 43-128 unreserved characters")
    raw = await c.redis.getdel(code_key(c, code))  # single use, even when refused below
    if raw is None:
        raise OAuthError("invalid_grant", "the code is unknown, expired or already used")
    grant = msgspec.json.decode(raw, type=Grant)
    if not hmac.compare_digest(grant.client_id, client_id):
        raise OAuthError("invalid_grant", "the code was issued to another client")
    if grant.redirect_uri != form["redirect_uri"]:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization")
    if not hmac.compare_digest(s256(verifier), grant.challenge):
        raise OAuthError("invalid_grant", "the code_verifier does not match the code_challenge")
    ip = client_ip(request.scope)
    tokens = await c.sessions.start(
        Identity(grant.user_id, grant.organization_id, grant.email, grant.role, ()),
        now=datetime.now(UTC), device=DeviceInfo(type="api", fingerprint=client_id),
        ip_address=str(ip) if ip else "", user_agent=request.headers.get("user-agent", ""),
        session_timeout_s=await session_timeout(c, grant.organization_id),
        client_id=client_id, scope=grant.scope)
    return TokenResponse(
        access_token=tokens.access_token, token_type="Bearer",  # noqa: S106
        expires_in=tokens.expires_in, scope=grant.scope,
        refresh_token=tokens.refresh_token if "refresh_token" in client.grant_types else None)


async def refresh_grant(c: Container, form: dict[str, str], client_id: str) -> TokenResponse:
    presented = form.get("refresh_token", "")
    session = await c.sessions.get(presented[3:35]) if presented.startswith("rt_") else None
    if session is None or session.client_id != client_id:
        raise OAuthError("invalid_grant", "the refresh token is not valid for this client")
    try:
        tokens = await c.sessions.refresh(
            presented, datetime.now(UTC), await session_timeout(c, session.organization_id))
    except RefreshRefused as exc:
        raise OAuthError("invalid_grant", "the refresh token is not valid"
                         if exc.code == "refresh_token_invalid" else
                         "the refresh token was already used; the grant is revoked") from None
    return TokenResponse(access_token=tokens.access_token, token_type="Bearer",  # noqa: S106
                         expires_in=tokens.expires_in, scope=session.scope,
                         refresh_token=tokens.refresh_token)


TOKEN_ONLY = {"token": "The token", "token_type_hint": "access_token or refresh_token (ignored)",
              "client_id": TOKEN_FIELDS["client_id"],
              "client_secret": TOKEN_FIELDS["client_secret"]}


@post("/oauth/introspect", status_code=200, tags=["oauth"],
      summary="Whether a token is active, and its claims (RFC 7662)",
      **docs.oauth(Introspection, TOKEN_ONLY, ("token",)))
async def introspect(request: Request, container: Services) -> Response[Introspection]:
    form = await form_of(request)
    _client_id, client = await client_of(request, container, form)
    c = container
    presented = form.get("token", "")
    inactive = Response(Introspection(active=False), headers=NO_STORE)
    if not looks_like_jwt(presented):
        return inactive
    try:
        claims = c.tokens.verify(presented, datetime.now(UTC))
    except TokenError:
        return inactive
    if claims.org != client.organization_id or f"jti:{claims.jti}" in c.deny or (
            claims.sid is not None and f"sid:{claims.sid}" in c.deny):
        return inactive  # another organization's tokens are not this client's business
    return Response(Introspection(
        active=True, scope=claims.scope or None, client_id=claims.client_id, sub=claims.sub,
        token_type="Bearer", exp=claims.exp, iat=claims.iat, nbf=claims.nbf, iss=claims.iss,  # noqa: S106
        aud=claims.aud, jti=claims.jti, org=str(claims.org), sid=claims.sid), headers=NO_STORE)


@post("/oauth/revoke", status_code=200, tags=["oauth"],
      summary="Revoke an access or refresh token (RFC 7009: 200 even for unknown tokens)",
      **docs.oauth(None, TOKEN_ONLY, ("token",)))
async def revoke(request: Request, container: Services) -> Response[None]:
    form = await form_of(request)
    client_id, client = await client_of(request, container, form)
    c = container
    presented = form.get("token", "")
    now = datetime.now(UTC)
    if presented.startswith("rt_"):
        session = await c.sessions.get(presented[3:35])
        if session is not None and session.client_id == client_id and session.is_active:
            await c.sessions.revoke(session)
    elif looks_like_jwt(presented):
        try:
            claims = c.tokens.verify(presented, now)
        except TokenError:
            claims = None
        if claims is not None and claims.org == client.organization_id:
            await c.deny.revoke([f"jti:{claims.jti}"],
                                timedelta(seconds=max(claims.exp - int(now.timestamp()), 0)))
    return Response(None, status_code=200, headers=NO_STORE)


@post("/v1/oauth/authorize", status_code=200, tags=["oauth"],
      summary="A signed-in user approves a client: a single-use code for its redirect URI",
      **docs.documented(200, Authorization, *docs.BODY, "json_too_deep", "payload_too_large",
                        "session_required", "oauth_client_not_found", "redirect_uri_mismatch",
                        "pkce_method_unsupported", "scope_not_allowed", "grant_not_allowed",
                        "permission_denied"))
async def authorize(request: Request, container: Services, caller: Caller,
                    data: JSONBody[AuthorizeBody]) -> Authorization:
    claims, principal = claims_of(request), caller
    if claims is None or principal is None or claims.kind != "user" or claims.sid is None or (
            claims.client_id is not None):
        raise ApiException(403, "forbidden", reason="session_required")
    if data.code_challenge_method != "S256":
        raise ApiException(400, "bad_request", reason="pkce_method_unsupported")
    c = container
    client = await to_thread.run_sync(lambda: c.oauth_clients.get(data.client_id))
    foreign = client.status != "absent" and client.organization_id != principal.organization_id
    if client.status != "active" or foreign:
        raise ApiException(404, "not_found", reason="oauth_client_not_found", audit=foreign)
    if "authorization_code" not in client.grant_types:
        raise ApiException(422, "validation_failed", reason="grant_not_allowed")
    if data.redirect_uri not in client.redirect_uris:
        raise ApiException(422, "validation_failed", reason="redirect_uri_mismatch")
    scopes = list(dict.fromkeys(data.scope.split())) or list(client.scopes)
    if any(not valid_scope(s) or s not in client.scopes for s in scopes):
        raise ApiException(422, "validation_failed", reason="scope_not_allowed")
    for s in scopes:  # a user can only hand on what they hold
        resource, _, action = s.partition(":")
        if not principal_permits(principal, resource, action):  # type: ignore[arg-type]
            raise ApiException(403, "forbidden", f"this caller may not {action} {resource}",
                               reason="permission_denied",
                               params={"action": action, "resource": resource})
    code = secrets.token_urlsafe(32)
    scope = " ".join(scopes)
    grant = Grant(client_id=str(data.client_id), redirect_uri=data.redirect_uri,
                  challenge=data.code_challenge, scope=scope, user_id=UUID(claims.sub),
                  organization_id=claims.org, email="", role=claims.role or "")
    await c.redis.set(code_key(c, code), msgspec.json.encode(grant), ex=CODE_TTL_S)
    query = urlencode({"code": code, **({"state": data.state} if data.state else {})})
    joiner = "&" if "?" in data.redirect_uri else "?"
    return Authorization(redirect_url=f"{data.redirect_uri}{joiner}{query}", code=code,
                         expires_in=CODE_TTL_S, scope=scope)

