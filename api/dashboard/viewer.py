"""Who looks at the dashboard: the signed cookie the sign-in form sets, and the CSRF token of
the forms.

The cookie names a user's login session (``u``: its id, so logging out or revoking the session
anywhere ends the dashboard too) or an operator's sign-in (``o``: a nonce and an expiry, its
MAC keyed by the operator token as well, so changing the token signs every operator out). Only
the HMAC (API_SECRET) makes it ours: session ids are not secrets (``GET /v1/sessions`` lists
them). Secure, HttpOnly, SameSite=Strict and scoped to /dashboard: another site can neither
read it nor make the browser send it; the forms also carry a double-submit CSRF token, since
SameSite does not stop a forged sign-in into someone else's account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import NamedTuple
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie

from api.auth.policy import enforce
from domain import limits as lim
from domain.permissions import permits
from infra.container import Container

COOKIE = "chronicle_dashboard"
CSRF_COOKIE = "chronicle_dashboard_csrf"
PATH = "/dashboard"
CSRF_TTL_S = 3600
RESOURCE = "analytics"  # what a user must be allowed to read, as for GET /v1/metrics


class Viewer(NamedTuple):
    """Whose numbers a viewer sees: an organization's, or (None) every one's."""

    organization_id: UUID | None
    session_id: str | None = None  # a user's login session; None for the operator
    operator_nonce: str | None = None  # an operator's sign-in, revoked by name on sign-out


def _mac(container: Container, message: str) -> str:
    key = hmac.new(container.api_keys.api_secret.encode(), b"chronicle-dashboard-cookie",
                   hashlib.sha256).digest()
    if message.startswith("o."):
        key = hmac.new(key, container.settings.admin_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def cookie(value: str, max_age: int, name: str = COOKIE) -> Cookie:
    return Cookie(key=name, value=value, max_age=max_age, path=PATH, secure=True,
                  httponly=True, samesite="strict")


def cleared(name: str = COOKIE) -> Cookie:
    return cookie("", 0, name)


def for_session(container: Container, session_id: str, ttl_s: int) -> Cookie:
    message = f"u.{session_id}"
    return cookie(f"{message}.{_mac(container, message)}", ttl_s)


def for_operator(container: Container, now: float | None = None) -> Cookie:
    ttl = container.settings.dashboard_session_ttl_s
    expires = int((now or time.time()) + ttl)
    message = f"o.{secrets.token_urlsafe(12)}.{expires}"
    return cookie(f"{message}.{_mac(container, message)}", ttl)


async def viewer_of(request: Request, container: Container) -> Viewer | None:
    """The signed-in viewer, or None (no cookie, a forged or expired one, an ended session, a
    user who may not read analytics, or an operator when no operator token is configured); a
    403 when the user's organization's policy refuses the request."""
    raw = request.cookies.get(COOKIE, "")
    message, _, mac = raw.rpartition(".")
    if not raw or len(raw) > lim.MAX_DASHBOARD_COOKIE or not hmac.compare_digest(
            mac.encode(), _mac(container, message).encode()):
        return None
    kind, _, rest = message.partition(".")
    if kind == "o":
        nonce, _, expires = rest.rpartition(".")
        live = bool(container.settings.admin_token) and expires.isdigit() and (
            int(expires) > time.time()) and f"dashboard:{nonce}" not in container.deny
        return Viewer(None, operator_nonce=nonce) if live else None
    found = await session_viewer(container, rest) if kind == "u" else None
    if found is not None and found.organization_id is not None:
        await apply_policy(container, request, found.organization_id)
    return found


async def apply_policy(container: Container, request: Request, organization_id: UUID) -> None:
    """The organization's own rules, as on its /v1 requests (status, ipWhitelist,
    requireHttps): a 403 naming the rule."""
    policy = await container.org_cache.get(organization_id)
    if policy is not None:
        enforce(policy, request.scope)


async def session_viewer(container: Container, session_id: str) -> Viewer | None:
    """A user's session while it is active, not revoked, and may read analytics."""
    session = await container.sessions.get(session_id)
    if session is None or not session.is_active or f"sid:{session_id}" in container.deny:
        return None
    if not permits(session.permissions, RESOURCE, "read"):
        return None
    return Viewer(session.organization_id, session_id)


async def sign_out(container: Container, found: Viewer) -> None:
    """End the sign-in everywhere: the user's login session, or the operator's cookie (named in
    the deny set until it would have expired anyway)."""
    if found.session_id is not None:
        session = await container.sessions.get(found.session_id)
        if session is not None:
            await container.sessions.revoke(session)
    elif found.operator_nonce is not None:
        await container.deny.revoke([f"dashboard:{found.operator_nonce}"],
                                    timedelta(seconds=container.settings.dashboard_session_ttl_s))


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(request: Request, presented: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), presented.encode())
