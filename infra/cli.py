"""The ``chronicle`` command: one subcommand per process and operation."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from infra import logs
from infra.settings import Settings, SettingsError, load_settings

SHUTDOWN_TIMEOUT_S = 10  # a worker still draining after this is killed


def _on_sigterm(stop: Callable[[], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


BACKLOG = 1024  # granian's default listen backlog


def cmd_api(settings: Settings, _args: argparse.Namespace) -> int:
    """granian: HTTP parsed in Rust, TCP_NODELAY on every connection (uvicorn's multi-worker
    socket lost it, so each keep-alive response waited ~40 ms on Nagle + delayed ACK), and
    API_WORKERS processes, each running the app's lifespan (its own pools and caches)."""
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
    from granian.log import LogLevels
    from granian.server import Server

    from infra.metrics import prepare

    if settings.api_workers > 1 and settings.enable_metrics:
        # Each worker is a process with its own figures: they meet in this directory
        # (infra/metrics.py), emptied now so a restart starts every counter from zero.
        directory = settings.metrics_dir or str(
            Path(tempfile.gettempdir()) / f"chronicle-metrics-{settings.port}")
        prepare(directory)
        os.environ["METRICS_DIR"] = directory  # the workers read their settings again

    # TLS 1.2 still accepted, as under uvicorn (granian's own default is 1.3 only).
    tls = ({"ssl_cert": Path(settings.tls_cert_file), "ssl_key": Path(settings.tls_key_file),
            "ssl_protocol_min": SSLProtocols.tls12} if settings.tls_cert_file else {})
    Server("api.app:worker_app", factory=True, address=settings.host, port=settings.port,
           interface=Interfaces.ASGI, workers=settings.api_workers, loop=Loops.uvloop,
           http=HTTPModes.http1, websockets=True, log_level=LogLevels(settings.log_level),
           log_access=False, log_dictconfig=logs.config(settings.log_level, settings.log_format),
           workers_kill_timeout=SHUTDOWN_TIMEOUT_S,
           # granian admits backlog/workers requests at once per worker; an open event stream
           # is one of them for as long as it lasts, so the streams' limit comes on top.
           backpressure=BACKLOG // settings.api_workers + settings.stream_max_per_process,
           **tls).serve()  # type: ignore[arg-type]
    return 0


def cmd_relay(settings: Settings, _args: argparse.Namespace) -> int:
    from infra.eventstore import EventStore, datastore_from_url
    from infra.health import serve
    from infra.relay import Relay, RelayHealth

    store = EventStore(datastore_from_url(settings.database_url))
    relay = Relay(settings, store)
    health = RelayHealth(settings, relay)
    server = serve(settings.host, settings.relay_port, "relay", health.report, health.metrics,
                   [store.datastore.pool])
    _on_sigterm(relay.stop)
    try:
        relay.run()
    finally:
        server.shutdown()
    return 0


def cmd_projector(settings: Settings, args: argparse.Namespace) -> int:
    from infra.health import serve
    from infra.projector.health import ProjectorHealth
    from infra.projector.records import RecordRunner
    from infra.projector.runner import Runner
    from projections.registry import PROJECTIONS, RECORDS

    names = args.projection or [*PROJECTIONS, *RECORDS]
    unknown = [n for n in names if n not in PROJECTIONS and n not in RECORDS]
    if unknown:
        print(f"unknown projection {unknown[0]!r}; one of: {', '.join([*PROJECTIONS, *RECORDS])}",
              file=sys.stderr)
        return 2
    runners = [RecordRunner(settings, RECORDS[n](settings)) if n in RECORDS
               else Runner(settings, PROJECTIONS[n].build(settings)) for n in names]
    threads = [threading.Thread(target=r.run, name=f"projector-{r.projection.name}")
               for r in runners]
    health = ProjectorHealth(settings, runners, threads)
    server = serve(settings.host, settings.projector_port, "projector", health.report,
                   health.metrics)

    def stop_all() -> None:
        for r in runners:
            r.stop()

    _on_sigterm(stop_all)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.shutdown()
    return 0


def cmd_bulk(settings: Settings, _args: argparse.Namespace) -> int:
    """The bulk worker: applies submitted bulk operations, chunk by chunk."""
    from commands.bulk import BulkCommands
    from infra.bulk import BulkWorker
    from infra.eventstore import EventStore, datastore_from_url
    from infra.health import serve
    from infra.jsonschemas import JsonSchemas

    store = EventStore(datastore_from_url(settings.database_url),
                       max_event_bytes=settings.max_event_bytes)
    worker = BulkWorker(settings, BulkCommands(store, JsonSchemas(),
                                               retries=settings.command_retries))
    server = serve(settings.host, settings.bulk_port, "bulk", worker.report, worker.metrics,
                   [store.datastore.pool])
    _on_sigterm(worker.stop)
    try:
        worker.run()
    finally:
        server.shutdown()
        store.close()
    return 0


