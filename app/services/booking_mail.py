"""The buyer's mails about a booking: the confirmation (the PDF ticket attached, and an .ics calendar event),
the reminder REMINDER_BEFORE_S before the show, and the refund notice. Each in plain text and HTML (every
string from data escaped by Jinja's autoescape), and each sent once: a task claims the row's mark
(`UPDATE ... WHERE <mark> IS NULL`) before it sends and gives it back when the SMTP server refuses, so a
redelivered or concurrent task never sends it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar, Event
from jinja2 import Environment

from app.extensions import db
from app.models import Booking, BookingState, Order, Payment, Refund, RefundState, Showtime, ShowtimeStatus, User
from app.services.tickets import format_amount, local_show_time, ticket_file

_JINJA = Environment(autoescape=True)  # noqa: S701  (autoescape is on: every value is escaped)

_HTML = _JINJA.from_string("""<!doctype html>
<html><body style="font-family: sans-serif; color: #111">
<p>Hello {{ name }},</p>
{% for line in lines %}<p>{{ line }}</p>{% endfor %}
<table cellpadding="4">{% for label, value in facts %}<tr><th align="left">{{ label }}</th><td>{{ value }}</td></tr>
{% endfor %}</table>
<p><a href="{{ link }}">{{ link }}</a></p>
<p style="color: #555">CineVerse</p>
</body></html>""")


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (filename, mime type, content)


def _compose(to: str, name: str, subject: str, lines: list[str], facts: list[tuple[str, str]], link: str,
             attachments: list[tuple[str, str, bytes]] | None = None) -> Mail:
    text = "\n\n".join([f"Hello {name},", *lines, "\n".join(f"{k}: {v}" for k, v in facts), link, "CineVerse"]) + "\n"
    html = _HTML.render(name=name, lines=lines, facts=facts, link=link)
    return Mail(to, subject, text, html, attachments or [])


def _showtime_facts(booking: Booking, showtime: Showtime) -> list[tuple[str, str]]:
    screen = showtime.screen
    return [("Movie", showtime.movie.title), ("When", local_show_time(showtime.starts_at)),
            ("Where", f"{screen.theatre.name}, {screen.name}, {screen.theatre.city}"),
            ("Seats", ", ".join(booking.seat_labels)), ("Booking", booking.reference)]


def calendar_event(booking: Booking, showtime: Showtime) -> bytes:
    """The show as an iCalendar event (RFC 5545), one VEVENT whose UID is the booking's."""
    screen = showtime.screen
    calendar = Calendar()
    calendar.add("prodid", "-//CineVerse//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.reference}@cineverse")
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", showtime.starts_at)
    event.add("dtend", showtime.starts_at + timedelta(minutes=int(showtime.movie.duration_min or 120)))
    event.add("summary", showtime.movie.title)
    event.add("location", f"{screen.theatre.name}, {screen.name}, {screen.theatre.address}, {screen.theatre.city}")
    event.add("description", f"Seats {', '.join(booking.seat_labels)}. Booking {booking.reference}.")
    calendar.add_component(event)
    return calendar.to_ical()


def _booking(booking_id: int) -> tuple[Booking, Showtime, User] | None:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        return None
    showtime = db.session.get(Showtime, booking.showtime_id)
    user = db.session.get(User, booking.user_id)
    assert showtime is not None and user is not None
    return booking, showtime, user


def _link(booking: Booking) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/bookings"


def confirmation(booking_id: int) -> Mail | None:
    """The confirmation of a confirmed booking whose ticket is rendered (None otherwise: nothing to send yet)."""
    found = _booking(booking_id)
    if found is None or found[0].state != BookingState.CONFIRMED:
        return None
    booking, showtime, user = found
    pdf = ticket_file(booking)
    if pdf is None:
        return None
    return _compose(user.email, user.name, f"Your tickets: {showtime.movie.title}",
                    ["Your booking is confirmed. The ticket is attached; show its QR code at the door.",
                     f"Paid {format_amount(booking.amount, booking.currency)}."],
                    _showtime_facts(booking, showtime), _link(booking),
                    [(f"ticket-{booking.reference}.pdf", "application/pdf", pdf.read_bytes()),
                     (f"{booking.reference}.ics", "text/calendar", calendar_event(booking, showtime))])


