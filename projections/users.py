"""The users read model in PostgreSQL: one row per user, guarded by version (no secrets in it)."""

from __future__ import annotations

import msgspec
import psycopg
from psycopg import sql

from domain.user import decider as user_decider
from domain.user.events import (
    UserEmailVerified,
    UserInvitationAccepted,
    UserInvited,
    UserLoggedIn,
    UserProfileUpdated,
    UserReactivated,
    UserRegistered,
    UserRemoved,
    UserRoleChanged,
    UserSuspended,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "users"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("email", "text"),
    Column("first_name", "text", default="''"),
    Column("last_name", "text", default="''"),
    Column("avatar", "text", default="''"),
    Column("role", "text"),
    Column("permissions", "jsonb", default="'[]'"),
    Column("status", "text"),
    Column("email_verified", "boolean", default="false"),
    Column("two_factor_enabled", "boolean", default="false"),
    Column("last_login_at", "timestamptz", null=True),
    Column("metadata", "jsonb", default="'{}'"),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
    Column("accepted_at", "timestamptz", null=True),
    Column("removed_at", "timestamptz", null=True),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),
            Index("email_idx", ("email",))))

# Back to active if the user ever was (accepted or signed up), else still invited.
REACTIVATED = (
    "UPDATE {} SET status = CASE WHEN %s OR accepted_at IS NOT NULL"
    " THEN 'active' ELSE 'inactive' END, accepted_at = coalesce(accepted_at,"
    " CASE WHEN %s THEN %s::timestamptz END), version = %s, updated_at = %s"
    " WHERE id = %s AND version < %s")


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class UsersProjection(ReadModel):
    spec = SPEC
    stream_type = user_decider.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case UserInvited() | UserRegistered() as c:
                invited = isinstance(c, UserInvited)
                self.insert(cur, item, organization_id=c.organization_id, email=c.email,
                            first_name=c.first_name, last_name=c.last_name, role=c.role,
                            permissions=_json(c.permissions if isinstance(c, UserInvited) else ()),
                            status="inactive" if invited else "active",
                            accepted_at=None if invited else e.occurred_at)
            case UserEmailVerified():
                self.update(cur, item, email_verified=True)
            case UserInvitationAccepted() | UserReactivated():
                accepted = isinstance(e.event, UserInvitationAccepted)
                cur.execute(sql.SQL(REACTIVATED).format(self.table), (
                    accepted, accepted, e.occurred_at, e.version, e.occurred_at, e.stream_id,
                    e.version))
            case UserProfileUpdated() as p:
                self.update(cur, item, first_name=p.first_name, last_name=p.last_name,
                            avatar=p.avatar, metadata=_json(p.metadata))
            case UserRoleChanged() as r:
                self.update(cur, item, role=r.role, permissions=_json(r.permissions))
            case UserSuspended():
                self.update(cur, item, status="suspended")
            case UserRemoved():
                self.update(cur, item, status="removed", removed_at=e.occurred_at)
            case UserTwoFactorEnabled():
                self.update(cur, item, two_factor_enabled=True)
            case UserTwoFactorDisabled():
                self.update(cur, item, two_factor_enabled=False)
            case UserLoggedIn():
                self.update(cur, item, last_login_at=e.occurred_at)
            case _:
                self.update(cur, item)  # the version moves on (PasswordSet, 2FA enrollment)
