"""The event store: eventsourcing's PostgreSQL recorder behind a msgspec mapper of ours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from commands.idempotency import Record
from commands.ports import ConcurrencyError, DuplicateRecord, Sealing
from domain.envelope import Envelope, decode, encode
from infra import idempotency, tracing
from infra.horizon import FinalHorizon
from infra.notifier import Notifier

EVENTS_TABLE = "chronicle_events"
DEFAULT_MAX_EVENT_BYTES = 262_144
SMALL_APPEND = 16  # appends of at most this many events send scalars, larger ones arrays


# How long a read waits for transactions holding ids to end before it returns what is final:
# long for one-off reads (any writing transaction in the cluster holds the horizon back),
# short for the relay, which reads again at once while it is behind.
READ_WAIT_SECONDS = 2.0
TAIL_WAIT_SECONDS = 0.05

# Runs inside the append's transaction once positions are known (for records that must be
# written atomically with the events, such as idempotency records).
AfterInsert = Callable[[Cursor[DictRow], Sequence[int]], None]


class ChronicleRecorder(PostgresApplicationRecorder):
    """The stock recorder without its table lock, plus a hook inside the insert transaction.

    Concurrent appends no longer serialize; optimistic concurrency still comes from the
    (originator_id, originator_version) key. The price is that ids commit out of order, so the
    notification log is read only up to the final horizon (``infra.horizon``), which needs
    every writer to hold an xid before it draws an id: ``nextval`` alone does not assign one
    (it does only when it WAL-logs, every 32nd value), so the INSERT takes it first.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str,
                 notify_in_transaction: bool = False) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.notify_in_transaction = notify_in_transaction
        self.lock_table_statements = []
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(events_table_name))
        self.sql_create_statements += [
            SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS transaction_id xid8 NOT NULL"
                " DEFAULT pg_current_xact_id()").format(table),
            SQL("ALTER SEQUENCE {} CACHE 1").format(
                Identifier(datastore.schema, f"{events_table_name}_notification_id_seq")),
        ]
        self.sequence = f"{datastore.schema}.{events_table_name}_notification_id_seq"
        # The materialized CTE is scanned before the projection that calls nextval (the
        # join needs its row), so the xid exists before any id is drawn; inlined, or called in
        # the select list, pg_current_xact_id() would run after the first nextval.
        self.insert_with_xid = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state,"
            " transaction_id) WITH x AS MATERIALIZED (SELECT pg_current_xact_id() AS xid)"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state, x.xid"
            " FROM x CROSS JOIN unnest(%s::uuid[], %s::bigint[], %s::text[], %b::bytea[])"
            " AS e(originator_id, originator_version, topic, state)"
            " RETURNING notification_id").format(table=table).as_bytes(None)
        # A command's few events go as a VALUES list of scalars: psycopg dumps those in C, while
        # each array costs a Python dumper (a third of a small append's CPU). One prepared
        # statement per count, up to SMALL_APPEND. Both are kept as bytes: psycopg renders a
        # Composed again on every execute.
        self.insert_values = [SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state,"
            " transaction_id) WITH x AS MATERIALIZED (SELECT pg_current_xact_id() AS xid)"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state, x.xid"
            " FROM x CROSS JOIN (VALUES {rows}) AS e(originator_id, originator_version, topic,"
            " state) RETURNING notification_id").format(table=table, rows=SQL(", ").join(
                [SQL("(%s::uuid, %s::bigint, %s::text, %b::bytea)")] * n)).as_bytes(None)
            for n in range(SMALL_APPEND + 1)]
        self.horizon = FinalHorizon(datastore, self.sequence)

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        """The library's notification log, never past the final horizon (so its own
        readers, such as ``subscribe``, cannot skip a late commit either)."""
        final = self.horizon.settle(READ_WAIT_SECONDS)
        return self.select_final(start, limit, final if stop is None else min(stop, final),
                                 topics, inclusive_of_start=inclusive_of_start)

    def select_final(self, start: int | None, limit: int, stop: int, topics: Sequence[str] = (),
                     *, inclusive_of_start: bool = True) -> Sequence[Notification]:
        """Up to ``stop``, which the caller knows to be final."""
        if start is not None and (stop < start or (stop == start and not inclusive_of_start)):
            return []
        return super().select_notifications(start, limit, stop, topics,
                                            inclusive_of_start=inclusive_of_start)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """One statement on its own without a hook (one round trip); with one, a transaction:
        the INSERT, then the hook's rows + COMMIT. Unlike the parent's, an exception raised
        by the hook rolls the events back.
        """
        if not stored_events:
            return []
        # Four arrays, not one of the composite type: psycopg dumps a composite row by row in
        # Python (text, the state hex-escaped), which was most of a 500-event append.
        rows = [[e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events], [e.state for e in stored_events]]
        after: AfterInsert | None = kwargs.get("after_insert")
        with self.datastore.get_connection() as conn:
            if after is None and not self.notify_in_transaction:
                return self._insert(conn.cursor(), rows)
            with conn.pipeline() as pipeline, conn.transaction():
                curs = conn.cursor()
                # A NOTIFY here takes a database-wide lock at commit (PreCommit_Notify) and
                # serializes writers again; by default it is sent after commit instead.
                if self.notify_in_transaction:
                    self._notify_channel(curs)
                ids = self._insert(curs, rows, pipeline.sync)
                if after is not None:
                    after(curs, ids)
        return ids

    def _insert(self, curs: Cursor[DictRow], rows: list[Any],
                sync: Callable[[], None] = lambda: None) -> list[int]:
        count = len(rows[0])
        if count <= SMALL_APPEND:
            curs.execute(self.insert_values[count],
                         [value for row in zip(*rows, strict=True) for value in row], prepare=True)
        else:
            curs.execute(self.insert_with_xid, rows, prepare=True)
        # Sync now, so a version conflict is raised here rather than at commit.
        sync()
        return [row["notification_id"] for row in curs.fetchall()]