def cmd_webhooks(settings: Settings, _args: argparse.Namespace) -> int:
    """The fan-out (a consumer group on every event topic, offsets in PostgreSQL) and the
    sender, with /health and /metrics on WEBHOOK_PORT."""
    from infra.webhooks.process import run

    return run(settings, _on_sigterm)


def cmd_alerts(settings: Settings, _args: argparse.Namespace) -> int:
    from commands.alert_rules import AlertRuleCommands
    from infra import alerts, clickhouse
    from infra.eventstore import EventStore, datastore_from_url
    from infra.health import serve

    store = EventStore(datastore_from_url(settings.database_url, pool_size=1, max_overflow=1))
    evaluator = alerts.Evaluator(clickhouse.client(settings),
                                 AlertRuleCommands(store, retries=settings.command_retries))
    pulse, stop = alerts.Pulse(settings.alert_evaluate_seconds), threading.Event()
    server = serve(settings.host, settings.alerts_port, "alerts", pulse.report, pulse.metrics,
                   [store.datastore.pool])
    _on_sigterm(stop.set)
    try:
        alerts.run(evaluator, settings.database_url, pulse, stop)
    finally:
        server.shutdown()
        store.close()
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from infra.migrate import migrate

    migrate(settings)
    return 0


def cmd_seed(settings: Settings, _args: argparse.Namespace) -> int:
    from infra.seed import seed

    print(seed(settings))
    return 0


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    from infra.eventstore import EventStore, datastore_from_url
    from infra.projector.rebuild import rebuild, rebuildable

    if args.action == "status":
        return projections_status(settings)
    if args.action == "retry":
        return projections_retry(settings, args.name)
    store = EventStore(datastore_from_url(settings.database_url))
    try:
        if args.name not in rebuildable():
            print(f"unknown projection {args.name!r}; one of: {', '.join(rebuildable())}",
                  file=sys.stderr)
            return 2
        print(f"rebuilding {args.name} from the event store", flush=True)
        rebuild(settings, store, args.name, lambda line: print(line, flush=True))
        print(f"rebuilt {args.name}", flush=True)
        return 0
    finally:
        store.close()


def projections_status(settings: Settings) -> int:
    import psycopg

    from infra.projector import deadletter
    from projections.status import statuses

    with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=3) as conn:
        parked = deadletter.counts(conn)
        for s in statuses(conn):
            print(f"{s['projection']:<20} checkpoint={s['checkpoint']} lag={s['lag']}"
                  f" parked={parked.get(str(s['projection']), 0)}")
    return 0


def projections_retry(settings: Settings, name: str) -> int:
    """Apply the parked events of ``name`` again; exit 1 while some still fail."""
    import psycopg

    from infra.projector import deadletter
    from projections.registry import OWN_PROCESS, PROJECTIONS

    known = {**PROJECTIONS, **OWN_PROCESS}
    if name not in known:
        print(f"unknown projection {name!r}; one of: {', '.join(known)}", file=sys.stderr)
        return 2
    projection = known[name].build(settings)
    with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=3) as conn:
        report = deadletter.retry(conn, projection)
    for event in report.applied:
        print(f"applied  position={event.position} {event.topic}[{event.partition}]@{event.offset}")
    for event in report.failed:
        print(f"parked   position={event.position} {event.topic}[{event.partition}]@{event.offset}"
              f" attempts={event.attempts}: {event.error}")
    print(f"{name}: {len(report.applied)} applied, {len(report.failed)} still parked")
    return 1 if report.failed else 0


def cmd_openapi(settings: Settings, args: argparse.Namespace) -> int:
    """The app's OpenAPI document as JSON; builds the app but starts and connects nothing."""
    import msgspec
    from litestar.serialization import encode_json

    from api.app import create_app

    spec = msgspec.json.format(encode_json(create_app(settings).openapi_schema.to_schema()),
                               indent=2) + b"\n"
    if args.output:
        Path(args.output).write_bytes(spec)
    else:
        sys.stdout.buffer.write(spec)
    return 0


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    """Rotate the JWT signing key now; API processes reload their rings at once."""
    from datetime import UTC, datetime

    import psycopg
    import redis

    from infra.signing import CHANNEL, DEV_ENCRYPTION_KEY, rotate

    with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5) as conn:
        if args.action == "list":
            for row in conn.execute("SELECT kid, created_at, retired_at FROM signing_keys"
                                    " ORDER BY created_at DESC").fetchall():
                print(f"{row[0]}  created {row[1]:%Y-%m-%dT%H:%M:%SZ}"
                      f"  {'retired ' + format(row[2], '%Y-%m-%dT%H:%M:%SZ') if row[2] else 'current'}")
            return 0
        kid = rotate(conn, settings.encryption_key or DEV_ENCRYPTION_KEY, datetime.now(UTC))
    with redis.Redis.from_url(settings.redis_url, socket_timeout=2) as client:
        client.publish(f"{settings.redis_key_prefix}{CHANNEL}", "rotated")
    print(f"rotated: new signing key {kid}")
    return 0


