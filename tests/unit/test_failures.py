"""The projector's retry arithmetic and its line between an outage and a bad event."""

from __future__ import annotations

import psycopg
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseDown

from infra.backoff import Backoff
from infra.projector.failures import is_transient


def test_backoff_doubles_from_the_first_delay_and_stops_at_the_cap() -> None:
    backoff = Backoff(0.5, 4.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_a_dependency_outage_is_transient_and_never_parks_an_event() -> None:
    assert is_transient(psycopg.OperationalError("server closed the connection"))
    assert is_transient(ConnectionRefusedError())
    assert is_transient(ClickHouseDown("connection refused"))


def test_an_error_the_event_causes_is_not_transient() -> None:
    assert not is_transient(psycopg.errors.CheckViolation("no_poison"))
    assert not is_transient(psycopg.errors.UntranslatableCharacter("\\u0000"))
    assert not is_transient(ValueError("cannot decode"))
