"""The interactive API docs page (Swagger UI) and its assets, bundled with the project.

Litestar's render plugins load their scripts from a CDN; this one references only assets the
app serves itself under /docs/assets (api/platform/static/swagger, vendored from swagger-ui-dist), so
the docs work offline, and it uses no inline script, so the docs page's CSP can stay strict.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.35.0"
ASSETS_DIR = Path(__file__).parent / "static" / "swagger"
ASSETS_PATH = "/assets"  # under the OpenAPI router's path (/docs)


class SwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI at the OpenAPI router's root (/docs), from the bundled assets only."""

    def __init__(self, path: str = "/") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        spec_url = self.get_openapi_json_route(request)  # /docs/openapi.json
        assets = escape(spec_url.rsplit("/", 1)[0] + ASSETS_PATH)
        title = escape(str(openapi_schema["info"]["title"]))
        spec_url = escape(spec_url)
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title} API reference</title>
    <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
    <link rel="stylesheet" href="{assets}/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="{spec_url}"></div>
    <script src="{assets}/swagger-ui-bundle.js"></script>
    <script src="{assets}/chronicle-docs.js"></script>
  </body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """Serves the bundled assets beside the page (/docs/assets/...)."""
        router.register(create_static_files_router(
            path=ASSETS_PATH, directories=[ASSETS_DIR], name="openapi-assets",
            cache_control=CacheControlHeader(max_age=86_400, public=True),
            include_in_schema=False))
