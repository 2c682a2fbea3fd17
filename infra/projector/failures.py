"""How the projector tells an outage from a bad event."""

from __future__ import annotations

import psycopg
import redis
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseDown


class Rebuild(Exception):
    """The consumer must be closed and built again (the reason is the message)."""


def is_transient(exc: BaseException) -> bool:
    """A dependency that is down or busy (PostgreSQL, ClickHouse, Redis, SMTP, a socket), not the event.

    Such a failure is retried for as long as it lasts and never parks an event: only an error
    the event itself causes (bad data, a constraint, a trigger, a decode error) does.
    """
    return isinstance(exc, psycopg.OperationalError | OSError | ClickHouseDown
                      | redis.ConnectionError | redis.TimeoutError)
