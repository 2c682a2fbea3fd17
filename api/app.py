"""The litestar application factory."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from typing import Any

from anyio import to_thread
from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.alert_rules.routes import AlertRuleController
from api.analytics.routes import MetricsController
from api.apikeys.routes import ApiKeyController
from api.audit.routes import AuditController
from api.auth import access
from api.auth.guards import operator_guard
from api.auth.login import login
from api.auth.oauth import OAuthError, authorize, introspect, on_oauth_error, revoke, token
from api.auth.policy import organization_origins, organization_policy_guard
from api.auth.sessions import list_sessions, logout, refresh, revoke_session
from api.auth.wellknown import jwks
from api.bulk.routes import BulkOperationController
from api.dashboard.feed import Boards
from api.dashboard.routes import dashboard_router
from api.dashboard.snapshot import Snapshots
from api.events.routes import EventController
from api.health import live, ready
from api.metrics import metrics
from api.oauthclients.routes import OAuthClientController
from api.operations import projections
from api.organizations.routes import OrganizationController
from api.platform.cors import Cors
from api.platform.dependencies import one_at_a_time, providers
from api.platform.edge import Edge
from api.platform.errors import HANDLERS, ApiException
from api.platform.headers import on_response_start
from api.platform.middleware import add_request_id, full_allow
from api.platform.openapi import OPERATOR, StrictStructSchemaPlugin, config
from api.platform.ratelimit import add_rate_limit_headers, rate_limit_guard
from api.platform.security import security_headers
from api.platform.telemetry import Telemetry
from api.platform.tracing import traced
from api.platform.versioning import echo_version
from api.resource_types.routes import ResourceTypeController
from api.resources.listing import ResourceQueryController
from api.resources.routes import ResourceController
from api.roles.routes import RoleController
from api.signup.routes import SignupController, public_guard
from api.streams.refusals import on_refused
from api.streams.routes import StreamController, live_socket
from api.streams.sse import SseStream, handed_off
from api.streams.tickets import StreamTicketController, authenticate
from api.transactions.routes import TransactionController
from api.usage.guard import usage_guard
from api.usage.routes import UsageController
from api.users.routes import UserController
from api.webhooks.deliveries import WebhookDeliveryController
from api.webhooks.events import WebhookEventController
from api.webhooks.routes import WebhookEndpointController
from infra import logs, tracing
from infra.container import Container
from infra.settings import Settings, load_settings

SHUTDOWN_GRACE_S = 3.0


async def v1_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Authenticate, apply the caller's organization's policy and its usage quota (before a
    refused request costs a rate-limit token), then charge its rate limits.

    One guard rather than three: litestar copies the route handler for every guard of every
    request, and three copies were ~9 % of an authenticated read's CPU.
    """
    await operator_guard(connection, handler)
    await organization_policy_guard(connection, handler)
    usage_guard(connection)
    await rate_limit_guard(connection, handler)


async def stream_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """v1_guard for the SSE stream, which a browser may open with a stream ticket in its URL
    (api/streams/tickets.py) instead of the Authorization header it cannot set."""
    await authenticate(connection, handler)
    await organization_policy_guard(connection, handler)
    usage_guard(connection)
    await rate_limit_guard(connection, handler)


