"""Settings: every knob from the environment, parsed once into a typed, frozen struct."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

ROOT = Path(__file__).resolve().parent.parent

# scheme://host[:port], as browsers send it in Origin (no path, no trailing slash).
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")

# Only for development and tests; production refuses to start without API_SECRET (below).
DEV_API_SECRET = "chronicle-development-api-secret"  # noqa: S105
DEV_AUDIT_CHAIN_KEY = "chronicle-development-audit-chain-key"
EVENT_HEADROOM = 16_384  # a Kafka record's key, headers and framing, beside the event
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Env = Literal["development", "test", "staging", "production"]


class SettingsError(ValueError):
    """A setting in the environment has a value Chronicle cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Env = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    api_workers: int = 2
    database_url: str = "postgresql://postgres@127.0.0.1:55432/chronicle"
    db_pool_min: int = 2
    db_pool_max: int = 20
    db_statement_timeout: int = 30000
    redis_url: str = "redis://127.0.0.1:56379/0"
    redis_key_prefix: str = "chronicle:"
    kafka_bootstrap_servers: str = "127.0.0.1:59092"
    kafka_topic_prefix: str = "chronicle"
    kafka_partitions: int = 4
    kafka_delivery_timeout_ms: int = 30000
    clickhouse_url: str = "http://127.0.0.1:58123/chronicle"
    admin_token: str = ""
    api_secret: str = ""
    encryption_key: str = ""  # seals the JWT signing keys at rest (AES-GCM, HKDF-derived)
    jwt_issuer: str = "https://chronicle.local"
    jwt_audience: str = "chronicle-api"
    jwt_access_ttl_s: int = 900
    jwt_refresh_ttl_s: int = 2_592_000
    jwt_key_rotation_days: int = 30
    redis_session_ttl: int = 3600
    # How stale an in-process credential cache (API keys) may get when an invalidation
    # message is lost: the command path and the projector both publish every change.
    credential_cache_ttl_s: int = 10
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_user: str = ""
    smtp_pass: str = ""
    smtp_from: str = "Chronicle <no-reply@chronicle.local>"
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 16_384
    max_json_depth: int = 32
    # The largest event a command may append (its encoded envelope); well under the topics'
    # max.message.bytes (KAFKA_MAX_MESSAGE_BYTES), so the relay can publish every event.
    max_event_bytes: int = 262_144
    kafka_max_message_bytes: int = 1_048_576
    cors_origins: str = ""
    behind_tls_proxy: bool = False
    # Peers (IPs or CIDR ranges) whose X-Forwarded-For / X-Forwarded-Proto are believed.
    trusted_proxies: str = ""
    # Refuse plain http: GET/HEAD are redirected (308) to https, other methods get 403.
    force_https: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    read_wait_timeout_ms: int = 5000
    command_retries: int = 5
    relay_batch_size: int = 500
    relay_poll_interval_ms: int = 500
    relay_linger_ms: int = 5  # after a NOTIFY, how long the relay gathers commits before reading
    relay_port: int = 8091
    projector_port: int = 8092
    alerts_port: int = 8096  # `chronicle alerts`' health and metrics
    projector_batch_size: int = 500
    # After a batch's first event, how long a runner waits for more before applying: under load
    # batches grow and their fixed cost (a transaction, the offsets, a ClickHouse insert) is
    # shared; an event alone waits this long at most.
    projector_linger_ms: int = 5
    projector_instance: str = "0"
    # A failing batch is retried this many times (backoff doubling from the first delay up to
    # the cap) before its events are applied one by one and the failing one is parked.
    projector_max_retries: int = 5
    projector_retry_backoff_ms: int = 200
    projector_max_backoff_ms: int = 10000
    # Health answers 503 when a projection has lag and has applied nothing for this long.
    projector_stall_seconds: float = 30.0
    # How long an idle runner blocks on the broker before looking at the relay position again.
    projector_idle_poll_ms: int = 1000
    relay_stall_seconds: float = 30.0
    # The bulk worker (`chronicle bulk`): its health port, and how long it waits when idle
    # before looking for submitted operations again (a projected submission wakes it sooner).
    bulk_port: int = 8095
    bulk_idle_poll_ms: int = 1000
    relay_max_backoff_ms: int = 10000
    # An event that waited this long for the relay or a projection means the pipeline is stalled.
    pipeline_stall_seconds: float = 30.0
    enable_rate_limiting: bool = True
    rate_limit_failure_mode: Literal["open", "closed"] = "open"
    rate_limit_redis_timeout_ms: int = 250
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    rate_limit_per_minute: int = 10_000
    rate_limit_per_hour: int = 200_000
    rate_limit_per_day: int = 2_000_000
    public_rate_limit_per_minute: int = 30
    # Signs the audit hash chain's checkpoints (HMAC-SHA256); see ``chain_key``.
    audit_chain_key: str = ""
    audit_checkpoint_seconds: float = 60.0
    # The seed's retention of audit entries: 7 years (pruning is an operator's job, README).
    audit_retention_days: int = 2557
    # How often `chronicle alerts` evaluates the enabled alert rules (infra/alerts.py).
    alert_evaluate_seconds: float = 30.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # Every API request's record, to chronicle.api-requests.v1 (infra/requestlog.py): at most
    # this many wait in process (more are counted as dropped), sent every flush interval.
    enable_request_log: bool = True
    request_log_buffer: int = 10_000
    request_log_flush_ms: int = 200
    # Prometheus: the request-duration histogram and GET /metrics (behind the operator token).
    enable_metrics: bool = True
    # Where the API workers of one server leave their metric snapshots (set by `chronicle api`
    # when it starts several workers; empty: this process's figures only).
    metrics_dir: str = ""
    # OpenTelemetry traces (infra/tracing.py): off (no provider, close to no cost), console
    # (spans as JSON on stdout) or otlp (OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, which
    # gets /v1/traces appended as OTel specifies). A trace begun here is kept with probability
    # TRACING_SAMPLE_RATIO; one begun upstream follows its parent's decision. Each process
    # names itself (chronicle-api, chronicle-relay, chronicle-projector, chronicle-webhooks,
    # ...) unless OTEL_SERVICE_NAME says otherwise.
    tracing_exporter: Literal["off", "console", "otlp"] = "off"
    otel_exporter_otlp_endpoint: str = "http://127.0.0.1:4318"
    tracing_sample_ratio: float = 1.0
    otel_service_name: str = ""
    # Usage metering (infra/metering.py): each API process measures every organization's month
    # this often, warns at 80 % of a plan quota and, under a blocking plan, refuses past it.
    enable_usage_limits: bool = True
    usage_refresh_s: float = 60.0
    # Live event streams (GET /v1/events/stream, /v1/ws): a heartbeat every STREAM_HEARTBEAT
    # seconds, at most STREAM_MAX_PER_ORG open streams per organization (across the API
    # processes, in Redis) and STREAM_MAX_PER_PROCESS in one process, and at most STREAM_QUEUE
    # events waiting for one client before it is dropped as too slow (a queue holds references
    # to events every client shares; it must take a whole relay batch, RELAY_BATCH_SIZE).
    stream_heartbeat_s: float = 15.0
    stream_max_per_org: int = 100
    stream_max_per_process: int = 10_000
    stream_queue: int = 2000
    # With no announcement from the relay for this long, the hub asks the relay's checkpoint.
    stream_sync_s: float = 2.0
    # The /dashboard page: its stream pushes a snapshot every DASHBOARD_INTERVAL seconds (one
    # computation per scope per API process, shared by its viewers), over the last
    # DASHBOARD_WINDOW_MINUTES; an operator's sign-in lasts DASHBOARD_SESSION_TTL seconds.
    dashboard_interval_s: float = 2.0
    dashboard_window_minutes: int = 15
    dashboard_session_ttl_s: int = 28800
    # Webhooks (infra/webhooks/): CIDRs and host names a destination may be despite the SSRF
    # guard; the retry schedule (the first attempt's delay first); how long an endpoint may
    # keep failing before it is disabled; one attempt's timeout; concurrent attempts per
    # endpoint and in all; how long a rolled secret's predecessor keeps signing by default.
    webhook_allowed_hosts: str = ""
    webhook_retry_schedule: str = "0,5s,5m,30m,2h,5h,10h,10h"
    webhook_disable_after: str = "5d"
    webhook_timeout_s: float = 10.0
    webhook_endpoint_concurrency: int = 4
    webhook_workers: int = 16
    webhook_secret_grace_s: int = 86400
    webhook_port: int = 8093
    data_dir: str = str(ROOT / "var")

    @property
    def chain_key(self) -> bytes:
        """AUDIT_CHAIN_KEY; else one derived from ENCRYPTION_KEY (required in production);
        else, in development, the dev key."""
        if self.audit_chain_key:
            return self.audit_chain_key.encode()
        if self.encryption_key:
            return hmac.new(self.encryption_key.encode(), b"chronicle-audit-chain",
                            hashlib.sha256).digest()
        return DEV_AUDIT_CHAIN_KEY.encode()

    def topic(self, aggregate: str) -> str:
        return f"{self.kafka_topic_prefix}.{aggregate}.v1"

    @property
    def api_requests_topic(self) -> str:
        return self.topic("api-requests")

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(p.strip(), strict=False)
                     for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """CORS_ORIGINS split on commas (empty: no cross-origin access)."""
        return tuple(o.strip() for o in self.cors_origins.split(",") if o.strip())


