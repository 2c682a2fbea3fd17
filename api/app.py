"""The litestar application factory."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig

from api.auth import operator_guard
from api.errors import HANDLERS
from api.health import live, ready
from api.middleware import add_request_id
from api.operations import projections
from api.organizations import OrganizationController
from api.ratelimit import add_rate_limit_headers, rate_limit_guard
from infra.container import Container
from infra.settings import Settings, load_settings


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    settings = settings or load_settings()
    container = container or Container.build(settings)

    async def startup(app: Litestar) -> None:
        app.state.container = container
        await container.open()

    async def shutdown(_: Litestar) -> None:
        await container.close()

    return Litestar(
        route_handlers=[live, ready, Router(
            "/", route_handlers=[OrganizationController, projections],
            guards=[operator_guard, rate_limit_guard])],
        on_startup=[startup],
        on_shutdown=[shutdown],
        before_send=[add_request_id, add_rate_limit_headers],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="Chronicle", version="1.0.0", path="/docs"),
        debug=False,
    )
