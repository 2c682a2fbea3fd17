"""User use cases: sign-up, invitation, mail-token flows, profile/role/status, two-factor,
authentication and login recording. Each loads the streams it needs and appends atomically:
the user, its email claim and the organization's owner roster move together."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from commands.organizations import claim_slug
from commands.ports import Credentials, EventStore
from commands.roles import check_grant, role_permissions
from commands.runner import (
    Context,
    Loaded,
    Result,
    Seal,
    StreamWrite,
    check_expected,
    decided,
    execute,
    load,
    presumed,
    write,
)
from domain.claim import decider as claim
from domain.envelope import Actor
from domain.errors import Forbidden, ForeignNotFound, InvalidValue, NotFound, Unauthenticated
from domain.organization import decider as org
from domain.organization.commands import CreateOrganization
from domain.organization.rules import require_live
from domain.permissions import ApiPermission
from domain.role.system import effective_permissions
from domain.roster import decider as roster
from domain.user import decider as user
from domain.user import rules
from domain.user.commands import (
    AcceptInvitation,
    ChangeRole,
    ConfirmTwoFactor,
    DisableTwoFactor,
    InviteUser,
    RecordLogin,
    RegisterOwner,
    StartTwoFactor,
    UserCommand,
    VerifyEmail,
)
from domain.user.events import UserRemoved

Planned = UserCommand | Callable[[user.User], UserCommand]


class Authenticated(NamedTuple):
    user_id: UUID
    organization_id: UUID
    email: str
    role: str  # system role name or custom role id
    permissions: tuple[ApiPermission, ...]  # effective (role + user's own)


class SignedUp(NamedTuple):
    organization_id: UUID
    user_id: UUID
    version: int
    position: int | None


class Enrollment(NamedTuple):
    result: Result
    secret: str
    uri: str


class UserCommands:
    def __init__(self, store: EventStore, credentials: Credentials, *, retries: int = 5) -> None:
        self.store, self.credentials, self.retries = store, credentials, retries

    def signup(self, ctx: Context, organization: CreateOrganization, *, email: str,
               password: str, first_name: str = "", last_name: str = "") -> SignedUp:
        """The organization, its slug, its owner, the owner's email and the roster: one append."""
        password_hash = self.credentials.hash_password(rules.password(password))
        org_id, user_id = ctx.new_id(), ctx.new_id()
        ctx = _as_user(ctx, user_id)
        command = RegisterOwner(organization_id=org_id, email=email, first_name=first_name,
                                last_name=last_name, password_hash=password_hash)

        tries = 0

        def attempt() -> list[StreamWrite]:
            # Both ids are freshly drawn: only the slug and the email may already be claimed,
            # and they are presumed free on the first try (a conflict retries with loads).
            nonlocal tries
            tries += 1
            new = tries == 1 and self.retries > 0
            registered = user.decide(command, user.INITIAL)
            return [
                write(org.DECIDER, org_id, org_id, 0, org.decide(organization, org.INITIAL)),
                claim_slug(self.store, org_id, organization.slug, new=new),
                write(user.DECIDER, user_id, org_id, 0, registered),
                self._claim_email(org_id, user_id, rules.email(email), new=new),
                *self._roster(org_id, user_id, user.INITIAL,
                              user.DECIDER.fold(user.INITIAL, registered)),
            ]

        result = execute(self.store, ctx, attempt, retries=self.retries)
        return SignedUp(org_id, user_id, result.version, result.position)

    def invite(self, ctx: Context, organization_id: UUID, command: InviteUser,
               grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None) -> Result:
        user_id = ctx.new_id()

        def attempt() -> list[StreamWrite]:
            require_live(load(self.store, org.DECIDER, organization_id).state)
            check_grant(self.store, organization_id, command.role, command.permissions, grantor)
            events = user.decide(command, user.INITIAL)
            return [write(user.DECIDER, user_id, organization_id, 0, events),
                    self._claim_email(organization_id, user_id, rules.email(command.email))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, organization_id: UUID | None, user_id: UUID,
               command: Planned | list[Planned],
               grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None, expected_version: int | None = None) -> Result:
        """Commands on an existing user, decided in order and appended together; a command may
        be a function of the user's state at its turn. ``organization_id`` None is the
        operator (who reaches every organization's users); another's users are not found.
        ``expected_version`` comes from If-Match and disables the retry."""

        def attempt() -> list[StreamWrite]:
            current = self._owned(organization_id, user_id)
            check_expected(expected_version, current.version)
            state, events = current.state, []
            for planned in command if isinstance(command, list) else [command]:
                one = planned(state) if callable(planned) else planned
                if isinstance(one, ChangeRole):
                    assert state.organization_id is not None
                    check_grant(self.store, state.organization_id, one.role,
                                one.permissions or (), grantor)
                step = user.decide(one, state)
                state = user.DECIDER.fold(state, step)
                events.extend(step)
            return self._writes(user_id, current, events)

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal,
                       pinned=expected_version is not None)

    def accept_invitation(self, ctx: Context, token: str, password: str) -> Result:
        password_hash = self.credentials.hash_password(rules.password(password))
        user_id = self._token_user(token, rules.INVITE, ctx.clock())
        return self.handle(_as_user(ctx, user_id), None, user_id,
                           AcceptInvitation(password_hash=password_hash))

    def verify_email(self, ctx: Context, token: str) -> Result:
        user_id = self._token_user(token, rules.VERIFY, ctx.clock())
        return self.handle(_as_user(ctx, user_id), None, user_id, VerifyEmail())

    def start_two_factor(self, ctx: Context, organization_id: UUID | None,
                         user_id: UUID) -> Enrollment:
        secret = self.credentials.new_totp_secret()
        sealed = self.credentials.seal(secret, user_id)
        result = self.handle(ctx, organization_id, user_id, StartTwoFactor(
            secret_ciphertext=sealed))
        email = load(self.store, user.DECIDER, user_id).state.email
        return Enrollment(result, secret, self.credentials.otpauth_uri(secret, email))

    def confirm_two_factor(self, ctx: Context, organization_id: UUID | None, user_id: UUID,
                           code: str, seal: Seal | None = None,
                           expected_version: int | None = None) -> Result:
        now = ctx.clock()
        return self.handle(ctx, organization_id, user_id, lambda s: ConfirmTwoFactor(
            code_ok=self._code_ok(s.pending_two_factor_secret, user_id, code, now)), seal=seal,
            expected_version=expected_version)

    def disable_two_factor(self, ctx: Context, organization_id: UUID | None, user_id: UUID,
                           code: str, seal: Seal | None = None,
                           expected_version: int | None = None) -> Result:
        now = ctx.clock()
        return self.handle(ctx, organization_id, user_id, lambda s: DisableTwoFactor(
            code_ok=self._code_ok(s.two_factor_secret, user_id, code, now)), seal=seal,
            expected_version=expected_version)

    def authenticate(self, email: str, password: str, totp_code: str | None,
                     now: datetime) -> Authenticated:
        """Who ``email`` + ``password`` (+ TOTP code) is, with effective permissions.
        Unknown email and wrong password answer alike, after one argon2 verification each."""
        held = load(self.store, claim.DECIDER, claim.email_stream_id(email))
        found = load(self.store, user.DECIDER, held.state.owner).state if (
            held.state.owner is not None) else user.INITIAL
        usable = found.status not in ("absent", "removed", "inactive")
        if not self.credentials.check_password(found.password_hash if usable else "", password) or (
                held.state.owner is None or found.organization_id is None):
            raise Unauthenticated("invalid email or password", code="invalid_credentials")
        user_id, org_id = held.state.owner, found.organization_id
        if found.status == "suspended":
            raise Forbidden("user is suspended", code="user_suspended")
        if load(self.store, org.DECIDER, org_id).state.status != "active":
            raise Forbidden("the organization is not active", code="organization_not_active")
        if not found.email_verified:
            raise Forbidden("the email address is not verified yet", code="email_not_verified")
        if found.two_factor_enabled:
            if not totp_code:
                raise Unauthenticated("a two-factor code is required",
                                      code="two_factor_required")
            if not self._code_ok(found.two_factor_secret, user_id, totp_code, now):
                raise Unauthenticated("the two-factor code is not valid",
                                      code="invalid_two_factor_code")
        return Authenticated(user_id, org_id, found.email, found.role, effective_permissions(
            role_permissions(self.store, org_id, found.role), found.permissions))

    def record_login(self, ctx: Context, user_id: UUID) -> Result:
        return self.handle(ctx, None, user_id, RecordLogin())

    # helpers

    def _owned(self, organization_id: UUID | None, user_id: UUID) -> Loaded[user.User]:
        current = load(self.store, user.DECIDER, user_id)
        if current.state.status != "absent" and organization_id is not None and (
                current.state.organization_id != organization_id):
            raise ForeignNotFound("user not found", code="user_not_found")
        if current.state.status in ("absent", "removed"):
            raise NotFound("user not found", code="user_not_found")
        return current

    def _writes(self, user_id: UUID, current: Loaded[user.User], events: list[user.UserEvent],
                ) -> list[StreamWrite]:
        state = current.state
        assert state.organization_id is not None
        writes = [write(user.DECIDER, user_id, state.organization_id, current.version, events)]
        writes += self._roster(state.organization_id, user_id, state,
                               user.DECIDER.fold(state, events))
        if any(isinstance(e, UserRemoved) for e in events):
            writes.append(decided(self.store, claim.DECIDER, claim.email_stream_id(state.email),
                                  state.organization_id, claim.ReleaseValue(
                                      kind=claim.EMAIL, value=state.email, owner_id=user_id)))
        return writes

    def _claim_email(self, organization_id: UUID, user_id: UUID, email: str, *,
                     new: bool = False) -> StreamWrite:
        return presumed(self.store, claim.DECIDER, claim.email_stream_id(email),
                        organization_id, claim.ClaimValue(kind=claim.EMAIL, value=email,
                                                          owner_id=user_id), new=new)

    def _roster(self, organization_id: UUID, user_id: UUID, before: user.User,
                after: user.User) -> list[StreamWrite]:
        """The owner roster changes with the user when they start or stop being an active
        owner (so the last one cannot go)."""
        if before.is_active_owner == after.is_active_owner:
            return []
        change = roster.AddOwner if after.is_active_owner else roster.RemoveOwner
        return [decided(self.store, roster.DECIDER, roster.roster_stream_id(organization_id),
                        organization_id, change(user_id=user_id))]

    def _code_ok(self, sealed: str, user_id: UUID, code: str, now: datetime) -> bool:
        secret = self.credentials.open(sealed, user_id) if sealed else None
        return secret is not None and self.credentials.totp_ok(secret, code, now)

    def _token_user(self, raw: str, purpose: str, now: datetime) -> UUID:
        user_id = self.credentials.token_user(raw, purpose)
        if user_id is not None:
            found = load(self.store, user.DECIDER, user_id).state
            if found.status != "absent" and self.credentials.token_valid(raw, found.email, now):
                return user_id
        raise InvalidValue("the token is not valid or has expired", field="token",
                           code="mail_token_invalid")


def _as_user(ctx: Context, user_id: UUID) -> Context:
    """What a user does through a public route (sign-up, a mailed token) is their own doing."""
    return dataclasses.replace(ctx, actor=Actor(kind="user", id=str(user_id)))
