"""The framework ceiling: a litestar app with one route that does nothing, to serve with granian
exactly as `chronicle api` serves the real app (`python -m bench.hello PORT WORKERS`)."""

from __future__ import annotations

import sys

from litestar import Litestar, get


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[hello], openapi_config=None, debug=False)


def main() -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.server import Server

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    Server("bench.hello:create_app", factory=True, address="127.0.0.1", port=port,
           interface=Interfaces.ASGI, workers=workers, loop=Loops.uvloop, http=HTTPModes.http1,
           websockets=False, log_access=False).serve()


if __name__ == "__main__":
    main()
