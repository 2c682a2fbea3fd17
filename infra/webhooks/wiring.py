"""The webhook endpoint use cases built from the settings: secrets sealed under ENCRYPTION_KEY,
URLs through the SSRF guard (the API's container and the webhook process both build them)."""

from __future__ import annotations

from commands.ports import EventStore
from commands.webhook_endpoints import WebhookEndpointCommands
from infra.settings import Settings
from infra.signing import DEV_ENCRYPTION_KEY
from infra.ssrf import Guard
from infra.webhook_secrets import WebhookSecrets


def webhook_commands(settings: Settings, store: EventStore) -> WebhookEndpointCommands:
    return WebhookEndpointCommands(
        store, WebhookSecrets(settings.encryption_key or DEV_ENCRYPTION_KEY),
        Guard.from_setting(settings.webhook_allowed_hosts).check,
        retries=settings.command_retries)
