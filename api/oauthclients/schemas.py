"""Request and response bodies of the OAuth client routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args
from uuid import UUID

import msgspec
from msgspec import Meta

from api.platform.bodies import Body, Name
from api.platform.schemas import Out
from domain.limits import MAX_SCOPE, MAX_SCOPES, MAX_URI, MAX_URIS
from domain.oauthclient.events import GrantType

Uris = Annotated[list[Annotated[str, Meta(max_length=MAX_URI)]], Meta(max_length=MAX_URIS)]
Scopes = Annotated[list[Annotated[str, Meta(max_length=MAX_SCOPE)]], Meta(max_length=MAX_SCOPES)]
Grants = Annotated[list[GrantType], Meta(min_length=1, max_length=len(get_args(GrantType)))]


class CreateClientBody(Body, frozen=True):
    name: Name
    organization_id: UUID | None = None
    redirect_uris: Uris = []
    scopes: Scopes = []
    grant_types: Grants = msgspec.field(default_factory=lambda: ["client_credentials"])


class UpdateClientBody(Body, frozen=True):
    name: Name | None = None
    redirect_uris: Uris | None = None
    scopes: Scopes | None = None
    grant_types: Grants | None = None


class OAuthClientOut(Out, frozen=True):
    id: UUID
    client_id: str
    organization_id: UUID
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    grant_types: list[GrantType]
    status: str
    created_by: str
    created_at: datetime
    secret_rotated_at: datetime | None
    version: int


class IssuedClient(Out, frozen=True):
    id: UUID
    client_id: str
    client_secret: str  # shown once; only its keyed hash is stored
    version: int
    position: int | None


class ClientChanged(Out, frozen=True):
    id: UUID
    version: int
    position: int | None


class OAuthClientList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[OAuthClientOut]
