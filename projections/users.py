"""The users read model in PostgreSQL: one row per user, guarded by version (no secrets in it)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
from psycopg import sql

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
from projections.base import Item, Projection
from projections.rows import tenant_wall, update_if_newer

TABLE = "users"


def ddl(table: str = TABLE) -> list[sql.Composed]:
    t = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id uuid PRIMARY KEY, organization_id uuid NOT NULL, email text NOT NULL,"
            " first_name text NOT NULL DEFAULT '', last_name text NOT NULL DEFAULT '',"
            " avatar text NOT NULL DEFAULT '', role text NOT NULL,"
            " permissions jsonb NOT NULL DEFAULT '[]', status text NOT NULL,"
            " email_verified boolean NOT NULL DEFAULT false,"
            " two_factor_enabled boolean NOT NULL DEFAULT false, last_login_at timestamptz,"
            " metadata jsonb NOT NULL DEFAULT '{{}}', version bigint NOT NULL,"
            " created_position bigint NOT NULL, created_at timestamptz NOT NULL,"
            " updated_at timestamptz NOT NULL, accepted_at timestamptz, removed_at timestamptz)"
        ).format(t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (organization_id, created_position)").format(
            sql.Identifier(f"{table}_organization_idx"), t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (email)").format(
            sql.Identifier(f"{table}_email_idx"), t),
        *tenant_wall(table, "organization_id"),
    ]


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class UsersProjection(Projection):
    name = "users"
    aggregates: tuple[str, ...] = ("user",)

    def __init__(self, table: str = TABLE) -> None:
        self.table = sql.Identifier(table)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == "user":
                self._apply(cur, item)

    def _apply(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case UserInvited() | UserRegistered() as c:
                invited = isinstance(c, UserInvited)
                cur.execute(sql.SQL(
                    "INSERT INTO {} (id, organization_id, email, first_name, last_name, role,"
                    " permissions, status, version, created_position, created_at, updated_at,"
                    " accepted_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING").format(self.table), (
                    e.stream_id, c.organization_id, c.email, c.first_name, c.last_name, c.role,
                    _json(c.permissions if isinstance(c, UserInvited) else ()),
                    "inactive" if invited else "active", e.version, item.position,
                    e.occurred_at, e.occurred_at, None if invited else e.occurred_at))
            case UserEmailVerified():
                self._update(cur, item, email_verified=True)
            case UserInvitationAccepted() | UserReactivated():
                self._reactivated(cur, item)
            case UserProfileUpdated() as p:
                self._update(cur, item, first_name=p.first_name, last_name=p.last_name,
                             avatar=p.avatar, metadata=_json(p.metadata))
            case UserRoleChanged() as r:
                self._update(cur, item, role=r.role, permissions=_json(r.permissions))
            case UserSuspended():
                self._update(cur, item, status="suspended")
            case UserRemoved():
                self._update(cur, item, status="removed", removed_at=e.occurred_at)
            case UserTwoFactorEnabled():
                self._update(cur, item, two_factor_enabled=True)
            case UserTwoFactorDisabled():
                self._update(cur, item, two_factor_enabled=False)
            case UserLoggedIn():
                self._update(cur, item, last_login_at=e.occurred_at)
            case _:
                self._update(cur, item)  # the version moves on (PasswordSet, 2FA enrollment)

    def _reactivated(self, cur: psycopg.Cursor, item: Item) -> None:
        # Back to active if the user ever was (accepted or signed up), else still invited.
        e = item.envelope
        accepted = isinstance(e.event, UserInvitationAccepted)
        cur.execute(sql.SQL(
            "UPDATE {} SET status = CASE WHEN %s OR accepted_at IS NOT NULL"
            " THEN 'active' ELSE 'inactive' END, accepted_at = coalesce(accepted_at,"
            " CASE WHEN %s THEN %s::timestamptz END), version = %s, updated_at = %s"
            " WHERE id = %s AND version < %s").format(self.table),
            (accepted, accepted, e.occurred_at, e.version, e.occurred_at, e.stream_id,
             e.version))

    def _update(self, cur: psycopg.Cursor, item: Item, **columns: object) -> None:
        e = item.envelope
        update_if_newer(cur, self.table, e.stream_id, e.version, **columns,
                        updated_at=e.occurred_at)