# Environment variable -> field. Names follow the seed's list (NODE_ENV became CHRONICLE_ENV).
ENV_NAMES: dict[str, str] = {
    "CHRONICLE_ENV": "env",
    "HOST": "host",
    "PORT": "port",
    "API_WORKERS": "api_workers",
    "DATABASE_URL": "database_url",
    "DB_POOL_MIN": "db_pool_min",
    "DB_POOL_MAX": "db_pool_max",
    "DB_STATEMENT_TIMEOUT": "db_statement_timeout",
    "REDIS_URL": "redis_url",
    "REDIS_KEY_PREFIX": "redis_key_prefix",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "KAFKA_TOPIC_PREFIX": "kafka_topic_prefix",
    "KAFKA_PARTITIONS": "kafka_partitions",
    "KAFKA_DELIVERY_TIMEOUT_MS": "kafka_delivery_timeout_ms",
    "CLICKHOUSE_URL": "clickhouse_url",
    "CHRONICLE_ADMIN_TOKEN": "admin_token",
    "API_SECRET": "api_secret",
    "ENCRYPTION_KEY": "encryption_key",
    "JWT_ISSUER": "jwt_issuer",
    "JWT_AUDIENCE": "jwt_audience",
    "JWT_ACCESS_TTL_S": "jwt_access_ttl_s",
    "JWT_REFRESH_TTL_S": "jwt_refresh_ttl_s",
    "JWT_KEY_ROTATION_DAYS": "jwt_key_rotation_days",
    "REDIS_SESSION_TTL": "redis_session_ttl",
    "CREDENTIAL_CACHE_TTL_S": "credential_cache_ttl_s",
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_USER": "smtp_user",
    "SMTP_PASS": "smtp_pass",
    "SMTP_FROM": "smtp_from",
    "SMTP_STARTTLS": "smtp_starttls",
    "SMTP_TIMEOUT_S": "smtp_timeout_s",
    "MAX_BODY_BYTES": "max_body_bytes",
    "MAX_HEADER_BYTES": "max_header_bytes",
    "MAX_JSON_DEPTH": "max_json_depth",
    "MAX_EVENT_BYTES": "max_event_bytes",
    "KAFKA_MAX_MESSAGE_BYTES": "kafka_max_message_bytes",
    "CORS_ORIGINS": "cors_origins",
    "BEHIND_TLS_PROXY": "behind_tls_proxy",
    "TRUSTED_PROXIES": "trusted_proxies",
    "FORCE_HTTPS": "force_https",
    "TLS_CERT_FILE": "tls_cert_file",
    "TLS_KEY_FILE": "tls_key_file",
    "READ_WAIT_TIMEOUT_MS": "read_wait_timeout_ms",
    "COMMAND_RETRIES": "command_retries",
    "RELAY_BATCH_SIZE": "relay_batch_size",
    "RELAY_POLL_INTERVAL_MS": "relay_poll_interval_ms",
    "RELAY_LINGER_MS": "relay_linger_ms",
    "RELAY_PORT": "relay_port",
    "PROJECTOR_PORT": "projector_port",
    "ALERTS_PORT": "alerts_port",
    "PROJECTOR_BATCH_SIZE": "projector_batch_size",
    "PROJECTOR_LINGER_MS": "projector_linger_ms",
    "PROJECTOR_INSTANCE": "projector_instance",
    "PROJECTOR_MAX_RETRIES": "projector_max_retries",
    "PROJECTOR_RETRY_BACKOFF_MS": "projector_retry_backoff_ms",
    "PROJECTOR_MAX_BACKOFF_MS": "projector_max_backoff_ms",
    "PROJECTOR_STALL_SECONDS": "projector_stall_seconds",
    "PROJECTOR_IDLE_POLL_MS": "projector_idle_poll_ms",
    "RELAY_STALL_SECONDS": "relay_stall_seconds",
    "BULK_PORT": "bulk_port",
    "BULK_IDLE_POLL_MS": "bulk_idle_poll_ms",
    "RELAY_MAX_BACKOFF_MS": "relay_max_backoff_ms",
    "PIPELINE_STALL_SECONDS": "pipeline_stall_seconds",
    "ENABLE_RATE_LIMITING": "enable_rate_limiting",
    "RATE_LIMIT_FAILURE_MODE": "rate_limit_failure_mode",
    "RATE_LIMIT_REDIS_TIMEOUT_MS": "rate_limit_redis_timeout_ms",
    "RATE_LIMIT_PER_SECOND": "rate_limit_per_second",
    "RATE_LIMIT_BURST": "rate_limit_burst",
    "RATE_LIMIT_PER_MINUTE": "rate_limit_per_minute",
    "RATE_LIMIT_PER_HOUR": "rate_limit_per_hour",
    "RATE_LIMIT_PER_DAY": "rate_limit_per_day",
    "PUBLIC_RATE_LIMIT_PER_MINUTE": "public_rate_limit_per_minute",
    "AUDIT_CHAIN_KEY": "audit_chain_key",
    "AUDIT_CHECKPOINT_SECONDS": "audit_checkpoint_seconds",
    "AUDIT_RETENTION_DAYS": "audit_retention_days",
    "ALERT_EVALUATE_SECONDS": "alert_evaluate_seconds",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "ENABLE_REQUEST_LOG": "enable_request_log",
    "REQUEST_LOG_BUFFER": "request_log_buffer",
    "REQUEST_LOG_FLUSH_MS": "request_log_flush_ms",
    "ENABLE_METRICS": "enable_metrics",
    "METRICS_DIR": "metrics_dir",
    "TRACING_EXPORTER": "tracing_exporter",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "otel_exporter_otlp_endpoint",
    "TRACING_SAMPLE_RATIO": "tracing_sample_ratio",
    "OTEL_SERVICE_NAME": "otel_service_name",
    "ENABLE_USAGE_LIMITS": "enable_usage_limits",
    "USAGE_REFRESH_S": "usage_refresh_s",
    "STREAM_HEARTBEAT": "stream_heartbeat_s",
    "STREAM_MAX_PER_ORG": "stream_max_per_org",
    "STREAM_MAX_PER_PROCESS": "stream_max_per_process",
    "STREAM_QUEUE": "stream_queue",
    "STREAM_SYNC_SECONDS": "stream_sync_s",
    "DASHBOARD_INTERVAL": "dashboard_interval_s",
    "DASHBOARD_WINDOW_MINUTES": "dashboard_window_minutes",
    "DASHBOARD_SESSION_TTL": "dashboard_session_ttl_s",
    "WEBHOOK_ALLOWED_HOSTS": "webhook_allowed_hosts",
    "WEBHOOK_RETRY_SCHEDULE": "webhook_retry_schedule",
    "WEBHOOK_DISABLE_AFTER": "webhook_disable_after",
    "WEBHOOK_TIMEOUT_S": "webhook_timeout_s",
    "WEBHOOK_ENDPOINT_CONCURRENCY": "webhook_endpoint_concurrency",
    "WEBHOOK_WORKERS": "webhook_workers",
    "WEBHOOK_SECRET_GRACE_S": "webhook_secret_grace_s",
    "WEBHOOK_PORT": "webhook_port",
    "CHRONICLE_DATA_DIR": "data_dir",
}