RETENTION = ("SELECT count(*), min(created_at) FROM audit_entries"
             " WHERE created_at < now() - make_interval(days => %s)")


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Verify the audit hash chain (one organization's or every one's) against the event
    store's rows: prints the report as JSON and exits 1 at a break. ``retention`` only
    counts the entries past AUDIT_RETENTION_DAYS: pruning is an operator's step (README)."""
    import asyncio
    import json

    import psycopg

    from projections import chain_verify

    if args.action == "retention":
        return _retention(settings)

    async def run() -> list[chain_verify.Report]:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await chain_verify.check(conn, settings.chain_key,
                                            args.org)

    reports = asyncio.run(run())
    ok = all(r.ok for r in reports)
    print(json.dumps({"ok": ok, "organizations": [chain_verify.described(r) for r in reports]},
                     indent=2))
    return 0 if ok else 1


def _retention(settings: Settings) -> int:
    import json

    import psycopg

    with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
        row = conn.execute(RETENTION, (settings.audit_retention_days,)).fetchone()
    count, oldest = row if row else (0, None)
    print(json.dumps({"retentionDays": settings.audit_retention_days, "pastRetention": count,
                      "oldest": oldest.isoformat() if oldest else None}))
    return 0


def cmd_analytics(settings: Settings, args: argparse.Namespace) -> int:
    from infra.analyst import command

    return command(settings, args.query, as_json=args.json, max_rows=args.max_rows,
                   timeout_s=args.timeout)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "api": cmd_api,
    "relay": cmd_relay,
    "projector": cmd_projector,
    "bulk": cmd_bulk,
    "webhooks": cmd_webhooks,
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "alerts": cmd_alerts,
    "projections": cmd_projections,
    "openapi": cmd_openapi,
    "keys": cmd_keys,
    "audit": cmd_audit,
    "analytics": cmd_analytics,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chronicle", description="Chronicle processes and tools")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the HTTP API")
    sub.add_parser("relay", help="publish the event store to Kafka")
    projector = sub.add_parser("projector", help="run projections")
    projector.add_argument("--projection", action="append", help="run only these (repeatable)")
    sub.add_parser("bulk", help="apply submitted bulk operations")
    sub.add_parser("webhooks", help="deliver webhooks (fan-out and sender)")
    sub.add_parser("alerts", help="evaluate the alert rules every ALERT_EVALUATE_SECONDS")
    sub.add_parser("migrate", help="create tables and topics")
    sub.add_parser("seed", help="create the demo organization")
    projections = sub.add_parser(
        "projections", help="projection status, rebuilds and retries of parked events")
    projections.add_argument("action", choices=["status", "rebuild", "retry"])
    projections.add_argument("name", nargs="?", default="")
    openapi = sub.add_parser("openapi", help="write the OpenAPI document (JSON)")
    openapi.add_argument("--output", "-o", help="file to write (default: standard output)")
    keys = sub.add_parser("keys", help="JWT signing keys: rotate now, or list")
    keys.add_argument("action", choices=["rotate", "list"])
    audit = sub.add_parser("audit", help="verify the audit hash chain against the event store,"
                                         " or count the entries past their retention")
    audit.add_argument("action", choices=["verify", "retention"])
    audit.add_argument("--org", type=UUID, help="one organization's id (default: every organization)")
    analytics = sub.add_parser("analytics", help="ad-hoc read-only SQL on the ClickHouse tables")
    analytics.add_argument("action", choices=["sql"])
    analytics.add_argument("query", help="one SELECT (readonly=1: writes and DDL are refused)")
    analytics.add_argument("--json", action="store_true", help="one JSON object per row")
    analytics.add_argument("--max-rows", type=int, default=10_000, help="rows shown at most")
    analytics.add_argument("--timeout", type=int, default=60, help="seconds the query may run")
    return p


# The long-running processes that trace (TRACING_EXPORTER), each under its own service name.
TRACED = frozenset({"relay", "projector", "webhooks", "bulk", "alerts"})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"chronicle: bad setting: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if args.command in TRACED:  # the API's workers set up their own (api.app.worker_app)
        from infra import tracing

        tracing.setup(settings, f"chronicle-{args.command}")
    return COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
