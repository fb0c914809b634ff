"""Outgoing email over SMTP (MAIL_* settings); with no MAIL_SERVER (development only) the message is logged."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from app.textcheck import CONTROL_CATEGORIES

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server (worth a retry)."""


_SPACES = re.compile(r"\s+")


def header_value(value: str) -> str:
    """`value` made safe for a mail header: every control character or line break becomes a space, runs
    of spaces one, ends trimmed. Headers built from data (a movie's title, an address) go through here,
    so a stray line break neither adds a header nor fails the message on every retry (the email library
    refuses CR and LF in a header: they would start a new one)."""
    cleaned = "".join(" " if unicodedata.category(ch) in CONTROL_CATEGORIES else ch for ch in value)
    return _SPACES.sub(" ", cleaned).strip()


def send_mail(to: str, subject: str, text: str, html: str | None = None,
              attachments: Sequence[tuple[str, str, bytes]] = (), message_id: str | None = None) -> None:
    """Send a message to one address: plain text, with an HTML alternative and attachments (filename,
    mime type, content) when given; `to`, `subject` and the filenames pass through header_value. Raises
    MailError when the SMTP server refuses or is down."""
    config = current_app.config
    to, subject = header_value(to), header_value(subject)
    server = config.get("MAIL_SERVER")
    if not server:
        # The embedded default has no mail server: print the message so a developer can sign up.
        log.warning("MAIL_SERVER is not set; not sending mail to %s. Subject: %s\n%s%s", to, subject, text,
                    "".join(f"\n[attached: {name}, {len(content)} bytes]" for name, _, content in attachments))
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    # a mail sent once per row names itself (a receiver drops a duplicate); others get a fresh id
    message["Message-ID"] = f"<{header_value(message_id)}@cineverse>" if message_id else make_msgid(domain="cineverse")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, mime, content in attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=header_value(filename))
    try:
        smtp = smtplib.SMTP(server, int(config["MAIL_PORT"]), timeout=int(config.get("MAIL_TIMEOUT_S", 10)))
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"could not send mail via {server}: {exc}") from exc
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        smtp.close()
        raise MailError(f"could not send mail via {server}: {exc}") from exc
    try:  # the server has the message: a failing QUIT must not make a retry send it again
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
    log.info("mail %r sent to %s", subject, to)