_POSITIVE = {
    "jwt_access_ttl_s", "jwt_refresh_ttl_s", "jwt_key_rotation_days", "redis_session_ttl",
    "credential_cache_ttl_s",
    "port", "api_workers", "kafka_delivery_timeout_ms", "db_pool_min", "db_pool_max",
    "kafka_partitions", "max_body_bytes", "max_header_bytes", "max_json_depth",
    "max_event_bytes", "kafka_max_message_bytes",
    "rate_limit_redis_timeout_ms", "rate_limit_per_second",
    "rate_limit_burst", "rate_limit_per_minute", "rate_limit_per_hour", "rate_limit_per_day",
    "relay_batch_size", "relay_poll_interval_ms", "projector_batch_size", "command_retries",
    "smtp_port", "smtp_timeout_s", "public_rate_limit_per_minute", "pipeline_stall_seconds",
    "projector_retry_backoff_ms", "projector_max_backoff_ms", "projector_stall_seconds",
    "projector_idle_poll_ms", "relay_stall_seconds", "relay_max_backoff_ms",
    "audit_retention_days", "bulk_idle_poll_ms",
    "request_log_buffer", "request_log_flush_ms", "usage_refresh_s",
    "stream_heartbeat_s", "stream_max_per_org", "stream_max_per_process", "stream_queue",
    "stream_sync_s", "dashboard_interval_s", "dashboard_window_minutes", "dashboard_session_ttl_s",
    "webhook_timeout_s", "webhook_endpoint_concurrency", "webhook_workers", "webhook_port",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment, raising SettingsError naming the bad variable."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for name, field in ENV_NAMES.items():
        if name in environ and environ[name] != "":
            raw[field] = environ[name]
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from None
    for field in _POSITIVE:
        if getattr(settings, field) <= 0:
            raise SettingsError(f"{_env_name(field)} must be a positive integer")
    if settings.env == "production" and len(settings.api_secret) < 32:
        raise SettingsError("API_SECRET must be set to at least 32 characters in production")
    if settings.env == "production" and len(settings.encryption_key) < 32:
        raise SettingsError("ENCRYPTION_KEY must be set to at least 32 characters in production")
    if settings.audit_checkpoint_seconds < 0:
        raise SettingsError("AUDIT_CHECKPOINT_SECONDS must not be negative")
    if not 0.0 <= settings.tracing_sample_ratio <= 1.0:
        raise SettingsError("TRACING_SAMPLE_RATIO must be between 0 and 1")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", settings.otel_exporter_otlp_endpoint):
        raise SettingsError("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s):// URL, like"
                            " http://collector:4318")
    if settings.alert_evaluate_seconds <= 0:
        raise SettingsError("ALERT_EVALUATE_SECONDS must be positive")
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise SettingsError("TLS_CERT_FILE and TLS_KEY_FILE must be given together")
    for name in ("tls_cert_file", "tls_key_file"):
        path = getattr(settings, name)
        if path and not os.path.isfile(path):
            raise SettingsError(f"{_env_name(name)}: no such file {path!r}")
    if settings.max_event_bytes + EVENT_HEADROOM > settings.kafka_max_message_bytes:
        raise SettingsError(
            f"MAX_EVENT_BYTES must stay at least {EVENT_HEADROOM} bytes under "
            "KAFKA_MAX_MESSAGE_BYTES (the key and headers travel with the event)")
    if settings.db_pool_min > settings.db_pool_max:
        raise SettingsError("DB_POOL_MIN must not exceed DB_POOL_MAX")
    try:
        settings.trusted_proxy_networks  # noqa: B018 - parsed here to fail early
    except ValueError as exc:
        raise SettingsError(f"TRUSTED_PROXIES: {exc}") from None
    _check_webhooks(settings)
    for origin in settings.cors_origin_list:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise SettingsError(f"CORS_ORIGINS: {origin!r} is not an origin like https://app.example.com")
    return settings


def _check_webhooks(settings: Settings) -> None:
    from infra.webhooks.schedule import duration, schedule

    try:
        schedule(settings.webhook_retry_schedule)
    except ValueError as exc:
        raise SettingsError(f"WEBHOOK_RETRY_SCHEDULE: {exc}") from None
    try:
        duration(settings.webhook_disable_after)
    except ValueError as exc:
        raise SettingsError(f"WEBHOOK_DISABLE_AFTER: {exc}") from None
    if not 0 <= settings.webhook_secret_grace_s <= 7 * 86400:
        raise SettingsError("WEBHOOK_SECRET_GRACE_S must be between 0 and 604800")


def _env_name(field: str) -> str:
    return next(name for name, f in ENV_NAMES.items() if f == field)


def _explain(message: str) -> str:
    # msgspec says "... - at `$.port`"; name the environment variable instead.
    if "`$." in message:
        field = message.rsplit("`$.", 1)[1].rstrip("`")
        return f"{_env_name(field)}: {message.split(' - at ')[0]}"
    return message
