"""The mailer projection on a real SMTP server: one mail per event, and none lost while the
SMTP server is down (the batch is retried until it is sent, then checkpointed)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from commands.organizations import OrganizationCommands
from commands.runner import Context
from commands.users import UserCommands
from domain.envelope import SYSTEM, Envelope
from domain.organization.commands import CreateOrganization
from domain.user.commands import InviteUser
from domain.user.events import UserInvited, UserSuspended
from infra import credentials as cred
from infra.container import DEV_API_SECRET
from infra.eventstore import EventStore, datastore_from_url
from infra.mail import Mailer
from infra.relay import read_checkpoint
from infra.settings import Settings
from projections.base import Item
from projections.mailer import MailerProjection
from tests.conftest import Mailbox, Workers, free_port, wait_until


def item(event: object, version: int = 1) -> Item:
    stream = uuid.uuid4()
    return Item(10, Envelope(
        event_id=uuid.uuid4(), stream_id=stream, stream_type="user", version=version,
        organization_id=uuid.uuid4(), occurred_at=datetime.now(UTC), actor=SYSTEM,
        request_id="r", correlation_id="c", causation_id="c", event=event))  # type: ignore[arg-type]


def test_a_redelivered_event_is_mailed_once_and_other_events_not_at_all(
        settings: Settings, mailbox: Mailbox, db: psycopg.Connection) -> None:
    email = f"once-{uuid.uuid4().hex[:8]}@example.com"
    invited = item(UserInvited(organization_id=uuid.uuid4(), email=email, role="member",
                               invited_by="operator"))
    projection = MailerProjection(Mailer(settings), DEV_API_SECRET)
    for _ in range(2):
        with db.transaction(), db.cursor() as cur:
            projection.apply(cur, [invited, item(UserSuspended())])
    wait_until(lambda: mailbox.to(email))
    assert len(mailbox.to(email)) == 1
    token = mailbox.token_for(email)
    parsed = cred.parse_token(token)
    assert parsed is not None
    assert parsed[0].user_id == invited.envelope.stream_id
    assert cred.token_valid(DEV_API_SECRET, parsed[0], parsed[1], email, datetime.now(UTC))
    assert not cred.token_valid(DEV_API_SECRET, parsed[0], parsed[1], "other@example.com",
                                datetime.now(UTC))


@pytest.fixture
def down_smtp(isolated: Settings) -> Iterator[tuple[Settings, EventStore]]:
    from msgspec.structs import replace

    s = replace(isolated, smtp_host="127.0.0.1", smtp_port=free_port())
    store = EventStore(datastore_from_url(s.database_url, pool_size=2, max_overflow=2))
    yield s, store
    store.close()


def test_an_invitation_made_while_smtp_is_down_is_mailed_once_it_is_back(
        down_smtp: tuple[Settings, EventStore]) -> None:
    settings, store = down_smtp
    ctx = Context(actor=SYSTEM, request_id="mailer-outage")
    org = OrganizationCommands(store).create(ctx, CreateOrganization(
        name="Down", slug=f"down-{uuid.uuid4().hex[:8]}"))
    email = f"late-{uuid.uuid4().hex[:8]}@example.com"
    users = UserCommands(store, cred.Credentials(DEV_API_SECRET, "k"))
    invited = users.invite(ctx, org.stream_id, InviteUser(
        organization_id=org.stream_id, email=email, invited_by="operator"))
    assert invited.position is not None
    workers = Workers(settings, store).start()
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            wait_until(lambda: read_checkpoint(conn) >= invited.position,  # type: ignore[operator]
                       message="the invitation is in Kafka")
            time.sleep(3)  # the mailer meets the closed port, rolls back and retries
            assert conn.execute("SELECT count(*) FROM mail_sent").fetchone() == (0,)
            box = Mailbox(port=settings.smtp_port)
            box.controller.start()
            try:
                wait_until(lambda: box.to(email), timeout=30, message="the late mail")
                wait_until(lambda: conn.execute("SELECT count(*) FROM mail_sent").fetchone()
                           == (1,))
                time.sleep(1.5)
                assert len(box.to(email)) == 1
            finally:
                box.controller.stop()
    finally:
        workers.stop()
