"""The event store port (commands/ports.py) in memory: for use-case tests that run in
milliseconds. The same guarantees as PostgreSQL's where the use cases rely on them: one
version per stream position (a taken one fails the whole append), the idempotency record in
the same all-or-nothing append, events stored as the bytes the real store keeps.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from commands.idempotency import Claim, Record
from commands.ports import ConcurrencyError, DuplicateRecord, Sealing
from domain.envelope import Envelope, decode, encode
from infra.eventstore import DEFAULT_MAX_EVENT_BYTES
from infra.idempotency import Saved

TTL = timedelta(hours=24)  # as infra/idempotency.py's TTL


class MemoryEventStore:
    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.streams: dict[UUID, list[bytes]] = {}
        self.log: list[bytes] = []  # every event in position order (position = index + 1)
        self.records: dict[tuple[str, str], tuple[Saved, datetime]] = {}
        self._lock = threading.Lock()

    def load(self, stream_id: UUID, *, lte: int | None = None) -> list[Envelope]:
        with self._lock:
            stored = list(self.streams.get(stream_id, ()))
        envelopes = [decode(data) for data in stored]
        return [e for e in envelopes if lte is None or e.version <= lte]

    def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        found = {stream_id: self.load(stream_id) for stream_id in dict.fromkeys(stream_ids)}
        return {stream_id: envelopes for stream_id, envelopes in found.items() if envelopes}

    def append(self, envelopes: Sequence[Envelope], *, sealing: Sealing | None = None,
               encoded: Sequence[bytes] | None = None) -> list[int]:
        with self._lock:
            self._check_versions(envelopes)
            record = sealing(len(self.log) + len(envelopes)) if sealing is not None else None
            if record is not None:
                self._check_live(record.claim)
            positions = []
            for i, envelope in enumerate(envelopes):
                data = encode(envelope) if encoded is None else encoded[i]
                self.streams.setdefault(envelope.stream_id, []).append(data)
                self.log.append(data)
                positions.append(len(self.log))
            if record is not None:
                self._keep(record)
            return positions

    def record(self, record: Record) -> None:
        with self._lock:
            self._check_live(record.claim)
            self._keep(record)

    def saved(self, claim: Claim) -> Saved | None:
        """The live idempotency record under the claim's scope and key, as the API reads it."""
        with self._lock:
            found = self.records.get((claim.scope, claim.key))
        return found[0] if found is not None and found[1] > datetime.now(UTC) else None

    def _check_versions(self, envelopes: Sequence[Envelope]) -> None:
        heads = {sid: len(events) for sid, events in self.streams.items()}
        for envelope in envelopes:
            head = heads.get(envelope.stream_id, 0)
            if envelope.version != head + 1:
                raise ConcurrencyError(f"stream {envelope.stream_id} is at version {head}, "
                                       f"not {envelope.version - 1}")
            heads[envelope.stream_id] = envelope.version

    def _check_live(self, claim: Claim) -> None:
        found = self.records.get((claim.scope, claim.key))
        if found is not None and found[1] > datetime.now(UTC):
            raise DuplicateRecord(f"idempotency key {claim.key!r} is recorded")

    def _keep(self, record: Record) -> None:
        claim, rendered = record
        self.records[(claim.scope, claim.key)] = (
            Saved(claim.fingerprint, rendered.status, rendered.body, dict(rendered.headers)),
            datetime.now(UTC) + TTL)
