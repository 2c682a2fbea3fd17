"""The dashboard's routes: the page (``GET /dashboard``), its sign-in form (``GET`` and ``POST
/dashboard/login``), sign-out, the snapshot stream (``GET /dashboard/stream``, Server-Sent
Events) and the bundled assets (``/dashboard/assets``).

Outside /v1 and its bearer-token guard: the browser holds the signed cookie of
api/dashboard/viewer.py. Without it the page redirects to the sign-in form, and the stream,
which scripts read, answers 401 with the structured error body. The sign-in form is rate
limited per client IP like the other public routes.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from anyio import to_thread
from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Stream
from litestar.static_files import create_static_files_router
from msgspec import Meta

from api.auth.login import Users
from api.auth.sessions import session_timeout
from api.dashboard import viewer
from api.dashboard.feed import Boards
from api.dashboard.pages import REFUSALS, page
from api.dashboard.viewer import RESOURCE, Viewer
from api.platform.bodies import Body as BodyBase
from api.platform.dependencies import Ctx, Services
from api.platform.errors import ApiException
from api.platform.proxy import client_ip
from api.signup.routes import public_guard
from domain import limits as lim
from domain.envelope import Actor
from domain.permissions import permits
from infra.container import Container
from infra.sessions import DeviceInfo, Identity

ASSETS = Path(__file__).parent / "static"
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
Form = Body(media_type=RequestEncodingType.URL_ENCODED)
# A form whose CSRF token is not the cookie's: a forged post, or a page left open past the
# token's hour. Shown on the form, not an API error.
STALE_FORM = "the form has expired: sign in again"


class SignIn(BodyBase, frozen=True):
    """Either form of the sign-in page: an account's email and password, or the operator token
    (the one body base: NUL refused, every field bounded)."""

    csrf: Annotated[str, Meta(max_length=64)] = ""
    email: Annotated[str, Meta(max_length=lim.MAX_EMAIL)] = ""
    password: Annotated[str, Meta(max_length=lim.MAX_PASSWORD_INPUT)] = ""
    totp_code: Annotated[str, Meta(max_length=lim.MAX_TOTP_CODE)] = ""
    token: Annotated[str, Meta(max_length=lim.MAX_OPERATOR_TOKEN)] = ""


@get("/", include_in_schema=False)
async def dashboard(request: Request, container: Services) -> Response[str] | Redirect:
    if await viewer.viewer_of(request, container) is None:
        return Redirect("/dashboard/login", status_code=303)
    return page(request, "dashboard.html")


@get("/login", include_in_schema=False)
async def login_page(request: Request) -> Response[str]:
    return page(request, "login.html")


@post("/login", include_in_schema=False, guards=[public_guard], exception_handlers=REFUSALS)
async def sign_in(request: Request, container: Services, ctx: Ctx,
                  data: Annotated[SignIn, Form]) -> Response[str] | Redirect:
    if not viewer.csrf_matches(request, data.csrf):
        return page(request, "login.html", 403, STALE_FORM)
    if data.token:
        cookie = _operator(container, data.token)
    else:
        cookie = await _user(request, container, ctx, data)
    return Redirect("/dashboard", status_code=303, cookies=[cookie])


def _operator(container: Container, token: str) -> Cookie:
    expected = container.settings.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiException(401, "invalid_token")
    return viewer.for_operator(container)


async def _user(request: Request, container: Container, ctx: Ctx, data: SignIn) -> Cookie:
    """A login session like POST /v1/auth/login's, which the cookie then names."""
    users: Users = container.users
    now = datetime.now(UTC)
    found = await to_thread.run_sync(
        lambda: users.authenticate(data.email, data.password, data.totp_code or None, now))
    who = Identity(found.user_id, found.organization_id, found.email, found.role,
                   tuple(found.permissions))
    if not permits(who.permissions, RESOURCE, "read"):
        raise ApiException(403, "forbidden", reason="permission_denied",
                           params={"action": "read", "resource": RESOURCE})
    await viewer.apply_policy(container, request, who.organization_id)
    ip = client_ip(request.scope)
    tokens = await container.sessions.start(
        who, now=now, device=DeviceInfo(type="web", browser="dashboard"),
        ip_address=str(ip) if ip else "", user_agent=request.headers.get("user-agent", ""),
        session_timeout_s=await session_timeout(container, who.organization_id))
    as_user = dataclasses.replace(ctx, actor=Actor(kind="user", id=str(who.user_id)))
    await to_thread.run_sync(lambda: users.record_login(as_user, who.user_id))
    ttl = int((tokens.session.expires_at - now).total_seconds())
    return viewer.for_session(container, tokens.session.id, ttl)


@post("/logout", include_in_schema=False, exception_handlers=REFUSALS)
async def sign_out(request: Request, container: Services,
                   data: Annotated[SignIn, Form]) -> Response[str] | Redirect:
    """Ends the dashboard's sign-in: the cookie stops working in every API process."""
    if not viewer.csrf_matches(request, data.csrf):
        return page(request, "login.html", 403, STALE_FORM)
    found = await viewer.viewer_of(request, container)
    if found is not None:
        await viewer.sign_out(container, found)
    return Redirect("/dashboard/login", status_code=303, cookies=[viewer.cleared()])


@get("/stream", include_in_schema=False)
async def stream(request: Request, container: Services) -> Stream:
    """A snapshot every DASHBOARD_INTERVAL seconds, the first at once; the stream ends (``event:
    close``) when the viewer's session does."""
    found = await viewer.viewer_of(request, container)
    if found is None:
        # The catalog's 401 (it names the bearer token; the page's script signs in again).
        raise ApiException(401, "unauthorized")
    boards: Boards = request.app.state.dashboard
    return Stream(_frames(container, boards, found), media_type="text/event-stream",
                  headers=SSE_HEADERS)


async def _frames(container: Container, boards: Boards, found: Viewer) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    async for snapshot in boards.watch(found.organization_id):
        if found.session_id is not None and await viewer.session_viewer(
                container, found.session_id) is None:
            yield b'event: close\ndata: {"reason":"signed_out"}\n\n'
            return
        yield b"data: %s\n\n" % snapshot


def dashboard_router() -> Router:
    assets = create_static_files_router(
        path="/assets", directories=[ASSETS], name="dashboard-assets", include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600, public=True))
    return Router("/dashboard", route_handlers=[dashboard, login_page, sign_in, sign_out, stream,
                                                assets])
