"""`chronicle webhooks`: the fan-out runner and the sender in one process, stopped together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from commands.runner import Context
from domain.envelope import SYSTEM
from domain.webhook_endpoint.commands import DisableEndpoint
from domain.webhook_endpoint.events import DisableReason
from infra.eventstore import EventStore, datastore_from_url
from infra.health import serve
from infra.projector.runner import Runner
from infra.settings import Settings
from infra.signing import DEV_ENCRYPTION_KEY
from infra.webhook_secrets import WebhookSecrets
from infra.webhooks.health import WebhookHealth
from infra.webhooks.sender import Sender
from infra.webhooks.signer import Signer
from infra.webhooks.wiring import webhook_commands
from projections.registry import OWN_PROCESS
from projections.webhook_fanout import NAME


def disabler(settings: Settings, store: EventStore) -> Callable[[UUID, DisableReason, str], None]:
    """Disabling is the endpoint's command, by the system: an event like any other."""
    commands = webhook_commands(settings, store)

    def disable(endpoint_id: UUID, reason: DisableReason, detail: str) -> None:
        ctx = Context(actor=SYSTEM, request_id=f"webhooks-{reason}-{endpoint_id}")
        commands.handle(ctx, None, endpoint_id, DisableEndpoint(reason=reason, detail=detail))

    return disable


def run(settings: Settings, on_sigterm: Callable[[Callable[[], None]], None]) -> int:
    store = EventStore(datastore_from_url(settings.database_url, pool_size=2, max_overflow=2))
    runner = Runner(settings, OWN_PROCESS[NAME].build(settings))
    signer = Signer(WebhookSecrets(settings.encryption_key or DEV_ENCRYPTION_KEY))
    sender = Sender(settings, signer, disabler(settings, store))
    threads = [threading.Thread(target=runner.run, name="webhook-fanout"),
               threading.Thread(target=sender.run, name="webhook-sender")]
    health = WebhookHealth(settings, runner, threads[0], sender, threads[1])
    server = serve(settings.host, settings.webhook_port, "webhooks", health.report,
                   health.metrics, [store.datastore.pool])

    def stop() -> None:
        runner.stop()
        sender.stop()

    on_sigterm(stop)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.shutdown()
    store.close()
    return 0
