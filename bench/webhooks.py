"""Webhook deliveries per second from the sender to a local receiver, and the sender's CPU
when idle. The outbox is filled directly (as the fan-out would fill it: one target per
endpoint, folded from its events, and deliveries on distinct streams), so the figure is the
sender's alone: claim, sign, POST over loopback, record.

    python -m bench.webhooks [--deliveries 2000] [--endpoints 4]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import psycopg

from bench.common import private_environment
from commands.organizations import OrganizationCommands
from commands.runner import Context
from domain.envelope import SYSTEM
from domain.organization.commands import CreateOrganization
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint.commands import RegisterEndpoint
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings
from infra.signing import DEV_ENCRYPTION_KEY
from infra.webhook_secrets import WebhookSecrets
from infra.webhooks.sender import Sender
from infra.webhooks.signer import Signer
from infra.webhooks.wiring import webhook_commands
from projections.webhook_tables import DELIVERIES, TARGETS

BAR_PER_S = 200.0  # our own bar: no target is set for it yet
IDLE_BAR_PERCENT = 1.0
BODY = msgspec.json.encode({"type": "resource.Created", "data": {"pad": "x" * 400}}).decode()


class Quick(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def endpoints(settings: Settings, store: EventStore, port: int, count: int) -> list[uuid.UUID]:
    """Registered through the use case; their targets written as the fan-out would."""
    ctx = Context(actor=SYSTEM, request_id="bench")
    org = OrganizationCommands(store).create(ctx, CreateOrganization(
        name="Bench", slug=f"wh-{uuid.uuid4().hex[:8]}")).stream_id
    hooks, made = webhook_commands(settings, store), []
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for _ in range(count):
            issued = hooks.register(ctx, RegisterEndpoint(
                organization_id=org, url=f"http://127.0.0.1:{port}/in", event_types=("*",),
                sealed_secret=""))
            endpoint = issued.result.stream_id
            state = wh.DECIDER.fold(wh.INITIAL, (e.event for e in store.load(endpoint)))
            conn.execute(f"INSERT INTO {TARGETS} (endpoint_id, organization_id,"
                         " registered_position, version, state) VALUES (%s, %s, 0, 1, %s)",
                         (endpoint, org, msgspec.json.encode(state).decode()))
            made.append(endpoint)
    return made


def fill(settings: Settings, made: list[uuid.UUID], total: int) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {DELIVERIES} (id, organization_id, endpoint_id, event_id, event_type,"
            " stream_id, stream_version, position, generation, body) SELECT %s, organization_id,"
            f" %s, %s, 'resource.Created', %s, 1, %s, %s, %s FROM {TARGETS}"
            " WHERE endpoint_id = %s",
            [(uuid.uuid4(), made[i % len(made)], uuid.uuid4(), uuid.uuid4(), i, uuid.UUID(int=0),
              BODY, made[i % len(made)]) for i in range(total)])


def delivered(settings: Settings) -> int:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {DELIVERIES} WHERE status = 'delivered'"
                           ).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=4)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quick)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with private_environment() as base:
        settings = msgspec.structs.replace(base, webhook_allowed_hosts="127.0.0.0/8")
        store = EventStore(datastore_from_url(settings.database_url, pool_size=2))
        made = endpoints(settings, store, server.server_address[1], args.endpoints)
        fill(settings, made, args.deliveries)
        sender = Sender(settings, Signer(WebhookSecrets(settings.encryption_key
                                                        or DEV_ENCRYPTION_KEY)),
                        lambda *_: None)
        thread = threading.Thread(target=sender.run, daemon=True)
        started = time.perf_counter()
        thread.start()
        while delivered(settings) < args.deliveries:
            time.sleep(0.05)
        rate = args.deliveries / (time.perf_counter() - started)
        time.sleep(1.0)
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(5.0)
        idle = 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)
        sender.stop()
        thread.join(timeout=40)
        store.close()
    server.shutdown()
    print(f"deliveries/s ({args.endpoints} endpoints, {settings.webhook_endpoint_concurrency} "
          f"in flight each): {rate:,.0f}  bar {BAR_PER_S:,.0f}  ratio {rate / BAR_PER_S:.2f}")
    print(f"idle CPU of the process (sender waiting): {idle:.2f} %  bar {IDLE_BAR_PERCENT} %"
          f"  ratio {idle / IDLE_BAR_PERCENT:.2f}")


if __name__ == "__main__":
    main()
