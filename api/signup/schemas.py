"""Request and response bodies of the public sign-up routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from api.platform.bodies import Body, Email, Name, Password, PersonName, Slug
from api.platform.schemas import Out
from domain import limits as lim

Token = Annotated[str, Meta(min_length=1, max_length=lim.MAX_TOKEN)]


class SignupBody(Body, frozen=True):
    organization_name: Name
    slug: Slug
    email: Email
    password: Password
    first_name: PersonName = ""
    last_name: PersonName = ""


class SignedUpOut(Out, frozen=True):
    organization_id: UUID
    user_id: UUID
    version: int
    position: int | None


class TokenBody(Body, frozen=True):
    token: Token


class AcceptInvitationBody(Body, frozen=True):
    token: Token
    password: Password
