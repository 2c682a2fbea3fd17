"""SMTP adapter: sends one plain-text message through SMTP_HOST:SMTP_PORT (STARTTLS, login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from infra.settings import Settings


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, body: str, *, key: str) -> None:
        """Send, or raise: the caller retries. ``key`` makes the Message-ID stable, so a
        redelivered message can be recognised as the same one by the receiving side."""
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.smtp_from, to, subject
        message["Message-ID"] = make_msgid(idstring=key, domain="chronicle.local")
        message.set_content(body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_pass)
            smtp.send_message(message)
