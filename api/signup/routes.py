"""Public routes (no bearer token): sign-up, email verification and accepting an invitation.

They sit on their own router with ``public_guard`` instead of the bearer-token guard, and are
rate limited per client IP address.
"""

from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Response, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from api.platform import openapi as docs
from api.platform.dependencies import Ctx, Services
from api.platform.errors import ApiException
from api.platform.ratelimit import STATE_KEY, decide, headers
from api.platform.schemas import CommandAccepted
from api.signup.schemas import AcceptInvitationBody, SignedUpOut, SignupBody, TokenBody
from domain.envelope import Actor
from domain.organization.commands import CreateOrganization
from infra.container import Container
from infra.ratelimit import Limits, Scope


def public_limits(per_minute: int) -> Limits:
    return Limits(max(per_minute / 60, 0.1), max(per_minute // 6, 1), per_minute,
                  per_minute * 20, per_minute * 200)


async def public_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """No credentials: the caller is its IP address, and is rate limited as such."""
    container: Container = connection.app.state.container
    ip = connection.client.host if connection.client else "unknown"
    connection.scope.setdefault("state", {}).update(
        actor=Actor(kind="system", id=f"public:{ip}"), organization_id=None, key=None,
        public=True)
    if not container.settings.enable_rate_limiting:
        return
    decision = await decide(container, [Scope(f"ip:{ip}", public_limits(
        container.settings.public_rate_limit_per_minute))])
    limit_headers = headers(decision)
    if not decision.allowed:
        retry = str(max(decision.retry_after_s, 1))
        raise ApiException(429, "rate_limited", f"rate limit exceeded; retry after {retry} s",
                           params={"retry_after": retry},
                           headers={**limit_headers, "Retry-After": retry})
    connection.scope["state"][STATE_KEY] = limit_headers


class SignupController(Controller):
    path = "/v1/auth"
    tags = ["sign-up"]

    @post("/signup", status_code=201, summary="Sign up: a new organization and its owner",
          **docs.public(201, SignedUpOut, *docs.BODY, "json_too_deep", "payload_too_large",
                        "slug_taken", "email_taken", "email_invalid", "password_policy",
                        description="The organization and its owner, created together. A "
                                    "verification mail is sent to the owner."))
    async def signup(self, container: Services, ctx: Ctx,
                     data: JSONBody[SignupBody]) -> Response[SignedUpOut]:
        organization = CreateOrganization(name=data.organization_name, slug=data.slug)
        done = await to_thread.run_sync(lambda: container.users.signup(
            ctx, organization, email=data.email, password=data.password,
            first_name=data.first_name, last_name=data.last_name))
        return Response(SignedUpOut(organization_id=done.organization_id, user_id=done.user_id,
                                    version=done.version, position=done.position),
                        status_code=201, headers={"Location": f"/v1/users/{done.user_id}"})

    @post("/verify-email", status_code=200, summary="Verify an email address with the mailed "
          "token", **docs.public(200, CommandAccepted, *docs.BODY, "mail_token_invalid"))
    async def verify_email(self, container: Services, ctx: Ctx,
                           data: JSONBody[TokenBody]) -> CommandAccepted:
        result = await to_thread.run_sync(lambda: container.users.verify_email(ctx, data.token))
        return CommandAccepted(id=result.stream_id, version=result.version,
                               position=result.position)

    @post("/accept-invitation", status_code=200,
          summary="Accept an invitation: choose a password; the email is verified by it",
          **docs.public(200, CommandAccepted, *docs.BODY, "mail_token_invalid",
                        "password_policy", "invitation_not_pending"))
    async def accept_invitation(self, container: Services, ctx: Ctx,
                                data: JSONBody[AcceptInvitationBody]) -> CommandAccepted:
        result = await to_thread.run_sync(lambda: container.users.accept_invitation(
            ctx, data.token, data.password))
        return CommandAccepted(id=result.stream_id, version=result.version,
                               position=result.position)
