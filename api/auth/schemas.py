"""Request and response bodies of the auth routes: login, sessions, OAuth, the JWKS.

OAuth's token and introspection answers keep RFC 6749 / 7662 names (snake_case), and the key set
RFC 7517's; the others are camelCase like every other body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.platform.bodies import Body, DeviceIn, Email
from domain.limits import (
    MAX_PASSWORD_INPUT,
    MAX_PKCE_METHOD,
    MAX_REFRESH_TOKEN,
    MAX_SCOPE_TEXT,
    MAX_STATE,
    MAX_URI,
)
from infra.sessions import DeviceInfo


class LoginBody(Body, frozen=True):
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD_INPUT)]
    totp_code: Annotated[str, Meta(pattern=r"^[0-9]{6,8}$")] | None = None
    device_info: DeviceIn | None = None


class RefreshBody(Body, frozen=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=MAX_REFRESH_TOKEN)]


class TokenPair(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    session_id: str


class SessionOut(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The seed's Session, without its tokens."""

    id: str
    user_id: UUID
    organization_id: UUID
    device_info: DeviceInfo
    ip_address: str
    user_agent: str
    is_active: bool
    expires_at: datetime
    last_accessed_at: datetime
    created_at: datetime
    current: bool = False


class SessionList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[SessionOut]


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None


class Introspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    iss: str | None = None
    aud: str | None = None
    jti: str | None = None
    org: str | None = None
    sid: str | None = None


class AuthorizeBody(Body, frozen=True, kw_only=True):
    client_id: UUID
    redirect_uri: Annotated[str, Meta(min_length=1, max_length=MAX_URI)]
    scope: Annotated[str, Meta(max_length=MAX_SCOPE_TEXT)] = ""
    state: Annotated[str, Meta(max_length=MAX_STATE)] = ""
    code_challenge: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]
    code_challenge_method: Annotated[str, Meta(max_length=MAX_PKCE_METHOD)] = "S256"
    response_type: Literal["code"] = "code"


class Authorization(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    redirect_url: str
    code: str
    expires_in: int
    scope: str


class Jwk(msgspec.Struct, frozen=True, kw_only=True):
    kty: str
    use: str
    alg: str
    kid: str
    n: str
    e: str


class Jwks(msgspec.Struct, frozen=True, kw_only=True):
    keys: list[Jwk]