def _sealed(sealing: Sealing, then: AfterInsert | None) -> AfterInsert:
    def write(cur: Cursor[DictRow], positions: Sequence[int]) -> None:
        idempotency.write(cur, sealing(max(positions)))
        if then is not None:
            then(cur, positions)

    return write


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
        # No ping per checkout (a round trip each, three per command): the recorder's methods
        # retry on InterfaceError/OperationalError, and the pool discards a broken connection.
        pre_ping=False,
        originator_id_type="uuid",
        lock_timeout=5,
    )


class EventStore:
    """Append envelopes atomically (optimistic concurrency per stream) and read them back:
    the use cases' port (commands/ports.py) on PostgreSQL, and the relay's notification log."""

    def __init__(self, datastore: PostgresDatastore, table: str = EVENTS_TABLE, *,
                 notify_in_transaction: bool = False,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.datastore = datastore
        # What the writers (commands/runner.py check_sizes) let through: under the topics'
        # max.message.bytes (infra/kafka.py), so the relay can publish every event.
        self.max_event_bytes = max_event_bytes
        self.recorder = ChronicleRecorder(datastore, events_table_name=table,
                                          notify_in_transaction=notify_in_transaction)
        self.mapper = MsgspecMapper()
        self.channel = self.recorder.channel_name
        self.horizon = self.recorder.horizon
        self.notifier = None if notify_in_transaction else Notifier(datastore, self.channel)
        self._select_many = SQL(
            "SELECT originator_id, state FROM {}.{} WHERE originator_id = ANY(%s)"
            " ORDER BY originator_id, originator_version").format(
            Identifier(datastore.schema), Identifier(table))

    def create_tables(self) -> None:
        """Create the table, or bring one made by the stock recorder to this shape."""
        self.recorder.create_table()

    def append(self, envelopes: Sequence[Envelope], *, sealing: Sealing | None = None,
               after_insert: AfterInsert | None = None) -> list[int]:
        """Append in one transaction, with the sealing's idempotency record and the rows
        ``after_insert`` writes; returns the store positions, in order."""
        if sealing is not None:
            after_insert = _sealed(sealing, after_insert)
        stored = [self.mapper.to_stored_event(e) for e in envelopes]
        try:
            with tracing.db("INSERT", EVENTS_TABLE):
                positions = self.recorder.insert_events(stored, after_insert=after_insert)
        except IntegrityError as exc:
            if "idempotency_keys" in str(exc):
                raise DuplicateRecord(str(exc)) from exc
            raise ConcurrencyError(str(exc)) from exc
        if self.notifier is not None:
            self.notifier.poke()
        return list(positions or [])

    def record(self, record: Record) -> None:
        """The idempotency record of a command that appended no events (a no-op)."""
        try:
            with self.datastore.transaction(commit=True) as cur:
                idempotency.write(cur, record)
        except IntegrityError as exc:
            raise DuplicateRecord(str(exc)) from exc

    def load(self, stream_id: UUID, *, lte: int | None = None) -> list[Envelope]:
        events = self.recorder.select_events(stream_id, lte=lte)
        return [self.mapper.to_envelope(e) for e in events]

    def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        found: dict[UUID, list[Envelope]] = {}
        if not stream_ids:
            return found
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_many, (list(stream_ids),), prepare=True)
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(decode(bytes(row["state"])))
        return found

    def owner(self, stream_id: UUID) -> UUID | None:
        """The organization a stream belongs to (its first event's), or None if none."""
        first = self.recorder.select_events(stream_id, limit=1)
        return self.mapper.to_envelope(first[0]).organization_id if first else None

    def read(self, after: int, limit: int, stop: int | None = None, *,
             wait: float = READ_WAIT_SECONDS) -> list[Recorded]:
        """Events with position > ``after`` in position order, never past the final horizon.

        Waits up to ``wait`` seconds for the transactions holding ids drawn before the call to
        end, so what is returned can never be preceded later by an event that commits late.
        """
        return self._select(after, limit, self.horizon.settle(wait), stop)

    def tail(self, after: int, limit: int) -> list[Recorded]:
        """The relay's read: what is final now, waiting only briefly (it reads again if behind).

        Ids above ``after`` already known final are read without probing; a wait is only for
        something new to become final (when there is nothing, or only rolled-back ids, to read).
        """
        final = self.horizon.state.final
        if final > after and (batch := self._select(after, limit, final)):
            return batch
        return self._select(after, limit, self.horizon.settle(
            TAIL_WAIT_SECONDS, past=max(after, final)))

    def _select(self, after: int, limit: int, final: int,
                stop: int | None = None) -> list[Recorded]:
        notes = self.recorder.select_final(after, limit, final if stop is None else min(stop, final),
                                           inclusive_of_start=False)
        return [Recorded(n.id, self.mapper.to_envelope(n), n.state) for n in notes]

    def behind(self) -> bool:
        """Ids were drawn that the last read could not pass yet: read again soon."""
        return self.horizon.behind()

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
        self.datastore.close()
