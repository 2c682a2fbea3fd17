"""The dashboard's two HTML pages (the sign-in form and the dashboard), filled from the bundled
templates in api/dashboard/pages, and the sign-in form's refusals shown on the form itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response

from api.dashboard import viewer
from api.platform import i18n
from api.platform.errors import DOMAIN_STATUS, ApiException, language_of
from domain.errors import DomainError

PAGES = Path(__file__).parent / "pages"
NO_STORE = {"Cache-Control": "no-store"}


@cache
def template(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def page(request: Request, name: str, status: int = 200, message: str = "") -> Response[str]:
    """A page with a fresh CSRF token in its forms and in the double-submit cookie."""
    token = request.cookies.get(viewer.CSRF_COOKIE) or viewer.new_csrf()
    body = template(name).replace("{{csrf}}", escape(token)).replace(
        "{{message}}", escape(message)).replace("{{hidden}}", "" if message else "hidden")
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=NO_STORE,
                    cookies=[viewer.cookie(token, viewer.CSRF_TTL_S, viewer.CSRF_COOKIE)])


def refused(request: Request, exc: Exception) -> Response[str]:
    """A sign-in refused (a wrong password, too many tries): the form again with the reason in
    the caller's language, under the refusal's status. A body the form itself cannot send (a
    NUL, a field past its bound) gets the platform's 422 and its structured error body."""
    language = language_of(request)
    if isinstance(exc, ApiException):
        status, (text, _) = exc.status, i18n.localize(exc.reason, language, exc.params,
                                                       exc.message)
        headers = exc.headers
    else:
        assert isinstance(exc, DomainError)
        status = next((s for t, s in DOMAIN_STATUS.items() if isinstance(exc, t)), 400)
        text, _ = i18n.localize(exc.code, language, exc.params, exc.message)
        headers = {}
    response = page(request, "login.html", status, text)
    response.headers.update({k: v for k, v in headers.items() if k != "WWW-Authenticate"})
    return response


REFUSALS: dict[int | type[Exception], Callable[[Request, Any], Response[Any]]] = {
    ApiException: refused, DomainError: refused}
