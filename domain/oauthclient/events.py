"""OAuth client events, tagged ``oauthclient.<Name>``."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

GrantType = Literal["client_credentials", "authorization_code", "refresh_token"]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class OAuthClientRegistered(_Event, tag="oauthclient.Registered", frozen=True):
    organization_id: UUID
    name: str
    hashed_secret: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[GrantType, ...]
    created_by: str


class OAuthClientUpdated(_Event, tag="oauthclient.Updated", frozen=True):
    name: str | None = None
    redirect_uris: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    grant_types: tuple[GrantType, ...] | None = None


class OAuthClientSecretRotated(_Event, tag="oauthclient.SecretRotated", frozen=True):
    hashed_secret: str


class OAuthClientDeleted(_Event, tag="oauthclient.Deleted", frozen=True):
    pass


OAuthClientEvent = (OAuthClientRegistered | OAuthClientUpdated | OAuthClientSecretRotated
                    | OAuthClientDeleted)
