"""The buyer's mails (issue 16), to a real SMTP server on loopback: the confirmation with the PDF ticket
and an .ics event, once even when its task runs again; the reminder once; the refund notice with the
amount; every string from data escaped in the HTML part."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from icalendar import Calendar
from pypdf import PdfReader

from app.extensions import db
from app.models import Booking
from app.services.tickets import format_amount
from tests.accounts_support import inbox_fixture  # noqa: F401  (the inbox fixture)
from tests.api.test_waitlist import buy
from tests.factories import auth_headers, make_movie, make_showtime, make_user


def _task(app, name):
    return app.extensions["celery"].tasks[name]


def _parts(message):
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    return text, html, attachments


def test_the_confirmation_carries_the_ticket_and_a_calendar_event_once(app, client, ctx, inbox):
    buyer = make_user(email="fan@example.com", name="Asha <b>Fan</b>")
    movie = make_movie(title="Rain & <Thunder>", duration_min=125)
    showtime = make_showtime(movie)
    booking_id = buy(client, buyer, showtime.id, ["D4", "D5"])
    [message] = inbox.to("fan@example.com")
    reference = db.session.get(Booking, booking_id).reference
    assert message["Subject"] == "Your tickets: Rain & <Thunder>"
    text, html, attachments = _parts(message)
    assert "D4, D5" in text and reference in text
    assert "Rain &amp; &lt;Thunder&gt;" in html and "<Thunder>" not in html  # escaped
    assert "Asha &lt;b&gt;Fan&lt;/b&gt;" in html
    pdf = attachments[f"ticket-{reference}.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.get_content())).pages
    assert reference in "".join(page.extract_text() for page in pages)
    ics = attachments[f"{reference}.ics"]
    assert ics.get_content_type() == "text/calendar"
    [event] = Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rain & <Thunder>" and str(event["UID"]) == f"{reference}@cineverse"
    assert event.decoded("DTSTART") == showtime.starts_at
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=125)

    # the task delivered again (or the ticket rendered again) sends nothing more
    assert _task(app, "workers.mail.send_confirmation").apply(args=[booking_id]).result is False
    _task(app, "workers.tickets.render_ticket").apply(args=[booking_id])
    assert len(inbox.to("fan@example.com")) == 1


def test_a_refused_mail_is_sent_by_the_retry(app, client, ctx, inbox, monkeypatch):
    from workers import mail as mail_worker

    buyer = make_user(email="retry@example.com")
    showtime = make_showtime()
    calls = []
    real = mail_worker.send_mail

    def refuse_once(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:
            raise mail_worker.MailError("450 try later")
        return real(*args, **kwargs)

    monkeypatch.setattr(mail_worker, "send_mail", refuse_once)
    booking_id = buy(client, buyer, showtime.id, ["E1"])  # the eager task's retry runs at once
    assert calls == ["retry@example.com", "retry@example.com"]
    assert len(inbox.to("retry@example.com")) == 1
    assert db.session.get(Booking, booking_id).confirmation_mailed_at is not None


def test_the_reminder_goes_once_to_bookings_made_before_its_window(app, client, ctx, inbox):
    early, late = make_user(email="early@example.com"), make_user(email="late@example.com")
    soon = make_showtime(make_movie(title="Evening Show"),
                         starts_at=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2))
    early_id = buy(client, early, soon.id, ["F1"])
    buy(client, late, soon.id, ["F3"])
    db.session.execute(sa.update(Booking).where(Booking.id == early_id)
                       .values(created_at=datetime.now(timezone.utc) - timedelta(days=2)))
    db.session.commit()
    remind = _task(app, "workers.mail.send_reminders")
    assert remind.apply().result == 1
    assert remind.apply().result == 0
    [reminder] = [m for m in inbox.to("early@example.com") if m["Subject"].startswith("Today")]
    assert reminder["Subject"] == "Today: Evening Show"
    assert not [m for m in inbox.to("late@example.com") if m["Subject"].startswith("Today")]


def test_a_cancellation_sends_the_refund_notice_with_its_amount(app, client, ctx, inbox):
    buyer = make_user(email="cancel@example.com")
    showtime = make_showtime(make_movie(title="Late Train"))
    booking_id = buy(client, buyer, showtime.id, ["G1", "G2"])
    cancelled = client.post(f"/api/payments/bookings/{booking_id}/cancel", headers=auth_headers(buyer))
    assert cancelled.status_code == 200, cancelled.get_json()
    refunded = cancelled.get_json()["refund_amount"]
    assert refunded > 0
    notices = [m for m in inbox.to("cancel@example.com") if m["Subject"].startswith("Refund")]
    assert len(notices) == 1
    text, html, _ = _parts(notices[0])
    amount = format_amount(refunded)
    assert amount in notices[0]["Subject"] and amount in text and "Late Train" in html


def test_a_quit_that_fails_after_the_server_took_the_message_is_no_failure(app, ctx, inbox, monkeypatch):
    """The server accepted the message; its answer to QUIT is lost: no MailError, so no second copy."""
    import smtplib

    from app.services.mail import send_mail

    real_docmd = smtplib.SMTP.docmd

    def refusing_quit(self, cmd, args=""):
        if cmd.lower() == "quit":
            return 451, b"something went wrong after the message was queued"
        return real_docmd(self, cmd, args)

    monkeypatch.setattr(smtplib.SMTP, "docmd", refusing_quit)
    send_mail("once@example.com", "Hello", "text", message_id="confirmation.1")
    [message] = inbox.to("once@example.com")
    assert message["Message-ID"] == "<confirmation.1@cineverse>"
