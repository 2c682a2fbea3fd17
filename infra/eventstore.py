"""The event store: eventsourcing's PostgreSQL recorder behind a msgspec mapper of ours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow

from domain.envelope import Envelope, decode, encode

EVENTS_TABLE = "chronicle_events"
DEFAULT_MAX_EVENT_BYTES = 262_144


class ConcurrencyError(Exception):
    """Another writer appended to one of the streams first (stale expected version)."""


class DuplicateRecord(Exception):
    """A row written with the events (an idempotency record) already exists: nothing was written."""


# Runs inside the append's transaction once positions are known (for records that must be
# written atomically with the events, such as idempotency records).
AfterInsert = Callable[[Cursor[DictRow], Sequence[int]], None]


class ChronicleRecorder(PostgresApplicationRecorder):
    """The stock recorder, plus a hook inside the insert transaction after ids are assigned."""

    def _fetch_ids_after_insert_events(self, curs: Cursor[DictRow],
                                       stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        after: AfterInsert | None = kwargs.get("after_insert")
        if after is not None:
            after(curs, list(ids or []))
        return ids


class Recorded(NamedTuple):
    position: int
    envelope: Envelope
    data: bytes


class MsgspecMapper:
    """Maps envelopes to stored events: the topic is the event tag, the state its JSON bytes.

    The same bytes go to Kafka, so every consumer decodes with ``domain.envelope.decode``.
    """

    def to_stored_event(self, envelope: Envelope) -> StoredEvent:
        return StoredEvent(
            originator_id=envelope.stream_id,
            originator_version=envelope.version,
            topic=envelope.event_type,
            state=encode(envelope),
        )

    def to_envelope(self, stored: StoredEvent) -> Envelope:
        return decode(stored.state)


def datastore_from_url(url: str, *, pool_size: int = 5,
                       max_overflow: int = 10) -> PostgresDatastore:
    params = conninfo_to_dict(url)
    return PostgresDatastore(
        dbname=str(params.get("dbname", "chronicle")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", 5432)),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pre_ping=True,
        originator_id_type="uuid",
        lock_timeout=5,
    )


class EventStore:
    """Append envelopes atomically (optimistic concurrency per stream) and read them back."""

    def __init__(self, datastore: PostgresDatastore, table: str = EVENTS_TABLE, *,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.datastore = datastore
        # What the writers (commands/runner.py check_sizes) let through: under the topics'
        # max.message.bytes (infra/kafka.py), so the relay can publish every event.
        self.max_event_bytes = max_event_bytes
        self.recorder = ChronicleRecorder(datastore, events_table_name=table)
        self.mapper = MsgspecMapper()
        self.channel = self.recorder.channel_name

    def create_tables(self) -> None:
        self.recorder.create_table()

    def append(self, envelopes: Sequence[Envelope], *,
               after_insert: AfterInsert | None = None) -> list[int]:
        """Append in one transaction; returns the store positions, in order."""
        stored = [self.mapper.to_stored_event(e) for e in envelopes]
        try:
            positions = self.recorder.insert_events(stored, after_insert=after_insert)
        except IntegrityError as exc:
            if "idempotency_keys" in str(exc):
                raise DuplicateRecord(str(exc)) from exc
            raise ConcurrencyError(str(exc)) from exc
        return list(positions or [])

    def record(self, write: Callable[[Cursor[DictRow]], None]) -> None:
        """Write rows that belong with a command that appended no events (a no-op)."""
        try:
            with self.datastore.transaction(commit=True) as cur:
                write(cur)
        except IntegrityError as exc:
            raise DuplicateRecord(str(exc)) from exc

    def load(self, stream_id: UUID, *, lte: int | None = None) -> list[Envelope]:
        events = self.recorder.select_events(stream_id, lte=lte)
        return [self.mapper.to_envelope(e) for e in events]

    def owner(self, stream_id: UUID) -> UUID | None:
        """The organization a stream belongs to (its first event's), or None if none."""
        first = self.recorder.select_events(stream_id, limit=1)
        return self.mapper.to_envelope(first[0]).organization_id if first else None

    def read(self, after: int, limit: int, stop: int | None = None) -> list[Recorded]:
        """Events with position > ``after`` in position order (the notification log)."""
        notes = self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, inclusive_of_start=False)
        return [Recorded(n.id, self.mapper.to_envelope(n), n.state) for n in notes]

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.datastore.close()
