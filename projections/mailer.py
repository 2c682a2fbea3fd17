"""The mailer: a consumer of user events that sends the invitation and verification mails.

Mail is sent from here, never from a request: the event is committed first, so no crash loses
a mail. Each mail is recorded in ``mail_sent`` by event id in the checkpoint's transaction, so
a redelivered event is not mailed again once its batch committed; a crash between sending and
committing sends it again (at-least-once). Tokens are derived from the event, never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import psycopg

from domain.user.events import UserInvited, UserRegistered
from infra import credentials as cred
from projections.base import Item, Projection

DDL = ("CREATE TABLE IF NOT EXISTS mail_sent ("
       " event_id uuid PRIMARY KEY, user_id uuid NOT NULL, kind text NOT NULL,"
       " recipient text NOT NULL, sent_at timestamptz NOT NULL DEFAULT now())")

INVITATION = """You have been invited to an organization on Chronicle.

Accept the invitation and choose a password (valid for 72 hours):

  POST /v1/auth/accept-invitation
  {{"token": "{token}", "password": "<12 to 256 characters>"}}

token: {token}
"""
VERIFICATION = """Welcome to Chronicle. Please verify your email address (valid for 72 hours):

  POST /v1/auth/verify-email
  {{"token": "{token}"}}

token: {token}
"""


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str, *, key: str) -> None: ...


class MailerProjection(Projection):
    name = "mailer"
    aggregates: tuple[str, ...] = ("user",)

    def __init__(self, sender: Sender, api_secret: str) -> None:
        self.sender, self.api_secret = sender, api_secret

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            e = item.envelope
            match e.event:
                case UserInvited(email=email):
                    kind, purpose, subject, template = (
                        "invitation", cred.INVITE, "You are invited to Chronicle", INVITATION)
                case UserRegistered(email=email):
                    kind, purpose, subject, template = (
                        "verification", cred.VERIFY, "Verify your email address", VERIFICATION)
                case _:
                    continue
            cur.execute("INSERT INTO mail_sent (event_id, user_id, kind, recipient)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
                        " RETURNING event_id", (e.event_id, e.stream_id, kind, email))
            if cur.fetchone() is None:
                continue  # mailed by an earlier, committed delivery
            token = cred.make_token(self.api_secret, purpose, e.stream_id, email, e.version,
                                    e.occurred_at)
            self.sender.send(email, subject, template.format(token=token), key=str(e.event_id))
