"""Ticket PDFs: rendered with xhtml2pdf, opened with pypdf, the QR code decoded with zxing-cpp."""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from itsdangerous import Signer
from PIL import Image
from pypdf import PdfReader

from app.errors import Conflict, InvalidSignature, NotFound
from app.extensions import db
from app.models import Booking, BookingState, Order, OrderState
from app.services.tickets import format_amount, render_ticket, ticket_file, verify_checkin_payload
from app.services.uow import transaction
from tests.factories import make_movie, make_showtime, make_user

# 14:00 UTC is 19:30 in Asia/Kolkata (the default APP_TIMEZONE).
SHOW_AT = datetime(2030, 1, 5, 14, 0, tzinfo=timezone.utc)


@pytest.fixture()
def tickets_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "tickets"
    monkeypatch.setitem(app.config, "TICKETS_DIR", directory)
    return directory


def make_booking(seats: list[str] | None = None, amount: int = 125_000, title: str = "Tom & Jerry <Returns>",
                 state: BookingState = BookingState.CONFIRMED) -> Booking:
    seats = seats or ["C7", "C8"]
    showtime = make_showtime(movie=make_movie(title=title), starts_at=SHOW_AT, theatre_name="PVR Orion Mall")
    user = make_user()
    order = Order(public_id="ord_" + secrets.token_hex(8), user_id=user.id, showtime_id=showtime.id,
                  seat_labels=seats, amount=amount, currency="INR", gateway="dev",
                  gateway_order_id="order_dev_" + secrets.token_hex(8), state=OrderState.BOOKED,
                  expires_at=datetime.now(timezone.utc) + timedelta(minutes=10))
    db.session.add(order)
    db.session.flush()
    booking = Booking(reference="CV" + secrets.token_hex(4).upper(), user_id=user.id, showtime_id=showtime.id,
                      order_id=order.id, seat_labels=seats, amount=amount, currency="INR", state=state)
    db.session.add(booking)
    db.session.commit()
    return booking


def pdf_text(path: Path) -> str:
    reader = PdfReader(path)
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pdf_qr_codes(path: Path) -> list[str]:
    texts = []
    for page in PdfReader(path).pages:
        for image in page.images:
            picture = Image.open(io.BytesIO(image.data)).convert("L")
            texts.extend(code.text for code in zxingcpp.read_barcodes(picture))
    return texts


def test_ticket_pdf_has_the_booking_and_a_scannable_qr(ctx: Flask, tickets_dir: Path) -> None:
    booking = make_booking()
    with transaction():
        path = render_ticket(booking.id)
    assert path.parent == tickets_dir and path.is_file() and path.suffix == ".pdf"
    assert len(path.stem) >= 32  # unguessable name, not derived from the id or reference
    assert booking.reference not in path.name and str(booking.id) != path.stem

    text = pdf_text(path)
    for expected in ["Tom & Jerry <Returns>", "PVR Orion Mall", "Screen 1", "C7, C8", booking.reference,
                     "INR 1,250.00", "Sat, 05 Jan 2030, 7:30 PM IST"]:
        assert expected in text, expected

    [payload] = pdf_qr_codes(path)
    assert verify_checkin_payload(payload) == booking.reference
    # the QR carries a signature under SECRET_KEY, checked here with itsdangerous directly
    prefix, signed = payload.split(".", 1)
    assert prefix == "CV1"
    import hashlib

    signer = Signer(ctx.config["SECRET_KEY"], salt="cineverse.ticket-checkin", digest_method=hashlib.sha256)
    assert signer.unsign(signed).decode() == booking.reference

    db.session.expire_all()
    stored = db.session.get(Booking, booking.id)
    assert stored is not None and stored.ticket_path == path.name
    assert ticket_file(stored) == path


def test_rendering_twice_keeps_the_first_file(ctx: Flask, tickets_dir: Path) -> None:
    booking = make_booking(seats=["A1"], amount=25_000)
    with transaction():
        first = render_ticket(booking.id)
    with transaction():
        second = render_ticket(booking.id)
    assert first == second
    assert sorted(p.name for p in tickets_dir.iterdir()) == [first.name]


def test_a_lost_file_is_rendered_again(ctx: Flask, tickets_dir: Path) -> None:
    booking = make_booking(seats=["A1"], amount=25_000)
    with transaction():
        first = render_ticket(booking.id)
    first.unlink()
    with transaction():
        second = render_ticket(booking.id)
    assert second.is_file() and second != first


def test_unknown_or_cancelled_bookings_get_no_ticket(ctx: Flask, tickets_dir: Path) -> None:
    with pytest.raises(NotFound):
        render_ticket(987654)
    cancelled = make_booking(state=BookingState.CANCELLED)
    with pytest.raises(Conflict):
        render_ticket(cancelled.id)
    assert not tickets_dir.exists() or not any(tickets_dir.iterdir())


def test_render_ticket_task_is_registered_and_idempotent(ctx: Flask, tickets_dir: Path) -> None:
    # The task as bound to this app's Celery (other tests may have created apps since, and a bare
    # shared_task proxy follows the newest default app).
    task = ctx.extensions["celery"].tasks["workers.tickets.render_ticket"]
    booking = make_booking(seats=["F1", "F2", "F3"], amount=123_456_789)
    task.delay(booking.id)  # eager in tests: runs in its own app context and commits
    db.session.expire_all()
    stored = db.session.get(Booking, booking.id)
    assert stored is not None and stored.ticket_path
    path = tickets_dir / stored.ticket_path
    assert "INR 12,34,567.89" in pdf_text(path)
    assert "F1, F2, F3" in pdf_text(path)
    task.delay(booking.id)
    assert [p.name for p in tickets_dir.iterdir()] == [stored.ticket_path]
    # a booking that does not exist is skipped, not retried forever
    assert task.apply(args=[999_999]).result is None


@pytest.mark.parametrize("paise,currency,expected", [
    (0, "INR", "INR 0.00"),
    (50, "INR", "INR 0.50"),
    (125_000, "INR", "INR 1,250.00"),
    (10_000_000, "INR", "INR 1,00,000.00"),
    (123_456_789, "INR", "INR 12,34,567.89"),
    (123_456_789, "USD", "USD 1,234,567.89"),
    (-5_000, "INR", "-INR 50.00"),
])
def test_format_amount(paise: int, currency: str, expected: str) -> None:
    assert format_amount(paise, currency) == expected


def _sign(secret: str, reference: str) -> str:
    import hashlib

    return "CV1." + Signer(secret, salt="cineverse.ticket-checkin", digest_method=hashlib.sha256).sign(
        reference).decode()


def test_checkin_payload_tampering_is_refused(ctx: Flask) -> None:
    good = _sign(ctx.config["SECRET_KEY"], "CVABC123")
    assert verify_checkin_payload(good) == "CVABC123"
    assert len(good) < 80  # compact enough for a small QR code
    reference, signature = good[4:].rsplit(".", 1)
    bad: list[Any] = [
        None, 12345, b"bytes", "", "CV1.", "CV1", "CVABC123",
        f"CV1.CVABC124.{signature}",                        # another reference, same signature
        f"CV1.{reference}.{signature[:-2]}",                # truncated signature
        f"CV2.{reference}.{signature}",                     # unknown version prefix
        _sign("another-deployment-secret", "CVABC123"),     # signed elsewhere
        "CV1." + "A" * 300,                                  # oversize
        f"CV1.{reference}.{signature}é",
    ]
    for payload in bad:
        with pytest.raises(InvalidSignature) as info:
            verify_checkin_payload(payload)
        assert info.value.code == "invalid_ticket_code" and info.value.status == 400