class App(Litestar):
    """The app, streaming the SSE bodies its requests hand off (api/streams/sse.py) with the
    server's own ``send`` once the request has returned."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)
        source = handed_off(scope)
        if source is not None:
            del scope  # the stream outlives its request, which nothing here keeps alive
            await SseStream(receive).pump(source, send)


def worker_app() -> Litestar:
    """What each granian worker serves: granian applies the logging config in its workers but
    not the rest of ``logs.configure``, so warnings and uncaught exceptions are routed here."""
    logs.capture()
    settings = load_settings()
    tracing.setup(settings, "chronicle-api")  # each worker process has its own provider
    return create_app(settings, freeze=True)


def create_app(settings: Settings | None = None, container: Container | None = None,
               freeze: bool = False) -> Litestar:
    settings = settings or load_settings()

    async def startup(app: Litestar) -> None:
        # Built on startup, not here: the event store connects as it is built, and building the
        # app (for `chronicle openapi`, say) must not need any service.
        app.state.container = container or await to_thread.run_sync(Container.build, settings)
        await app.state.container.open()
        app.state.background = app.state.container.start_background()
        if freeze:
            # A worker's startup objects live as long as the process: frozen out of the
            # collector's sight, a full collection no longer walks them, which paused every
            # open stream (tens of ms). Not in tests, whose apps come and go in one process.
            gc.freeze()
        telemetry.sink = app.state.container.request_log
        telemetry.hub = app.state.container.hub
        app.state.dashboard = Boards(Snapshots(app.state.container),
                                     settings.dashboard_interval_s)
        if settings.metrics_dir:
            app.state.background.append(asyncio.create_task(
                telemetry.keep_snapshot(app.state.container.pool)))

    async def shutdown(app: Litestar) -> None:
        for task in app.state.background:
            task.cancel()
        # Let them finish their last word (queued denial records are appended) before closing,
        # but not forever: a pub/sub read being cancelled can hang inside redis-py, which
        # hung shutdown (tests/integration/test_http_platform.py) before this bound.
        await asyncio.wait(app.state.background, timeout=SHUTDOWN_GRACE_S)
        await app.state.dashboard.close()
        await app.state.container.close()
        await to_thread.run_sync(tracing.flush)

    def services() -> Container:
        # Reads the app's state when called (the container exists from startup on), and takes
        # no parameter, so that litestar has nothing to parse for it on each request.
        built: Container = app.state.container
        return built

    cors = dataclasses.replace(Cors.from_settings(settings), checks=(organization_origins,))
    app = App(
        route_handlers=[live, ready, metrics, jwks, token, introspect, revoke, Router(
            "/", route_handlers=[OrganizationController, ApiKeyController, projections,
                                 UserController, RoleController, logout, list_sessions,
                                 revoke_session, OAuthClientController, authorize,
                                 ResourceTypeController, ResourceController,
                                 ResourceQueryController, AuditController, EventController,
                                 TransactionController, BulkOperationController,
                                 MetricsController, UsageController, StreamTicketController,
                                 WebhookEndpointController, WebhookDeliveryController,
                                 WebhookEventController,
                                 AlertRuleController],
            guards=[v1_guard], security=OPERATOR),
            Router("/", route_handlers=[StreamController], guards=[stream_guard],
                   security=OPERATOR, exception_handlers={ApiException: on_refused}),
            # Guarded by itself: a refused socket is told why (api/streams/routes.py).
            live_socket,
            Router("/", route_handlers=[SignupController, refresh, login], guards=[public_guard]),
            # Signed in with a cookie of its own (api/dashboard/viewer.py), not a bearer token.
            dashboard_router()],
        on_startup=[startup],
        on_shutdown=[shutdown],
        before_send=[on_response_start(add_request_id, full_allow, add_rate_limit_headers,
                                       security_headers(settings), cors.response_headers(),
                                       echo_version)],
        dependencies={**providers(services), **access.providers()},
        exception_handlers={**HANDLERS, OAuthError: on_oauth_error},  # type: ignore[dict-item]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=config(),
        plugins=[StrictStructSchemaPlugin()],
        # litestar's default logging config replaces the root logger's handler with its own
        # text format; every line goes through infra/logs.py's instead (`chronicle` sets it).
        logging_config=None,
        debug=False,
    )
    # Header limit, CORS preflight and API version are settled before routing (api/platform/edge.py);
    # outside it, each request is timed and logged (api/platform/telemetry.py).
    edge = Edge(app.asgi_handler, settings, cors)
    telemetry = Telemetry(edge, settings)
    on = settings.enable_metrics or settings.enable_request_log
    app.asgi_handler = telemetry if on else logs.in_requests(edge)
    if tracing.on():  # outermost: the server span covers everything the request does
        app.asgi_handler = traced(app.asgi_handler)
    app.state.telemetry = telemetry
    return one_at_a_time(app)
