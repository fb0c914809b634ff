"""The waiting list: joining and leaving, and the offers made when seats come free again (held for the
first waiting user whose count fits, mailed to a real SMTP server on loopback, announced on their seat page)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import websocket

from app.extensions import db
from app.models import Booking, Order, SeatState, ShowtimeSeat, ShowtimeStatus, WaitlistEntry, WaitlistOffer
from app.services import orders
from app.services.seats import expiry, holds
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


def _offers(showtime_id: int) -> dict[int, tuple[str, list[str]]]:
    """user id -> (state, seats) of the showtime's offers."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(WaitlistOffer).where(WaitlistOffer.showtime_id == showtime_id))
    return {o.user_id: (o.state.value, list(o.seat_labels)) for o in rows}


def _run(app, showtime_id: int) -> int:
    return app.extensions["celery"].tasks["workers.waitlist.notify_waitlist"].apply(args=[showtime_id]).result


def test_a_cancelled_booking_offers_the_seats_to_the_earliest_users_whose_count_fits(app, client, ctx, inbox):
    buyer = make_user(email="buyer@example.com")
    too_many, pair, single, late_pair = (make_user(email=f"{n}@example.com") for n in
                                         ("too-many", "pair", "single", "late-pair"))
    showtime = make_showtime(make_movie(title="Sold Out Saga"))
    only_for_sale(showtime.id, ["B1", "B2", "B3"])
    booking_id = buy(client, buyer, showtime.id, ["B1", "B2", "B3"])
    for user, seats in ((too_many, 4), (pair, 2), (single, 1), (late_pair, 2)):
        assert join(client, user, showtime.id, seats).status_code == 201
    assert [rcpts for rcpts, _ in inbox.messages] == [["buyer@example.com"]]  # the buyer's confirmation
    inbox.messages.clear()

    cancelled = client.post(f"/api/payments/bookings/{booking_id}/cancel", headers=auth_headers(buyer))
    assert cancelled.status_code == 200, cancelled.get_json()
    # 3 seats free: the first in the queue wants 4 (does not fit), then 2 + 1 take the three seats, held
    # (row B: wheelchair spaces, such as A1 and A2, are not offered to a list that did not ask for them)
    offers = _offers(showtime.id)
    assert set(offers) == {pair.id, single.id}
    assert offers[pair.id][0] == offers[single.id][0] == "active"
    pair_seats, single_seats = offers[pair.id][1], offers[single.id][1]
    assert len(pair_seats) == 2 and len(single_seats) == 1
    assert sorted(pair_seats + single_seats) == ["B1", "B2", "B3"]
    held = holds.held_by(showtime.id)
    assert held == {**dict.fromkeys(pair_seats, str(pair.id)), **dict.fromkeys(single_seats, str(single.id))}
    # everyone else sees them held
    seat_map = {s["id"]: s["status"] for s in client.get(f"/api/showtimes/{showtime.id}/seats",
                                                       headers=auth_headers(late_pair)).get_json()["seats"]}
    assert all(seat_map[s] == "locked" for s in ["B1", "B2", "B3"])
    taken = client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": pair_seats},
                        headers=auth_headers(late_pair))
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "seat_taken"

    told = sorted(address for rcpts, _ in inbox.messages for address in rcpts if address != "buyer@example.com")
    assert told == ["pair@example.com", "single@example.com"]  # (the buyer got the refund notice)
    [message] = inbox.to("pair@example.com")
    assert "Sold Out Saga" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"/showtimes/{showtime.id}" in text and ", ".join(pair_seats) in text

    # another run offers nothing more and mails nobody twice
    assert _run(app, showtime.id) == 0
    assert len(inbox.to("pair@example.com")) == len(inbox.to("single@example.com")) == 1
    assert set(_offers(showtime.id)) == {pair.id, single.id}


