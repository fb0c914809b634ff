"""The waiting list: joining and leaving, and the mail sent (to a real SMTP server on loopback) when
seats come free again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, Order, SeatState, ShowtimeSeat, ShowtimeStatus, WaitlistEntry
from app.services import orders
from app.services.seats import expiry
from app.services.uow import transaction
from app.services.waitlist import notify_on_lapse
from tests.accounts_support import inbox_fixture  # noqa: F401  (the inbox fixture)
from tests.factories import auth_headers, make_movie, make_showtime, make_user
from tests.purchase_support import book, create_order, lock, lose_seat_locks


def join(client, user, showtime_id, seats):
    return client.post(f"/api/showtimes/{showtime_id}/waitlist", json={"seats": seats}, headers=auth_headers(user))


def only_for_sale(showtime_id: int, labels: list[str]) -> None:
    """Block every seat of the showtime but these (a nearly sold-out house without selling 216 seats)."""
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime_id,
                                                     ShowtimeSeat.label.not_in(labels))
                       .values(state=SeatState.BLOCKED))
    db.session.commit()


def buy(client, user, showtime_id, seats) -> int:
    return book(client, user, showtime_id, seats)[2]["id"]


def test_join_update_list_and_leave(client, ctx):
    user, other = make_user(), make_user()
    showtime = make_showtime(make_movie(title="Full House"))
    first = join(client, user, showtime.id, 2)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["seats"] == 2 and first.get_json()["notified_at"] is None
    assert join(client, other, showtime.id, 1).status_code == 201
    again = join(client, user, showtime.id, 4)  # joining again updates the count, keeping the place
    assert again.status_code == 200 and again.get_json()["seats"] == 4
    assert again.get_json()["joined_at"] == first.get_json()["joined_at"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 2

    mine = client.get("/api/user/waitlist", headers=auth_headers(user)).get_json()
    assert mine["total"] == 1 and mine["page"] == 1 and mine["per_page"] == 20
    [entry] = mine["items"]
    assert entry["showtime_id"] == showtime.id and entry["seats"] == 4
    assert entry["movie"]["title"] == "Full House" and entry["showtime_status"] == "scheduled"

    assert client.delete(f"/api/showtimes/{showtime.id}/waitlist", headers=auth_headers(user)).status_code == 204
    left_again = client.delete(f"/api/showtimes/{showtime.id}/waitlist", headers=auth_headers(user))
    assert left_again.status_code == 404 and left_again.get_json()["error"]["code"] == "waitlist_entry_not_found"
    assert client.get("/api/user/waitlist", headers=auth_headers(user)).get_json()["total"] == 0
    assert client.get("/api/user/waitlist", headers=auth_headers(other)).get_json()["total"] == 1


@pytest.mark.parametrize("seats", [0, -1, 11, "2", 2.5, None])
def test_seat_counts_outside_one_to_the_booking_limit_are_refused(client, ctx, seats):
    user = make_user()
    showtime = make_showtime()
    response = join(client, user, showtime.id, seats)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"
    assert "seats" in response.get_json()["error"]["details"]["fields"]


def test_unknown_cancelled_and_started_showtimes(client, ctx):
    user = make_user()
    assert client.post("/api/showtimes/1/waitlist", json={"seats": 1}).status_code == 401
    unknown = join(client, user, 999_999, 1)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "showtime_not_found"
    cancelled = make_showtime()
    cancelled.status = ShowtimeStatus.CANCELLED
    db.session.commit()
    refused = join(client, user, cancelled.id, 1)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "showtime_cancelled"
    started = make_showtime(starts_at=datetime.now(timezone.utc) - timedelta(minutes=5))
    late = join(client, user, started.id, 1)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "showtime_started"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_a_cancelled_booking_mails_the_earliest_users_whose_count_fits(app, client, ctx, inbox, monkeypatch):
    buyer = make_user(email="buyer@example.com")
    too_many, pair, single, late_pair = (make_user(email=f"{n}@example.com") for n in
                                         ("too-many", "pair", "single", "late-pair"))
    showtime = make_showtime(make_movie(title="Sold Out Saga"))
    only_for_sale(showtime.id, ["A1", "A2", "A3"])
    booking_id = buy(client, buyer, showtime.id, ["A1", "A2", "A3"])
    for user, seats in ((too_many, 4), (pair, 2), (single, 1), (late_pair, 2)):
        assert join(client, user, showtime.id, seats).status_code == 201
    assert inbox.messages == []

    cancelled = client.post(f"/api/payments/bookings/{booking_id}/cancel", headers=auth_headers(buyer))
    assert cancelled.status_code == 200, cancelled.get_json()
    # 3 seats free: the first in the queue wants 4 (does not fit), then 2 + 1 fill the three seats
    told = sorted(address for rcpts, _ in inbox.messages for address in rcpts)
    assert told == ["pair@example.com", "single@example.com"]
    [message] = inbox.to("pair@example.com")
    assert "Sold Out Saga" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"/showtimes/{showtime.id}" in text and "2 seats" in text
    db.session.expire_all()
    notified = dict(db.session.execute(sa.select(WaitlistEntry.user_id, WaitlistEntry.notified_at)).all())
    assert notified[pair.id] is not None and notified[single.id] is not None
    assert notified[too_many.id] is None and notified[late_pair.id] is None

    # another run within the cooldown tells nobody twice, and the three seats announced are spoken for
    task = app.extensions["celery"].tasks["workers.waitlist.notify_waitlist"]
    assert task.apply(args=[showtime.id]).result == 0
    assert len(inbox.messages) == 2
    # once the cooldown is over they are announced again; held seats are not free: with A1 held, two are
    lock(client, buyer, showtime.id, ["A1"])
    monkeypatch.setitem(app.config, "WAITLIST_NOTIFY_COOLDOWN_S", 0)
    assert task.apply(args=[showtime.id]).result == 1  # the pair (first that fits 2), then nothing is left
    assert len(inbox.to("pair@example.com")) == 2 and len(inbox.to("single@example.com")) == 1
    assert inbox.to("late-pair@example.com") == [] and inbox.to("too-many@example.com") == []


def test_booking_the_showtime_leaves_its_waiting_list(client, ctx):
    user = make_user()
    showtime = make_showtime()
    assert join(client, user, showtime.id, 2).status_code == 201
    buy(client, user, showtime.id, ["D1", "D2"])
    assert client.get("/api/user/waitlist", headers=auth_headers(user)).get_json()["total"] == 0


def test_an_expired_order_and_lapsed_holds_tell_the_waiting_list(client, ctx, inbox, redis_client):
    buyer, waiting = make_user(), make_user(email="waiting@example.com")
    showtime = make_showtime()
    only_for_sale(showtime.id, ["B1"])
    lock(client, buyer, showtime.id, ["B1"])
    order = create_order(client, buyer, showtime.id, ["B1"])
    assert join(client, waiting, showtime.id, 1).status_code == 201
    with transaction():
        orders.fail_payment(order["gateway_order_id"])  # a failed attempt: the order keeps its seats
    assert inbox.to("waiting@example.com") == []
    lose_seat_locks(redis_client, showtime.id)  # the payment window passes: holds and order lapse together
    with transaction():
        db.session.execute(sa.update(Order).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        assert orders.expire_stale_orders() == 1  # then tells the list
    assert len(inbox.to("waiting@example.com")) == 1

    # holds lapsing (the expiry sweep's handler) announce the seats too, once the cooldown allows
    assert notify_on_lapse in expiry._lapse_handlers
    db.session.execute(sa.update(WaitlistEntry).values(notified_at=None))
    db.session.commit()
    notify_on_lapse(expiry.Lapsed(showtime.id, ["B1"], {str(buyer.id): ["B1"]}))
    assert len(inbox.to("waiting@example.com")) == 2


def test_nobody_is_told_about_a_cancelled_showtime(client, ctx, inbox):
    admin_buyer = make_user()
    waiting = make_user(email="hopeful@example.com")
    showtime = make_showtime()
    only_for_sale(showtime.id, ["C1"])
    buy(client, admin_buyer, showtime.id, ["C1"])
    assert join(client, waiting, showtime.id, 1).status_code == 201
    from app.models import Role
    from app.services import catalogue_admin as staff

    admin_buyer.role = Role.ADMIN
    db.session.commit()
    with transaction():
        staff.cancel_showtime(admin_buyer, showtime.id)  # frees C1, but the show is off
    assert db.session.scalar(sa.select(Booking.state)).value == "cancelled"
    assert inbox.to("hopeful@example.com") == []


def test_the_periodic_sweep_tells_the_list_of_seats_a_buyer_unlocked(app, client, ctx, inbox):
    """A buyer's own unlock has no hook (it stays off that hot path); the beat's sweep catches it."""
    from workers.schedule import BEAT_SCHEDULE

    holder, waiting, late = make_user(), make_user(email="patient@example.com"), make_user(email="late@example.com")
    showtime, past = make_showtime(), make_showtime(starts_at=datetime.now(timezone.utc) + timedelta(minutes=1))
    only_for_sale(showtime.id, ["D1"])
    lock(client, holder, showtime.id, ["D1"])
    assert join(client, waiting, showtime.id, 1).status_code == 201
    assert join(client, late, past.id, 1).status_code == 201
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == past.id)
                       .values(state=SeatState.BLOCKED))
    from app.models import Showtime

    db.session.execute(sa.update(Showtime).where(Showtime.id == past.id)
                       .values(starts_at=datetime.now(timezone.utc) - timedelta(minutes=5)))  # started since
    db.session.commit()
    sweep = app.extensions["celery"].tasks["workers.waitlist.sweep_waitlists"]
    assert sweep.apply().result == 1  # the started show is not looked at
    assert inbox.to("patient@example.com") == []  # D1 is still held: nothing is free
    assert client.post(f"/api/showtimes/{showtime.id}/redis-unlock-seats", json={"seat_ids": ["D1"]},
                       headers=auth_headers(holder)).status_code == 200
    assert sweep.apply().result == 1
    assert len(inbox.to("patient@example.com")) == 1
    assert sweep.apply().result == 0  # told: not again within the cooldown
    assert len(inbox.to("patient@example.com")) == 1
    assert inbox.to("late@example.com") == []
    assert "workers.waitlist.sweep_waitlists" in BEAT_SCHEDULE
