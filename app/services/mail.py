"""Outgoing email over SMTP (MAIL_* settings); with no MAIL_SERVER (development only) the message is logged."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server (worth a retry)."""


def send_mail(to: str, subject: str, text: str) -> None:
    """Send a plain-text message to one address. Raises MailError when the SMTP server refuses or is down."""
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        # The embedded default has no mail server: print the message so a developer can sign up.
        log.warning("MAIL_SERVER is not set; not sending mail to %s. Subject: %s\n%s", to, subject, text)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="cineverse")
    message.set_content(text)
    try:
        with smtplib.SMTP(server, int(config["MAIL_PORT"]), timeout=int(config.get("MAIL_TIMEOUT_S", 10))) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"could not send mail via {server}: {exc}") from exc
    log.info("mail %r sent to %s", subject, to)
