"""The audit hash chain on the real pipeline (relay → Kafka → the chain consumer): an untouched
log verifies; an edited, a deleted or a slipped-in event row, and a forged checkpoint, are
each pinned to where they happened."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from commands.runner import Context, envelopes, write
from domain.envelope import SYSTEM, encode
from domain.organization import decider as org
from domain.organization.events import OrganizationCreated, OrganizationRenamed
from domain.organization.events import OrganizationSettings as Settings_
from infra.cli import main
from infra.eventstore import EventStore, datastore_from_url
from infra.projector.runner import Runner
from infra.relay import Relay
from infra.settings import Settings
from projections import chain_verify
from projections.registry import PROJECTIONS
from tests.conftest import env_for, wait_until


class Chained:
    """An environment of its own with the relay and the chain consumer running."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = EventStore(datastore_from_url(settings.database_url))
        self.relay = Relay(settings, self.store)
        self.runner = Runner(settings, PROJECTIONS["audit_chain"].build(settings))
        self.threads = [threading.Thread(target=w.run, daemon=True)
                        for w in (self.relay, self.runner)]
        for t in self.threads:
            t.start()

    def organization(self, renames: int = 3) -> tuple[uuid.UUID, list[int]]:
        """A new organization's stream: created, then renamed; its events' positions."""
        org_id = uuid.uuid4()
        events: list[Any] = [OrganizationCreated(name="n0", slug=f"s-{org_id.hex[:8]}",
                                                 plan="free", settings=Settings_())]
        events += [OrganizationRenamed(name=f"n{i}", previous_name=f"n{i - 1}")
                   for i in range(1, renames + 1)]
        ctx = Context(actor=SYSTEM, request_id=f"req_{org_id.hex}")
        positions = self.store.append(envelopes(ctx, [write(org.DECIDER, org_id, org_id, 0,
                                                            events)]))
        self.wait(max(positions))
        return org_id, positions

    def wait(self, position: int) -> None:
        def chained() -> bool:
            with psycopg.connect(self.settings.database_url) as conn:
                row = conn.execute("SELECT position FROM audit_chain_head").fetchone()
                return bool(row and row[0] >= position)

        wait_until(chained, timeout=60, message=f"the chain to reach {position}")

    def verify(self, organization_id: uuid.UUID | None = None,
               key: bytes | None = None) -> list[chain_verify.Report]:
        async def run() -> list[chain_verify.Report]:
            async with await psycopg.AsyncConnection.connect(self.settings.database_url) as c:
                return await chain_verify.check(c, key or self.settings.chain_key,
                                                organization_id)

        return asyncio.run(run())

    def sql(self, statement: str, *params: object) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            conn.execute(statement, params)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.relay.stop()
        self.runner.stop()
        for t in self.threads:
            t.join(timeout=30)
        self.store.close()


@pytest.fixture
def chained(isolated: Settings) -> Iterator[Chained]:
    c = Chained(isolated)
    yield c
    c.stop()


def test_an_untouched_log_verifies_for_every_organization_with_a_signed_checkpoint(
        chained: Chained) -> None:
    first, positions = chained.organization()
    second, _ = chained.organization(renames=1)
    reports = {r.organization_id: r for r in chained.verify()}
    assert reports[first].ok, reports[first]
    assert reports[second].ok, reports[second]
    assert (reports[first].events, reports[first].head_position) == (4, max(positions))
    assert reports[first].checkpoints >= 1


def test_an_edited_event_row_breaks_the_chain_exactly_at_that_event(chained: Chained) -> None:
    org_id, positions = chained.organization()
    other, _ = chained.organization()
    chained.sql("UPDATE chronicle_events SET state = convert_to(replace(convert_from(state,"
                " 'UTF8'), '\"n2\"', '\"nX\"'), 'UTF8') WHERE notification_id = %s",
                positions[2])
    report = chained.verify(org_id)[0]
    assert report.break_ == chain_verify.Break("modified", positions[2], org_id, 3, 3)
    assert report.events == 2  # the two events before it still verify
    assert chained.verify(other)[0].ok


def test_a_deleted_event_row_is_named_as_the_gap(chained: Chained) -> None:
    org_id, positions = chained.organization()
    chained.sql("DELETE FROM chronicle_events WHERE notification_id = %s", positions[1])
    report = chained.verify(org_id)[0]
    assert report.break_ == chain_verify.Break("missing", positions[1], org_id, 2, 2)


def test_an_event_row_slipped_in_under_the_chains_head_is_named(chained: Chained) -> None:
    org_id, _ = chained.organization(renames=1)
    forged = envelopes(Context(actor=SYSTEM, request_id="forged"), [write(
        org.DECIDER, org_id, org_id, 9, [OrganizationRenamed(name="x", previous_name="y")])])[0]
    chained.sql("INSERT INTO chronicle_events (notification_id, originator_id,"
                " originator_version, topic, state) VALUES (0, %s, 10, %s, %s)",
                org_id, forged.event_type, encode(forged))
    report = chained.verify(org_id)[0]
    assert report.break_ == chain_verify.Break("inserted", 0, org_id, 10)


def test_a_forged_checkpoint_signature_is_detected(chained: Chained) -> None:
    org_id, positions = chained.organization()
    assert chained.verify(org_id)[0].ok
    # Someone able to lift the append-only trigger re-signs the head without the key.
    chained.sql("ALTER TABLE audit_checkpoints DISABLE TRIGGER append_only")
    chained.sql("UPDATE audit_checkpoints SET signature = sha256(signature)"
                " WHERE organization_id = %s", org_id)
    chained.sql("ALTER TABLE audit_checkpoints ENABLE TRIGGER append_only")
    report = chained.verify(org_id)[0]
    assert report.break_ == chain_verify.Break("checkpoint_forged", max(positions), seq=4)
    assert chained.verify(org_id, key=b"another key")[0].break_ is not None


def test_the_chain_tables_refuse_updates_and_deletes(chained: Chained) -> None:
    chained.organization(renames=0)
    for statement in ("UPDATE audit_chain SET digest = '\\x00'", "DELETE FROM audit_chain",
                      "DELETE FROM audit_checkpoints", "TRUNCATE audit_chain"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            chained.sql(statement)


def test_the_command_line_verification_exits_1_and_names_the_break(
        chained: Chained, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    org_id, positions = chained.organization()
    for name, value in env_for(chained.settings).items():
        monkeypatch.setenv(name, value)
    assert main(["audit", "verify", "--org", str(org_id)]) == 0
    chained.sql("DELETE FROM chronicle_events WHERE notification_id = %s", positions[0])
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert '"kind": "missing"' in out
    assert f'"position": {positions[0]}' in out


def test_the_retention_report_counts_entries_past_the_retention_and_deletes_nothing(
        chained: Chained, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env_for(chained.settings, AUDIT_RETENTION_DAYS="1").items():
        monkeypatch.setenv(name, value)
    old = ("INSERT INTO audit_entries (id, organization_id, stream_id, stream_type, event_type,"
           " version, created_position, created_at, updated_at, actor_kind, actor_id, action,"
           " resource, resource_id, ip_address, user_agent, request_id, source) VALUES (%s, %s,"
           " %s, 'organization', 'organization.Renamed', 2, 1, now() - interval '2 days',"
           " now(), 'system', 'chronicle', 'rename', 'organizations', 'x', '', '', 'r',"
           " 'system')")
    chained.sql(old, uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    assert main(["audit", "retention"]) == 0
    assert '"pastRetention": 1' in capsys.readouterr().out
    with psycopg.connect(chained.settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone() == (1,)
