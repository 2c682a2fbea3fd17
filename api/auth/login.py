"""POST /v1/auth/login: email + password (+ TOTP code) for a session and its tokens.

Written against the user store's contract (commands/users.py: ``authenticate`` and
``record_login`` on ``container.users``); the app registers it only when that store exists.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from anyio import to_thread
from litestar import Request, post
from litestar.params import JSONBody

from api.auth.schemas import LoginBody
from api.auth.sessions import TokenPair, pair, session_timeout
from api.platform import i18n
from api.platform import openapi as docs
from api.platform.bodies import DeviceIn, to_domain
from api.platform.dependencies import Ctx, Services
from api.platform.proxy import client_ip
from commands.runner import Context
from domain.envelope import Actor
from infra.sessions import DeviceInfo, Identity

# The user store's refusals (commands/users.py); its build brings them into the catalog.
USER_STORE_REASONS = ("invalid_credentials", "two_factor_required", "invalid_two_factor_code",
                      "user_suspended", "email_not_verified")


class Users(Protocol):
    def authenticate(self, email: str, password: str, totp_code: str | None,
                     now: datetime) -> Any: ...

    def record_login(self, ctx: Context, user_id: UUID) -> Any: ...


@post("/v1/auth/login", status_code=200, tags=["auth"],
      summary="Log in: a new session with an access token and a refresh token",
      **docs.public(200, TokenPair, *docs.BODY, "payload_too_large", "json_too_deep",
                    *(r for r in USER_STORE_REASONS if r in i18n.CATALOG)))
async def login(request: Request, container: Services, ctx: Ctx,
                data: JSONBody[LoginBody]) -> TokenPair:
    c = container
    users: Users = c.users
    now = datetime.now(UTC)
    found = await to_thread.run_sync(
        lambda: users.authenticate(data.email, data.password, data.totp_code, now))
    who = Identity(found.user_id, found.organization_id, found.email, found.role,
                   tuple(found.permissions))
    ip = client_ip(request.scope)
    tokens = await c.sessions.start(
        who, now=now, device=to_domain(data.device_info or DeviceIn(), DeviceInfo),
        ip_address=str(ip) if ip else "", user_agent=request.headers.get("user-agent", ""),
        session_timeout_s=await session_timeout(c, who.organization_id))
    # The login is the user's own act, not the anonymous caller's.
    as_user = dataclasses.replace(ctx, actor=Actor(kind="user", id=str(who.user_id)))
    await to_thread.run_sync(lambda: users.record_login(as_user, who.user_id))
    return pair(tokens)
