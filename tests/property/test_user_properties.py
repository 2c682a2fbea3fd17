"""Properties of the user decider and the owner roster over random command sequences."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.roster import decider as roster
from domain.user import decider as user
from domain.user.commands import (
    AcceptInvitation,
    ChangeRole,
    ConfirmTwoFactor,
    DisableTwoFactor,
    InviteUser,
    ReactivateUser,
    RecordLogin,
    RemoveUser,
    StartTwoFactor,
    SuspendUser,
    UpdateProfile,
    VerifyEmail,
)
from domain.user.events import UserRegistered

ORG = uuid.UUID(int=9)
roles = st.sampled_from(["owner", "admin", "member", "viewer", "bogus", str(uuid.UUID(int=5))])
commands = st.one_of(
    st.builds(InviteUser, organization_id=st.just(ORG), email=st.sampled_from(
        ["a@x.io", "bad", " B@X.IO "]), role=roles, invited_by=st.just("op")),
    st.builds(AcceptInvitation, password_hash=st.just("h")),
    st.just(VerifyEmail()),
    st.builds(UpdateProfile, first_name=st.none() | st.text(max_size=5),
              avatar=st.none() | st.sampled_from(["", "https://a/b.png", "ftp://x"])),
    st.builds(ChangeRole, role=roles),
    st.builds(SuspendUser, reason=st.text(max_size=5)),
    st.just(ReactivateUser()),
    st.just(RemoveUser()),
    st.builds(StartTwoFactor, secret_ciphertext=st.just("c")),
    st.builds(ConfirmTwoFactor, code_ok=st.booleans()),
    st.builds(DisableTwoFactor, code_ok=st.booleans()),
    st.just(RecordLogin()),
)


def fold(events: list[Any], state: user.User = user.INITIAL) -> user.User:
    for event in events:
        state = user.evolve(state, event)
    return state


@given(st.lists(commands, max_size=25))
@settings(deadline=None)
def test_replaying_the_accepted_events_gives_the_live_state(sequence: list[Any]) -> None:
    live, log = user.INITIAL, []
    for command in sequence:
        try:
            events = user.decide(command, live)
        except DomainError:
            continue
        live = fold(events, live)
        log.extend(events)
    assert fold(log) == live
    assert live.status in ("absent", "inactive", "active", "suspended", "removed")
    assert not (live.two_factor_enabled and not live.two_factor_secret)


@given(st.lists(st.tuples(st.integers(0, 3), commands), max_size=40))
@settings(deadline=None)
def test_an_organization_never_loses_its_last_active_owner(
        steps: list[tuple[int, Any]]) -> None:
    """Commands applied as commands/users.py does: the roster moves with the user."""
    ids = [uuid.UUID(int=100 + i) for i in range(4)]
    first = fold([UserRegistered(organization_id=ORG, email="o@x.io")])
    users = {ids[0]: first, **dict.fromkeys(ids[1:], user.INITIAL)}
    team = roster.evolve(roster.INITIAL, roster.add(roster.INITIAL, ids[0])[0])
    for index, command in steps:
        uid = ids[index]
        before = users[uid]
        try:
            after = fold(user.decide(command, before), before)
            if before.is_active_owner != after.is_active_owner:
                change = roster.add if after.is_active_owner else roster.remove
                for event in change(team, uid):
                    team = roster.evolve(team, event)
        except DomainError:
            continue
        users[uid] = after
        assert team.owners == {i for i, u in users.items() if u.is_active_owner}
        assert team.owners, "at least one active owner"
