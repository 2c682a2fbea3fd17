"""The ClickHouse users row the meter counts: each user's newest event says whether it is
removed, which holds because the user decider refuses every command on a removed user."""

from __future__ import annotations

import typing
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.envelope import SYSTEM, Envelope
from domain.errors import DomainError
from domain.user import decider as user
from domain.user.commands import (
    AcceptInvitation,
    ChangeRole,
    ConfirmTwoFactor,
    DisableTwoFactor,
    InviteUser,
    ReactivateUser,
    RecordLogin,
    RegisterOwner,
    RemoveUser,
    StartTwoFactor,
    SuspendUser,
    UpdateProfile,
    UserCommand,
    VerifyEmail,
)
from domain.user.events import UserInvited, UserLoggedIn, UserRemoved
from projections.base import Item
from projections.users_clickhouse import rows

ORG = uuid.UUID(int=7)
INVITED = UserInvited(organization_id=ORG, email="ann@example.com", role="member",
                      invited_by="operator")
EVERY_COMMAND: list[Any] = [
    InviteUser(organization_id=ORG, email="b@example.com", invited_by="operator"),
    RegisterOwner(organization_id=ORG, email="c@example.com", password_hash="h"),
    AcceptInvitation(password_hash="h"), VerifyEmail(), UpdateProfile(first_name="Bo"),
    ChangeRole(role="admin"), SuspendUser(), ReactivateUser(), RemoveUser(),
    StartTwoFactor(secret_ciphertext="s"), ConfirmTwoFactor(code_ok=True),
    DisableTwoFactor(code_ok=True), RecordLogin(),
]


def test_the_list_names_every_user_command() -> None:
    assert {type(c) for c in EVERY_COMMAND} == set(typing.get_args(UserCommand))


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_on_a_removed_user_is_refused_so_removal_is_its_last_event(
        command: UserCommand) -> None:
    removed = user.DECIDER.fold(user.INITIAL, [INVITED, UserRemoved(email=INVITED.email)])
    with pytest.raises(DomainError):
        user.decide(command, removed)


def _item(stream: uuid.UUID, version: int, event: Any, position: int) -> Item:
    return Item(position, Envelope(
        event_id=uuid.uuid4(), stream_id=stream, stream_type="user", version=version,
        organization_id=ORG, occurred_at=datetime.now(UTC), actor=SYSTEM, request_id="r",
        correlation_id="c", causation_id="c", event=event))


def test_a_batch_writes_each_users_newest_event_as_its_row_whatever_the_order() -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    batch = [_item(ann, 2, UserRemoved(email="ann@example.com"), 12),
             _item(ann, 1, INVITED, 10), _item(bob, 1, INVITED, 11),
             _item(bob, 2, UserLoggedIn(), 13)]
    assert sorted(rows(batch), key=lambda r: r[3]) == [
        [ORG, ann, 2, 12, True], [ORG, bob, 2, 13, False]]