def reminder(booking_id: int) -> Mail | None:
    found = _booking(booking_id)
    if found is None or found[0].state != BookingState.CONFIRMED or found[1].status != ShowtimeStatus.SCHEDULED:
        return None
    booking, showtime, user = found
    return _compose(user.email, user.name, f"Today: {showtime.movie.title}",
                    ["A reminder of your show. Your ticket is on your bookings page."],
                    _showtime_facts(booking, showtime), _link(booking))


def refund_notice(refund_id: int) -> Mail | None:
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.state != RefundState.PROCESSED:
        return None
    payment = db.session.get(Payment, refund.payment_id)
    order = db.session.get(Order, payment.order_id) if payment is not None else None
    if order is None:
        return None
    user = db.session.get(User, order.user_id)
    showtime = db.session.get(Showtime, order.showtime_id)
    assert user is not None and showtime is not None
    booking = db.session.scalar(sa.select(Booking).where(Booking.order_id == order.id))
    facts = [("Movie", showtime.movie.title), ("When", local_show_time(showtime.starts_at)),
             ("Seats", ", ".join(order.seat_labels)), ("Refunded", format_amount(refund.amount, order.currency))]
    if booking is not None:
        facts.append(("Booking", booking.reference))
    return _compose(user.email, user.name, f"Refund of {format_amount(refund.amount, order.currency)}: "
                    f"{showtime.movie.title}",
                    [f"We have refunded {format_amount(refund.amount, order.currency)} to the card or account you "
                     "paid with; your bank shows it within 5-7 working days."],
                    facts, f"{current_app.config['PUBLIC_BASE_URL']}/bookings")


# ---- once each ---------------------------------------------------------------------------------------

_MARKS: dict[str, tuple[Any, Any]] = {
    "confirmation": (Booking, Booking.confirmation_mailed_at),
    "reminder": (Booking, Booking.reminder_mailed_at),
    "refund": (Refund, Refund.notice_mailed_at),
}


def claim(kind: str, row_id: int) -> bool:
    """Take the mail for this run: whether it was still to send (the caller commits)."""
    model, mark = _MARKS[kind]
    claimed = db.session.execute(sa.update(model).where(model.id == row_id, mark.is_(None))
                                 .values({mark: datetime.now(timezone.utc)}).returning(model.id)).first()
    return claimed is not None


def unclaim(kind: str, row_id: int) -> None:
    """The mail could not be sent: a retry may send it."""
    model, mark = _MARKS[kind]
    db.session.execute(sa.update(model).where(model.id == row_id).values({mark: None}))


def due_reminders(limit: int = 500) -> list[int]:
    """Confirmed bookings of scheduled shows starting within REMINDER_BEFORE_S, not reminded yet, made before
    that window opened (a booking made an hour before the show has its confirmation; no reminder follows)."""
    now = datetime.now(timezone.utc)
    before = timedelta(seconds=int(current_app.config["REMINDER_BEFORE_S"]))
    rows = db.session.execute(
        sa.select(Booking.id, Booking.created_at, Showtime.starts_at).join(Showtime, Showtime.id == Booking.showtime_id)
        .where(Booking.state == BookingState.CONFIRMED, Booking.reminder_mailed_at.is_(None),
               Showtime.status == ShowtimeStatus.SCHEDULED, Showtime.starts_at > now,
               Showtime.starts_at <= now + before)
        .order_by(Showtime.starts_at, Booking.id).limit(limit)).all()
    inside = [row.id for row in rows if row.created_at >= row.starts_at - before]
    if inside:  # made inside the window: their confirmation says it all; marked so they never come back
        db.session.execute(sa.update(Booking).where(Booking.id.in_(inside))
                           .values(reminder_mailed_at=datetime.now(timezone.utc)))
    return [row.id for row in rows if row.created_at < row.starts_at - before]
