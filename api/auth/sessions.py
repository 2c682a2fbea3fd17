"""Session routes: refresh (public: the refresh token is the credential), logout, list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.access import Caller, require
from api.auth.schemas import RefreshBody, SessionList, SessionOut, TokenPair
from api.platform import openapi as docs
from api.platform.dependencies import Services
from api.platform.errors import ApiException
from infra.container import Container
from infra.sessions import RefreshRefused, Session, Tokens
from infra.tokens import Claims

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chronicle", error="invalid_token"'}


def pair(tokens: Tokens) -> TokenPair:
    return TokenPair(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                     token_type="Bearer", expires_in=tokens.expires_in,  # noqa: S106
                     session_id=tokens.session.id)


def session_out(session: Session, current: str | None = None) -> SessionOut:
    return SessionOut(id=session.id, user_id=session.user_id,
                      organization_id=session.organization_id, device_info=session.device_info,
                      ip_address=session.ip_address, user_agent=session.user_agent,
                      is_active=session.is_active, expires_at=session.expires_at,
                      last_accessed_at=session.last_accessed_at, created_at=session.created_at,
                      current=session.id == current)


def claims_of(request: Request) -> Claims | None:
    return request.scope["state"].get("claims")


def is_login(claims: Claims | None) -> bool:
    """A user's own login session (not an OAuth client acting for them within a scope)."""
    return claims is not None and claims.kind == "user" and claims.client_id is None


async def session_timeout(container: Container, organization_id: UUID) -> int | None:
    policy = await container.org_cache.get(organization_id)
    return policy.session_timeout_s if policy else None


@post("/v1/auth/refresh", status_code=200, tags=["auth"],
      summary="New tokens for a refresh token (rotated: each one works once)",
      **docs.public(200, TokenPair, *docs.BODY, "payload_too_large", "json_too_deep",
                    "refresh_token_invalid", "refresh_token_reused"))
async def refresh(container: Services, data: JSONBody[RefreshBody]) -> TokenPair:
    c = container
    sid = data.refresh_token[3:35]
    found = await c.sessions.get(sid) if data.refresh_token.startswith("rt_") else None
    timeout = await session_timeout(c, found.organization_id) if found else None
    try:
        tokens = await c.sessions.refresh(data.refresh_token, datetime.now(UTC), timeout)
    except RefreshRefused as exc:
        if exc.code == "refresh_token_reused":
            raise ApiException(401, "refresh_token_reused", headers=CHALLENGE) from None
        raise ApiException(401, "refresh_token_invalid", headers=CHALLENGE) from None
    return pair(tokens)


@post("/v1/auth/logout", status_code=200, tags=["auth"],
      summary="End the caller's session: its refresh token and access tokens stop working",
      **docs.documented(200, SessionOut, "session_required"))
async def logout(request: Request, container: Services) -> SessionOut:
    claims = claims_of(request)
    if claims is None or claims.sid is None:
        raise ApiException(403, "forbidden", reason="session_required")
    c = container
    session = await c.sessions.get(claims.sid)
    if session is None:
        raise ApiException(401, "token_revoked", headers=CHALLENGE)
    await c.sessions.revoke(session)
    return session_out(msgspec.structs.replace(session, is_active=False), claims.sid)


@get("/v1/sessions", tags=["auth"], summary="Active sessions: the caller's own, or (with the "
     "permission) a user's or the organization's",
     **docs.read(SessionList, "invalid_parameter", "not_found", "permission_denied",
                 "organization_id_required"))
async def list_sessions(
        request: Request, container: Services, caller: Caller,
        user_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
        organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
) -> SessionList:
    c, claims, principal = container, claims_of(request), caller
    own = is_login(claims) and claims is not None and user_id in (None, UUID(claims.sub))
    if principal is not None:
        if organization_id not in (None, principal.organization_id):
            raise ApiException(404, "not_found", "the requested resource was not found",
                               audit=True)
        organization_id = principal.organization_id
        if not own:
            require(request, "sessions", "read", organization_id)
    elif user_id is None and organization_id is None:
        raise ApiException(422, "validation_failed", reason="organization_id_required")
    if own and claims is not None:
        found = await c.sessions.list(user_id=UUID(claims.sub))
    elif user_id is not None:
        found = await c.sessions.list(user_id=user_id)
    else:
        found = await c.sessions.list(organization_id=organization_id)
    if organization_id is not None:
        found = [s for s in found if s.organization_id == organization_id]
    return SessionList(data=[session_out(s, claims.sid if claims else None) for s in found])


@delete("/v1/sessions/{session_id:uuid}", status_code=200, tags=["auth"],
        summary="Revoke a session (a user their own; others with the permission)",
        **docs.documented(200, SessionOut, "session_not_found", "permission_denied"))
async def revoke_session(request: Request, session_id: FromPath[UUID], container: Services,
                         caller: Caller) -> SessionOut:
    c, claims, principal = container, claims_of(request), caller
    session = await c.sessions.get(session_id.hex)
    foreign = session is not None and principal is not None and (
        principal.organization_id != session.organization_id)
    if session is None or not session.is_active or foreign:
        raise ApiException(404, "not_found", reason="session_not_found", audit=foreign)
    if not is_login(claims) or claims is None or UUID(claims.sub) != session.user_id:
        require(request, "sessions", "delete", session.organization_id)
    await c.sessions.revoke(session)
    return session_out(msgspec.structs.replace(session, is_active=False),
                       claims.sid if claims else None)
