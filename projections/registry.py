"""The projections this deployment runs, by name, and how to build each one."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from infra.settings import Settings
from projections.base import Projection


class Spec(NamedTuple):
    aggregates: tuple[str, ...]
    build: Callable[[Settings], Projection]


def _organizations(settings: Settings) -> Projection:
    from projections.organizations import CHANNEL, OrganizationsProjection

    return OrganizationsProjection(redis_url=settings.redis_url,
                                   channel=f"{settings.redis_key_prefix}{CHANNEL}")


def _clickhouse_events(settings: Settings) -> Projection:
    from infra import clickhouse
    from projections.events_clickhouse import EventsProjection

    return EventsProjection(clickhouse.client(settings))


def _api_keys(settings: Settings) -> Projection:
    from projections.api_keys import CHANNEL, ApiKeysProjection

    return ApiKeysProjection(redis_url=settings.redis_url,
                             channel=f"{settings.redis_key_prefix}{CHANNEL}")


def _oauth_clients(_settings: Settings) -> Projection:
    from projections.oauth_clients import OAuthClientsProjection

    return OAuthClientsProjection()


def _users(_settings: Settings) -> Projection:
    from projections.users import UsersProjection

    return UsersProjection()


def _roles(settings: Settings) -> Projection:
    from projections.roles import CHANNEL, RolesProjection

    return RolesProjection(redis_url=settings.redis_url,
                           channel=f"{settings.redis_key_prefix}{CHANNEL}")


def _mailer(settings: Settings) -> Projection:
    from infra.container import DEV_API_SECRET
    from infra.mail import Mailer
    from projections.mailer import MailerProjection

    return MailerProjection(Mailer(settings), settings.api_secret or DEV_API_SECRET)


PROJECTIONS: dict[str, Spec] = {
    "organizations": Spec(("organization",), _organizations),
    "clickhouse_events": Spec(("organization", "slug", "apikey", "access", "user", "role", "claim",
                               "roster", "oauthclient"), _clickhouse_events),
    "api_keys": Spec(("apikey",), _api_keys),
    "users": Spec(("user",), _users),
    "roles": Spec(("role",), _roles),
    "mailer": Spec(("user",), _mailer),
    "oauth_clients": Spec(("oauthclient",), _oauth_clients),
}
