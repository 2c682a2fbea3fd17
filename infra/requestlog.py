"""The request log's producer side: one record per API request, buffered, sent to Kafka.

A request only appends its record to a bounded deque (well under a microsecond); a task of the
API process takes what is there every REQUEST_LOG_FLUSH_MS and hands it to librdkafka as
messages of up to BATCH records each (one msgpack array: one produce call and one delivery
report per batch, not per request), which librdkafka sends on its own threads. Nothing on
the request path waits for Kafka: a full buffer, a full librdkafka queue or a delivery that
failed counts the records as dropped (exported as ``chronicle_request_log_dropped_total``),
and the request goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from functools import partial
from typing import Any
from uuid import UUID

import msgspec
from confluent_kafka import KafkaError, Message, Producer

from infra.settings import Settings

log = logging.getLogger("chronicle.requestlog")


class ApiRequest(msgspec.Struct, array_like=True, frozen=True):
    """The seed's ApiRequest as recorded: what was asked and answered, never a secret (no
    header but the user agent, no query, no body, no raw path: the route template)."""

    timestamp: float  # unix seconds, when the request arrived
    method: str
    route: str
    status: int
    duration_ms: float
    organization_id: UUID | None  # None for the operator and unauthenticated calls
    actor_kind: str  # api_key, user, oauth_client, operator, or ""
    actor_id: str
    ip: str
    user_agent: str
    bytes_in: int
    bytes_out: int
    request_id: str
    trace_id: str
    rate_limited: bool


# A record is at most ~1 KiB (the user agent is cut at MAX_USER_AGENT), so a batch stays well
# under the topic's max.message.bytes.
BATCH = 500
ENCODER = msgspec.msgpack.Encoder()
DECODER = msgspec.msgpack.Decoder(list[ApiRequest])


def producer_config(settings: Settings) -> dict[str, Any]:
    """Logs, not events: one acknowledgement is enough, and losing a record under an outage
    is allowed (counted) where slowing the API is not."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "acks": 1,
        "linger.ms": 50,
        "compression.type": "lz4",
        # Batches waiting in librdkafka; with the deque, what a Kafka outage can hold.
        "queue.buffering.max.messages": max(4, settings.request_log_buffer // BATCH),
        "message.timeout.ms": settings.kafka_delivery_timeout_ms,
        "socket.timeout.ms": min(settings.kafka_delivery_timeout_ms, 10_000),
    }


class RequestLog:
    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        self.topic = settings.api_requests_topic
        self.flush_s = settings.request_log_flush_ms / 1000
        self.buffer: deque[ApiRequest] = deque()
        self.capacity = settings.request_log_buffer
        # librdkafka's own lines (a broker refusing connections, say) through logging, so they
        # are JSON like every other line; they are served by poll(), on the flushing task.
        self.producer = producer or Producer({**producer_config(settings),
                                              "error_cb": self._on_error,
                                              "logger": logging.getLogger("chronicle.kafka")})
        self.dropped = 0
        self.sent = 0

    def record(self, entry: ApiRequest) -> None:
        """Called once a response is sent: keep the record, or count it dropped."""
        if len(self.buffer) >= self.capacity:
            self.dropped += 1
        else:
            self.buffer.append(entry)

    def flush(self) -> int:
        """Hand every buffered record to librdkafka; returns how many it took."""
        taken = 0
        buffer = self.buffer
        while buffer:
            batch = [buffer.popleft() for _ in range(min(len(buffer), BATCH))]
            try:
                self.producer.produce(self.topic, ENCODER.encode(batch),
                                      on_delivery=partial(self._delivered, len(batch)))
            except BufferError:  # librdkafka's own queue is full: Kafka is slow or away
                self.dropped += len(batch) + len(buffer)
                buffer.clear()
                break
            taken += len(batch)
        self.producer.poll(0)
        return taken

    def _delivered(self, count: int, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.sent += count
        else:
            self.dropped += count

    def _on_error(self, err: KafkaError) -> None:
        log.debug("request log producer: %s", err)

    async def follow(self) -> None:
        """The API process's flushing loop; on cancellation, a last bounded flush."""
        try:
            while True:
                await asyncio.sleep(self.flush_s)
                self.flush()
        finally:
            self.flush()
            await asyncio.to_thread(self.producer.flush, 2.0)

    @property
    def pending(self) -> int:
        """Records waiting in process, and batches waiting in librdkafka."""
        return len(self.buffer) + len(self.producer)
