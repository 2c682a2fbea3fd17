"""The projections this deployment runs, by name: the topics each subscribes to, how to build
it, and the PostgreSQL tables it keeps (migrations and rebuilds ask here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from psycopg import sql

from domain.deciders import AGGREGATES
from infra.settings import Settings
from projections import alert_rules, audit, chain, mailer, webhook_tables
from projections.alert_rules import AlertRulesProjection
from projections.api_keys import ApiKeysProjection
from projections.api_requests import RequestLogProjection
from projections.base import Projection
from projections.bulk_operations import BulkOperationsProjection
from projections.oauth_clients import OAuthClientsProjection
from projections.organizations import OrganizationsProjection
from projections.readmodel import AnnouncedReadModel, ReadModel
from projections.resource_types import ResourceTypesProjection
from projections.resources import ResourcesProjection
from projections.roles import RolesProjection
from projections.table import Table
from projections.users import UsersProjection
from projections.webhook_endpoints import WebhookEndpointsProjection
from projections.webhook_fanout import NAME as WEBHOOK_FANOUT
from projections.webhook_fanout import FanOut


class Spec(NamedTuple):
    aggregates: tuple[str, ...]
    build: Callable[[Settings], Projection]
    table: Table | None = None  # a read model's table: created by migrate, swapped by a rebuild
    ddl: tuple[str, ...] = ()  # other tables the projection keeps


def read_model(model: type[ReadModel]) -> Spec:
    def build(settings: Settings) -> Projection:
        if issubclass(model, AnnouncedReadModel):
            return model(redis_url=settings.redis_url,
                         channel=f"{settings.redis_key_prefix}{model.CHANNEL}")
        return model()

    return Spec((model.stream_type,), build, model.spec)


def _clickhouse_events(settings: Settings) -> Projection:
    from infra import clickhouse
    from projections.events_clickhouse import EventsProjection

    return EventsProjection(clickhouse.client(settings))


def _clickhouse_resources(settings: Settings) -> Projection:
    from infra import clickhouse
    from infra.eventstore import EventStore, datastore_from_url
    from projections.resources_clickhouse import ResourcesClickHouseProjection

    store = EventStore(datastore_from_url(settings.database_url, pool_size=1, max_overflow=1),
                       max_event_bytes=settings.max_event_bytes)
    return ResourcesClickHouseProjection(clickhouse.client(settings), store)


def _clickhouse_users(settings: Settings) -> Projection:
    from infra import clickhouse
    from projections.users_clickhouse import UsersClickHouseProjection

    return UsersClickHouseProjection(clickhouse.client(settings))


def _chain(settings: Settings) -> Projection:
    return chain.ChainProjection(settings.chain_key, settings.audit_checkpoint_seconds)


def _mailer(settings: Settings) -> Projection:
    from infra.mail import Mailer
    from infra.settings import DEV_API_SECRET

    return mailer.MailerProjection(Mailer(settings), settings.api_secret or DEV_API_SECRET)


PROJECTIONS: dict[str, Spec] = {
    "organizations": read_model(OrganizationsProjection),
    "clickhouse_events": Spec(AGGREGATES, _clickhouse_events),
    "api_keys": read_model(ApiKeysProjection),
    "users": read_model(UsersProjection),
    "roles": read_model(RolesProjection),
    "mailer": Spec(("user",), _mailer, ddl=(mailer.DDL,)),
    "oauth_clients": read_model(OAuthClientsProjection),
    "resource_types": read_model(ResourceTypesProjection),
    "resources": read_model(ResourcesProjection),
    "bulk_operations": read_model(BulkOperationsProjection),
    "clickhouse_resources": Spec(("resource",), _clickhouse_resources),
    "clickhouse_users": Spec(("user",), _clickhouse_users),
    "alert_rules": read_model(AlertRulesProjection)._replace(ddl=alert_rules.EVALUATIONS_DDL),
    "audit_entries": Spec(AGGREGATES, lambda _settings: audit.AuditProjection(), audit.SPEC,
                  ddl=(audit.STATES_DDL,)),
    "audit_chain": Spec(AGGREGATES, _chain, ddl=chain.DDL),
    "webhook_endpoints": read_model(WebhookEndpointsProjection),
}

# Projections run by a process of their own (`chronicle webhooks`), not by `chronicle projector`.
OWN_PROCESS: dict[str, Spec] = {
    WEBHOOK_FANOUT: Spec(AGGREGATES, lambda _settings: FanOut(AGGREGATES),
                         ddl=webhook_tables.ddl()),
}


def _api_requests(settings: Settings) -> RequestLogProjection:
    from infra import clickhouse

    return RequestLogProjection(clickhouse.client(settings))


# Projections of topics of records, not events (infra/projector/records.py runs them); nothing
# to rebuild from the event store.
RECORDS: dict[str, Callable[[Settings], RequestLogProjection]] = {
    "api_requests": _api_requests,
}


def postgres_ddl() -> list[sql.Composable]:
    """Every PostgreSQL table the projections keep, in the registry's order."""
    statements: list[sql.Composable] = []
    for spec in (*PROJECTIONS.values(), *OWN_PROCESS.values()):
        statements += [*(spec.table.ddl() if spec.table else ()), *map(sql.SQL, spec.ddl)]
    return statements