def test_an_offer_not_bought_in_time_passes_to_the_next_in_line(app, client, ctx, inbox, redis_client):
    first, second = make_user(email="first@example.com"), make_user(email="second@example.com")
    showtime = make_showtime()
    only_for_sale(showtime.id, ["B1"])
    assert join(client, first, showtime.id, 1).status_code == 201
    assert join(client, second, showtime.id, 1).status_code == 201
    assert _run(app, showtime.id) == 1
    assert _offers(showtime.id) == {first.id: ("active", ["B1"])}
    assert holds.held_by(showtime.id) == {"B1": str(first.id)}

    lose_seat_locks(redis_client, showtime.id)  # the offer's hold lapses (its TTL is the offer's)
    db.session.execute(sa.update(WaitlistOffer).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    assert _run(app, showtime.id) == 1
    assert _offers(showtime.id) == {first.id: ("lapsed", ["B1"]), second.id: ("active", ["B1"])}
    assert holds.held_by(showtime.id) == {"B1": str(second.id)}
    assert len(inbox.to("second@example.com")) == 1 and len(inbox.to("first@example.com")) == 1
    # the first lost their place on the list
    assert client.get("/api/user/waitlist", headers=auth_headers(first)).get_json()["total"] == 0


def test_an_offer_given_up_passes_on_and_leaving_gives_the_seats_back(app, client, ctx, inbox):
    first, second, third = (make_user() for _ in range(3))
    showtime = make_showtime()
    only_for_sale(showtime.id, ["C1", "C2"])
    for user in (first, second, third):
        assert join(client, user, showtime.id, 2).status_code == 201
    _run(app, showtime.id)
    assert _offers(showtime.id) == {first.id: ("active", ["C1", "C2"])}
    # the first releases the offered seats: the next run passes them on
    assert client.post(f"/api/showtimes/{showtime.id}/redis-unlock-seats", json={"seat_ids": ["C1", "C2"]},
                       headers=auth_headers(first)).status_code == 200
    _run(app, showtime.id)
    assert _offers(showtime.id)[second.id] == ("active", ["C1", "C2"])
    assert _offers(showtime.id)[first.id][0] == "lapsed"
    # the second leaves the list: the seats are released at once and the third gets them
    assert client.delete(f"/api/showtimes/{showtime.id}/waitlist", headers=auth_headers(second)).status_code == 204
    assert holds.held_by(showtime.id) == {}
    assert _offers(showtime.id)[second.id][0] == "withdrawn"
    _run(app, showtime.id)
    assert _offers(showtime.id)[third.id] == ("active", ["C1", "C2"])


def test_an_offer_is_bought_through_the_normal_checkout(app, client, ctx, inbox):
    waiting = make_user()
    showtime = make_showtime()
    only_for_sale(showtime.id, ["E1", "E2"])
    assert join(client, waiting, showtime.id, 2).status_code == 201
    _run(app, showtime.id)
    assert _offers(showtime.id) == {waiting.id: ("active", ["E1", "E2"])}
    buy(client, waiting, showtime.id, ["E1", "E2"])
    assert _offers(showtime.id) == {waiting.id: ("booked", ["E1", "E2"])}
    assert client.get("/api/user/waitlist", headers=auth_headers(waiting)).get_json()["total"] == 0


def test_a_seat_is_never_offered_to_two_people_at_once(app, client, ctx, inbox):
    users = [make_user() for _ in range(6)]
    showtime = make_showtime()
    only_for_sale(showtime.id, ["F1", "F2", "F3"])
    for user in users:
        assert join(client, user, showtime.id, 1).status_code == 201
    sid = showtime.id

    def run() -> None:
        with app.app_context():
            _run(app, sid)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    offers = _offers(showtime.id)
    seats = [s for state, labels in offers.values() if state == "active" for s in labels]
    assert sorted(seats) == ["F1", "F2", "F3"]  # each once
    assert set(offers) == {u.id for u in users[:3]}  # the first three in the queue
    assert holds.held_by(showtime.id) == {s: str(u) for u, (_, labels) in offers.items() for s in labels}
    assert sorted(address for rcpts, _ in inbox.messages for address in rcpts) == sorted(u.email for u in users[:3])


def test_a_run_that_fails_before_its_commit_gives_its_holds_back(app, client, ctx, inbox, monkeypatch):
    from app.services import offers as offers_service

    waiting = make_user()
    showtime = make_showtime()
    only_for_sale(showtime.id, ["H1", "H2"])
    assert join(client, waiting, showtime.id, 2).status_code == 201
    real = offers_service.make_offers

    def then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the database went away before the commit")

    monkeypatch.setattr(offers_service, "make_offers", then_fail)
    result = app.extensions["celery"].tasks["workers.waitlist.notify_waitlist"].apply(args=[showtime.id])
    assert result.failed()
    assert holds.held_by(showtime.id) == {} and _offers(showtime.id) == {} and inbox.messages == []
    monkeypatch.setattr(offers_service, "make_offers", real)
    assert _run(app, showtime.id) == 1
    assert _offers(showtime.id) == {waiting.id: ("active", ["H1", "H2"])}


def test_a_run_adopts_the_holds_a_dead_run_left_behind(app, client, ctx, inbox):
    waiting = make_user()
    showtime = make_showtime()
    only_for_sale(showtime.id, ["J1", "J2", "J3", "J4"])
    assert join(client, waiting, showtime.id, 2).status_code == 201
    holds.lock(showtime.id, str(waiting.id), ["J3", "J4"])  # held, then the worker was killed before its commit
    assert _run(app, showtime.id) == 1
    assert _offers(showtime.id) == {waiting.id: ("active", ["J3", "J4"])}  # the same seats, not a second block
    assert holds.held_by(showtime.id) == {"J3": str(waiting.id), "J4": str(waiting.id)}


def test_giving_up_part_of_an_offer_ends_it(app, client, ctx, inbox):
    first, second = make_user(), make_user()
    showtime = make_showtime()
    only_for_sale(showtime.id, ["K1", "K2"])
    assert join(client, first, showtime.id, 2).status_code == 201
    assert join(client, second, showtime.id, 1).status_code == 201
    _run(app, showtime.id)
    assert _offers(showtime.id) == {first.id: ("active", ["K1", "K2"])}
    assert client.post(f"/api/showtimes/{showtime.id}/redis-unlock-seats", json={"seat_ids": ["K2"]},
                       headers=auth_headers(first)).status_code == 200
    _run(app, showtime.id)
    assert _offers(showtime.id) == {first.id: ("lapsed", ["K1", "K2"]), second.id: ("active", ["K2"])}
    assert holds.held_by(showtime.id) == {"K1": str(first.id), "K2": str(second.id)}  # K1 stays theirs to buy
    # leaving now gives back only what is still theirs (the lapsed offer's K2 is someone else's)
    assert client.delete(f"/api/showtimes/{showtime.id}/waitlist", headers=auth_headers(second)).status_code == 204
    assert holds.held_by(showtime.id) == {"K1": str(first.id)}


def test_one_active_offer_per_user_whatever_the_showtime(app, client, ctx, inbox):
    waiting = make_user()
    one, two = make_showtime(), make_showtime()
    for showtime, seat in ((one, "L1"), (two, "L2")):
        only_for_sale(showtime.id, [seat])
        assert join(client, waiting, showtime.id, 1).status_code == 201
    _run(app, one.id)
    _run(app, two.id)
    assert _offers(one.id) == {waiting.id: ("active", ["L1"])} and _offers(two.id) == {}


def test_the_offered_users_open_seat_page_hears_of_it(app, client, ctx, inbox):
    from flask_jwt_extended import create_access_token

    from app.realtime.hub import get_hub
    from tests.realtime.helpers import connect, receive, receive_until, serve_in_thread

    waiting, other = make_user(), make_user()
    showtime = make_showtime()
    only_for_sale(showtime.id, ["G1"])
    assert join(client, waiting, showtime.id, 1).status_code == 201
    with serve_in_thread(app) as port:
        mine = connect(port, showtime.id, create_access_token(identity=str(waiting.id)))
        theirs = connect(port, showtime.id, create_access_token(identity=str(other.id)))
        try:
            assert receive(mine)["type"] == receive(theirs)["type"] == "snapshot"
            _run(app, showtime.id)
            offer = receive_until(mine, lambda m: m["type"] == "offer")[-1]
            assert offer["seat_ids"] == ["G1"] and offer["showtime_id"] == showtime.id
            assert "user_id" not in offer and datetime.fromisoformat(offer["expires_at"]) > datetime.now(timezone.utc)
            locked = receive_until(theirs, lambda m: m["type"] == "seat_locked")[-1]
            assert locked["seat_ids"] == ["G1"]
            theirs.settimeout(0.5)
            try:
                assert json.loads(theirs.recv())["type"] != "offer"  # never the other user's offer
            except websocket.WebSocketTimeoutException:
                pass
        finally:
            mine.close()
            theirs.close()
    get_hub(app).stop()


def test_booking_the_showtime_leaves_its_waiting_list(client, ctx):
    user = make_user()
    showtime = make_showtime()
    assert join(client, user, showtime.id, 2).status_code == 201
    buy(client, user, showtime.id, ["D1", "D2"])
    assert client.get("/api/user/waitlist", headers=auth_headers(user)).get_json()["total"] == 0


def test_an_expired_order_and_lapsed_holds_tell_the_waiting_list(app, client, ctx, inbox, redis_client):
    buyer, waiting = make_user(), make_user(email="waiting@example.com")
    later = make_user(email="later@example.com")
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
        assert orders.expire_stale_orders() == 1  # then tells the list: B1 is offered
    assert len(inbox.to("waiting@example.com")) == 1
    assert _offers(showtime.id) == {waiting.id: ("active", ["B1"])}

    # holds lapsing (the expiry sweep's handler) run the list too: the lapsed offer passes on
    assert notify_on_lapse in expiry._lapse_handlers
    assert join(client, later, showtime.id, 1).status_code == 201
    lose_seat_locks(redis_client, showtime.id)
    notify_on_lapse(expiry.Lapsed(showtime.id, ["B1"], {str(waiting.id): ["B1"]}))
    assert _offers(showtime.id)[later.id] == ("active", ["B1"])
    assert len(inbox.to("later@example.com")) == 1


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
    assert holds.held_by(showtime.id) == {"D1": str(waiting.id)}  # offered: held for them
    assert sweep.apply().result == 1  # still waiting (until they buy): the run offers nothing more
    assert len(inbox.to("patient@example.com")) == 1
    assert inbox.to("late@example.com") == []
    assert "workers.waitlist.sweep_waitlists" in BEAT_SCHEDULE
