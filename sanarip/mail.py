"""Mail delivery over SMTP (stdlib ``smtplib``/``email``), configured by ``SANARIP_SMTP_URL``.

``smtp://host:port`` is plain SMTP (a local relay), ``smtp+starttls://host:587`` upgrades with
STARTTLS, ``smtps://host:465`` is implicit TLS; ``user:password@`` in the URL logs in. A
message is built from stored parts, so a retry produces the same message with the same
``Message-ID``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

from sanarip.config import Settings
from sanarip.errors import SanaripError

TIMEOUT = 30.0


class MailNotConfigured(SanaripError):
    """No SMTP server is configured (SANARIP_SMTP_URL)."""


@dataclass(frozen=True)
class Letter:
    """One message's parts, as stored in the outbox."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str  # without angle brackets
    unsubscribe_url: str | None = None  # RFC 8058 one-click unsubscribe (POST) and RFC 2369 link
    date: object = None  # datetime; the first composition time, kept across retries


def build_message(letter: Letter, sender: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML) with the list headers."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = letter.to
    msg["Subject"] = letter.subject
    msg["Message-ID"] = f"<{letter.message_id}>"
    if letter.date is not None:
        msg["Date"] = format_datetime(letter.date)
    msg["Auto-Submitted"] = "auto-generated"
    if letter.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(letter.text)
    msg.add_alternative(letter.html, subtype="html")
    return msg


class Mailer:
    """One SMTP connection per batch of messages (opened on first send, closed by ``close``)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_url:
            raise MailNotConfigured("no SMTP server configured: set SANARIP_SMTP_URL (e.g. smtp://127.0.0.1:25)")
        self.url = urlsplit(settings.smtp_url)
        self.sender = settings.mail_from
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        host, scheme = self.url.hostname or "127.0.0.1", self.url.scheme
        context = ssl.create_default_context()
        if scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, self.url.port or 465, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, self.url.port or (587 if scheme == "smtp+starttls" else 25), timeout=TIMEOUT)
            if scheme == "smtp+starttls":
                smtp.starttls(context=context)
        if self.url.username:
            smtp.login(unquote(self.url.username), unquote(self.url.password or ""))
        return smtp

    def send(self, letter: Letter) -> None:
        """Hand one message to the server; raises OSError/SMTPException when it is not accepted."""
        if self._smtp is None:
            self._smtp = self._connect()
        self._smtp.send_message(build_message(letter, self.sender), from_addr=self.sender, to_addrs=[letter.to])

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None
