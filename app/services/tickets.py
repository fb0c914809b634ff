"""Ticket PDFs (xhtml2pdf) with a QR code of a signed check-in reference.

The QR code holds ``CV1.<booking reference>.<signature>``: an itsdangerous HMAC-SHA256 signature under
SECRET_KEY, so a door scanner can trust the reference without a database lookup for forgeries, and the
text stays short enough for a small, easily scanned QR code. The PDF goes to TICKETS_DIR under an
unguessable name; `Booking.ticket_path` keeps that name (relative to TICKETS_DIR).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, Signer
from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import joinedload
from xhtml2pdf import pisa

from app.errors import AppError, Conflict, InvalidSignature, NotFound
from app.extensions import db
from app.models import Booking, BookingState, Screen, Showtime

log = logging.getLogger(__name__)

CHECKIN_PREFIX = "CV1"
CHECKIN_SALT = "cineverse.ticket-checkin"
MAX_CHECKIN_PAYLOAD = 200


class TicketRenderError(AppError):
    status = 500
    code = "ticket_render_failed"
    message = "The ticket could not be rendered."


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=CHECKIN_SALT, digest_method=hashlib.sha256)


def checkin_payload(reference: str) -> str:
    """The text of a ticket's QR code: the booking reference signed for check-in."""
    return f"{CHECKIN_PREFIX}." + _signer().sign(reference).decode("ascii")


def verify_checkin_payload(payload: object) -> str:
    """The booking reference of a scanned QR code.

    Raises InvalidSignature (code invalid_ticket_code) for anything that was not signed by this deployment.
    """
    refused = InvalidSignature("This is not a valid CineVerse ticket code.", code="invalid_ticket_code")
    if not isinstance(payload, str) or len(payload) > MAX_CHECKIN_PAYLOAD or not payload.isascii():
        raise refused
    prefix, _, signed = payload.strip().partition(".")
    if prefix != CHECKIN_PREFIX or not signed:
        raise refused
    try:
        reference = _signer().unsign(signed).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        raise refused from None
    if not reference:
        raise refused
    return reference


def format_amount(paise: int, currency: str = "INR") -> str:
    """Money for people: 123456789 paise -> "INR 12,34,567.89" (Indian digit grouping for INR)."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    if currency == "INR" and len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    elif len(digits) > 3:
        digits = f"{rupees:,}"
    return f"{sign}{currency} {digits}.{rest:02d}"


def local_show_time(starts_at: datetime) -> str:
    """A show time in APP_TIMEZONE, e.g. "Sat, 14 Jun 2025, 7:30 PM IST"."""
    local = starts_at.astimezone(ZoneInfo(current_app.config["APP_TIMEZONE"]))
    hour = local.hour % 12 or 12
    return f"{local:%a, %d %b %Y}, {hour}:{local:%M %p} {local.tzname()}"


def qr_data_uri(text: str) -> str:
    """A PNG data URI of a QR code for text (medium error correction survives a scuffed printout)."""
    return segno.make(text, error="m", micro=False).png_data_uri(scale=8, border=4)


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEMPLATE = _env.from_string("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>CineVerse ticket {{ reference }}</title>
<style>
  @page { size: a5 landscape; margin: 1.2cm; }
  body { font-family: Helvetica; font-size: 11pt; color: #111; }
  h1 { font-size: 20pt; margin: 0 0 4pt 0; }
  .brand { font-size: 10pt; color: #b0122b; letter-spacing: 2pt; }
  table.info td { padding: 2pt 8pt 2pt 0; vertical-align: top; }
  td.label { color: #555; width: 3cm; }
  .ref { font-family: Courier; font-size: 14pt; font-weight: bold; }
  .small { font-size: 8pt; color: #555; }
</style></head>
<body>
<table width="100%"><tr>
<td width="68%" valign="top">
  <div class="brand">CINEVERSE &middot; E-TICKET</div>
  <h1>{{ movie }}</h1>
  <div class="small">{{ certificate }} &middot; {{ language }} &middot; {{ duration }} min</div>
  <table class="info">
    <tr><td class="label">Theatre</td><td>{{ theatre }}{% if city %}, {{ city }}{% endif %}</td></tr>
    <tr><td class="label">Screen</td><td>{{ screen }}</td></tr>
    <tr><td class="label">Show time</td><td>{{ show_time }}</td></tr>
    <tr><td class="label">Seats</td><td>{{ seats }} ({{ seat_count }})</td></tr>
    <tr><td class="label">Amount paid</td><td>{{ amount }}</td></tr>
    <tr><td class="label">Booking ref</td><td class="ref">{{ reference }}</td></tr>
  </table>
</td>
<td width="32%" valign="top" align="center">
  <img src="{{ qr }}" width="150" height="150"/>
  <div class="small">Show this code at the entrance</div>
</td>
</tr></table>
<p class="small">Booked {{ booked_at }}. Please arrive 15 minutes before the show.
Manage your bookings at {{ site }}.</p>
</body></html>
""")


def ticket_html(booking: Booking, showtime: Showtime) -> str:
    """The ticket as HTML (what xhtml2pdf renders); showtime with its movie, screen and theatre."""
    movie, screen = showtime.movie, showtime.screen
    return _TEMPLATE.render(
        movie=movie.title, certificate=movie.certificate, language=movie.language, duration=movie.duration_min,
        theatre=screen.theatre.name, city=screen.theatre.city, screen=screen.name,
        show_time=local_show_time(showtime.starts_at), seats=", ".join(booking.seat_labels),
        seat_count=len(booking.seat_labels), amount=format_amount(booking.amount, booking.currency),
        reference=booking.reference, qr=qr_data_uri(checkin_payload(booking.reference)),
        booked_at=local_show_time(booking.created_at), site=current_app.config["PUBLIC_BASE_URL"],
    )


def render_pdf(html: str) -> bytes:
    """HTML to PDF bytes. Raises TicketRenderError when xhtml2pdf reports errors."""
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise TicketRenderError(details={"errors": int(result.err)})
    return out.getvalue()


def tickets_dir() -> Path:
    path = Path(current_app.config["TICKETS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def ticket_file(booking: Booking) -> Path | None:
    """The booking's ticket PDF on disk, or None when it is not rendered (yet)."""
    if not booking.ticket_path:
        return None
    path = Path(current_app.config["TICKETS_DIR"]) / booking.ticket_path
    return path if path.is_file() else None


def _load(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.", code="booking_not_found")
    return booking


def render_ticket(booking_id: int) -> Path:
    """Render the booking's ticket PDF once and record it on the booking (flushes, never commits).

    Idempotent: a booking whose file exists gets that file back. Raises NotFound for an unknown booking,
    Conflict for a cancelled one, TicketRenderError when the PDF cannot be made.
    """
    booking = _load(booking_id)
    existing = ticket_file(booking)
    if existing is not None:
        return existing
    if booking.state != BookingState.CONFIRMED:
        raise Conflict("A cancelled booking has no ticket.", code="booking_cancelled")
    showtime = db.session.scalars(
        sa.select(Showtime).where(Showtime.id == booking.showtime_id)
        .options(joinedload(Showtime.movie), joinedload(Showtime.screen).joinedload(Screen.theatre))
    ).one()
    pdf = render_pdf(ticket_html(booking, showtime))

    directory = tickets_dir()
    name = f"{secrets.token_urlsafe(24)}.pdf"  # unguessable: the file name is no capability, but leaks nothing
    tmp = directory / f".{name}.tmp"
    tmp.write_bytes(pdf)
    os.replace(tmp, directory / name)  # readers never see a half-written file

    # Render outside the row lock; take it only to record the result, so a racing render loses cleanly.
    locked = db.session.scalars(
        sa.select(Booking).where(Booking.id == booking_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    winner = ticket_file(locked)
    if winner is not None:
        (directory / name).unlink(missing_ok=True)
        return winner
    locked.ticket_path = name
    db.session.flush()
    log.info("ticket rendered for booking %s (%s bytes)", booking_id, len(pdf))
    return directory / name

