"""Seat holds on the real Redis: races, all-or-nothing, holder-only release/extend, limits and expiry."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from redis.cluster import ClusterPubSub, RedisCluster

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.models import Booking, Order, SeatState, ShowtimeSeat, ShowtimeStatus
from app.services.seats import expiry, holds
from app.services.tasks import EXPIRE_HOLDS
from tests.factories import make_showtime, make_user
from workers.holds import sweep_lock_key


@pytest.fixture()
def showtime(ctx):
    return make_showtime()


def book_seats(showtime, labels):
    """Mark seats booked the way the booking service will: an order, a booking, the seat rows."""
    user = make_user()
    order = Order(public_id=f"ord_{showtime.id}_{labels[0]}", user_id=user.id, showtime_id=showtime.id,
                  seat_labels=labels, amount=100, gateway="dev", gateway_order_id=f"g_{showtime.id}_{labels[0]}",
                  expires_at=datetime.now(timezone.utc) + timedelta(minutes=5))
    db.session.add(order)
    db.session.flush()
    booking = Booking(reference=f"BK{showtime.id}{labels[0]}", user_id=user.id, showtime_id=showtime.id,
                      order_id=order.id, seat_labels=labels, amount=100)
    db.session.add(booking)
    db.session.flush()
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                     ShowtimeSeat.label.in_(labels))
                       .values(state=SeatState.BOOKED, booking_id=booking.id))
    db.session.commit()


def listen(redis_client, showtime_id):
    """The showtime's seat events: the one channel of a single Redis, its shard channel on a cluster."""
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    if isinstance(redis_client, RedisCluster):
        pubsub.ssubscribe(holds.events_channel(showtime_id))
        pubsub.get_sharded_message(timeout=1.0)  # the confirmation
    else:
        pubsub.subscribe(holds.events_channel(showtime_id))
    return pubsub


def next_events(pubsub, count, timeout=3.0):
    read = pubsub.get_sharded_message if isinstance(pubsub, ClusterPubSub) else pubsub.get_message
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        message = read(timeout=0.2)
        if message and message["type"] in ("message", "smessage"):
            events.append(json.loads(message["data"]))
    return events


def test_lock_holds_every_seat_and_reports_expiry(showtime, redis_client):
    before = datetime.now(timezone.utc)
    result = holds.lock(showtime.id, 7, ["A1", "A2", "A1"])
    assert result.seat_ids == ["A1", "A2"]
    assert timedelta(seconds=170) < result.expires_at - before < timedelta(seconds=190)
    assert [h["seat_id"] for h in result.holds] == ["A1", "A2"]
    assert holds.held_by(showtime.id, ["A1", "A2", "A3"]) == {"A1": "7", "A2": "7"}
    assert holds.held_by(showtime.id) == {"A1": "7", "A2": "7"}
    assert 0 < redis_client.pttl(holds.hold_key(showtime.id, "A1")) <= 180_000
    holds.assert_held(showtime.id, "7", ["A1", "A2"])
    with pytest.raises(Conflict) as err:
        holds.assert_held(showtime.id, "8", ["A1"])
    assert err.value.code == "hold_expired" and err.value.details["seat_ids"] == ["A1"]


def test_racing_threads_get_exactly_one_winner_per_seat(app, showtime):
    """48 users race for overlapping pairs of 6 seats; every seat ends with exactly one holder, and
    every winner holds both of its seats (all-or-nothing under contention)."""
    seats = ["C1", "C2", "C3", "C4", "C5", "C6"]
    wanted = {f"{n}": [seats[n % 6], seats[(n + 1) % 6]] for n in range(48)}
    barrier = threading.Barrier(len(wanted))
    winners: dict[str, list[str]] = {}
    losers: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def attempt(uid: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                holds.lock(showtime.id, uid, wanted[uid])
                winners[uid] = wanted[uid]
            except Conflict as exc:
                assert exc.code == "seat_taken"
                losers[uid] = exc.details["seat_ids"]
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in wanted]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(winners) + len(losers) == 48 and winners
    held = holds.held_by(showtime.id, seats)
    won_seats = [s for labels in winners.values() for s in labels]
    assert len(won_seats) == len(set(won_seats)), "a seat was won twice"
    for uid, labels in winners.items():
        assert all(held[s] == uid for s in labels)
    for uid, taken in losers.items():
        assert taken and set(taken) <= set(wanted[uid])
        assert not any(held.get(s) == uid for s in wanted[uid]), "a loser kept a seat"


def test_all_racers_for_the_same_seats_one_wins(app, showtime):
    barrier = threading.Barrier(32)
    results: list[str] = []

    def attempt(uid: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                holds.lock(showtime.id, uid, ["D1", "D2", "D3"])
                results.append(f"won:{uid}")
            except Conflict:
                results.append("lost")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [r for r in results if r.startswith("won")]
    assert len(results) == 32 and len(won) == 1
    uid = won[0].split(":")[1]
    assert holds.held_by(showtime.id, ["D1", "D2", "D3"]) == {"D1": uid, "D2": uid, "D3": uid}


def test_all_or_nothing_leaves_nothing_behind(showtime, redis_client):
    holds.lock(showtime.id, "2", ["A3"])
    pubsub = listen(redis_client, showtime.id)
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["A1", "A2", "A3", "A4"])
    assert err.value.code == "seat_taken"
    assert err.value.details["seat_ids"] == ["A3"]
    assert holds.held_by(showtime.id, ["A1", "A2", "A3", "A4"]) == {"A3": "2"}
    assert redis_client.zcard(holds.user_key(showtime.id, "1")) == 0
    assert redis_client.zrange(holds.expiry_key(showtime.id), 0, -1) == ["A3|2"]
    assert next_events(pubsub, 1, timeout=0.5) == []  # a refused lock announces nothing
    pubsub.close()


def test_booked_and_blocked_seats_cannot_be_held(showtime, redis_client):
    book_seats(showtime, ["B1", "B2"])
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                     ShowtimeSeat.label == "B5").values(state=SeatState.BLOCKED))
    db.session.commit()
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["B1", "B3", "B5"])
    assert err.value.code == "seat_taken" and err.value.details["seat_ids"] == ["B1", "B5"]
    assert holds.held_by(showtime.id) == {}
    holds.lock(showtime.id, "1", ["B3"])


def test_unknown_seats_bad_ids_and_showtimes(showtime):
    with pytest.raises(ValidationError) as err:
        holds.lock(showtime.id, "1", ["A1", "M1", "A19"])
    assert err.value.code == "unknown_seats" and err.value.details["seat_ids"] == ["M1", "A19"]
    with pytest.raises(ValidationError) as err:
        holds.lock(showtime.id, "1", ["a1", "A1; DROP"])
    assert err.value.code == "invalid_seat_ids"
    with pytest.raises(ValidationError):
        holds.lock(showtime.id, "1", [])
    with pytest.raises(NotFound):
        holds.lock(showtime.id + 999, "1", ["A1"])
    assert holds.held_by(showtime.id) == {}


def test_past_and_cancelled_showtimes_refuse_holds(ctx):
    past = make_showtime(starts_at=datetime.now(timezone.utc) - timedelta(minutes=5))
    with pytest.raises(Conflict) as err:
        holds.lock(past.id, "1", ["A1"])
    assert err.value.code == "showtime_started"
    cancelled = make_showtime()
    cancelled.status = ShowtimeStatus.CANCELLED
    db.session.commit()
    with pytest.raises(Conflict) as err:
        holds.lock(cancelled.id, "1", ["A1"])
    assert err.value.code == "showtime_cancelled"


def test_per_user_limit(app, showtime):
    maximum = app.config["MAX_SEATS_PER_BOOKING"]
    row = [f"E{n}" for n in range(1, maximum + 2)]
    holds.lock(showtime.id, "1", row[: maximum - 2])
    holds.lock(showtime.id, "1", row[maximum - 3: maximum])  # one renewal, two new: exactly the max
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", [row[maximum]])
    assert err.value.code == "seat_limit_exceeded" and err.value.details == {"max": maximum, "held": maximum}
    assert row[maximum] not in holds.held_by(showtime.id)
    holds.lock(showtime.id, "2", [row[maximum]])  # the limit is per user
    holds.release(showtime.id, "1", [row[0]])
    holds.lock(showtime.id, "1", ["F1"])
    with pytest.raises(ValidationError):
        holds.lock(showtime.id, "3", [f"G{n}" for n in range(1, maximum + 2)])


def test_release_and_extend_only_by_the_holder(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1", "A2"], ttl_ms=5_000)
    with pytest.raises(Forbidden) as err:
        holds.release(showtime.id, "2", ["A1", "A5"])
    assert err.value.code == "not_holder" and err.value.details["seat_ids"] == ["A1"]
    with pytest.raises(Forbidden) as err:
        holds.extend(showtime.id, "2", ["A2"], ttl_ms=60_000)
    assert err.value.code == "not_holder" and err.value.details["seat_ids"] == ["A2"]
    assert holds.held_by(showtime.id) == {"A1": "1", "A2": "1"}
    assert redis_client.pttl(holds.hold_key(showtime.id, "A2")) <= 5_000

    with pytest.raises(Conflict) as err:
        holds.extend(showtime.id, "1", ["A1", "A3"], ttl_ms=60_000)
    assert err.value.code == "hold_expired" and err.value.details["seat_ids"] == ["A3"]
    assert redis_client.pttl(holds.hold_key(showtime.id, "A1")) <= 5_000  # all or nothing

    renewed = holds.extend(showtime.id, "1", ["A1", "A2"], ttl_ms=60_000)
    assert redis_client.pttl(holds.hold_key(showtime.id, "A1")) > 5_000
    assert renewed.expires_at > datetime.now(timezone.utc) + timedelta(seconds=50)
    assert holds.release(showtime.id, "1", ["A1", "A3"]) == ["A1"]  # A3 held by nobody: skipped
    assert holds.release(showtime.id, "1", ["A1"]) == []  # idempotent
    assert holds.held_by(showtime.id) == {"A2": "1"}
    assert redis_client.zrange(holds.expiry_key(showtime.id), 0, -1) == ["A2|1"]


def test_events_carry_strictly_increasing_versions(showtime, redis_client):
    pubsub = listen(redis_client, showtime.id)
    first = holds.lock(showtime.id, "1", ["A1"])
    holds.lock(showtime.id, "2", ["A2", "A3"])
    holds.release(showtime.id, "1", ["A1"])
    booked = holds.publish(showtime.id, "seat_booked", ["A2"])
    events = next_events(pubsub, 4)
    pubsub.close()
    assert [(e["type"], e["seat_ids"]) for e in events] == [
        ("seat_locked", ["A1"]), ("seat_locked", ["A2", "A3"]), ("seat_released", ["A1"]), ("seat_booked", ["A2"])]
    versions = [e["version"] for e in events]
    assert versions == sorted(set(versions)) and versions[0] == first.version and versions[-1] == booked
    assert all(e["showtime_id"] == showtime.id for e in events)
    assert holds.snapshot(showtime.id)[0] == booked


def expire_holds(app):
    """The beat task, run through this app's Celery (the default Celery app is whichever was made last)."""
    return app.extensions["celery"].tasks[EXPIRE_HOLDS].apply().get()


def test_expiry_releases_and_broadcasts(app, showtime, redis_client):
    lapsed_seen = []
    handler = expiry.on_holds_lapsed(lapsed_seen.append)
    try:
        holds.lock(showtime.id, "1", ["A1", "A2"], ttl_ms=200)
        holds.lock(showtime.id, "2", ["A3"], ttl_ms=60_000)
        pubsub = listen(redis_client, showtime.id)
        assert expire_holds(app)["released"] == 0  # nothing lapsed yet
        time.sleep(0.35)
        outcome = expire_holds(app)
        assert outcome["released"] == 2 and outcome["lapsed"] == {str(showtime.id): {"1": ["A1", "A2"]}}
        events = next_events(pubsub, 1)
        pubsub.close()
        assert events and events[0]["type"] == "seat_released" and sorted(events[0]["seat_ids"]) == ["A1", "A2"]
        assert holds.held_by(showtime.id) == {"A3": "2"}
        assert [(x.showtime_id, x.by_user) for x in lapsed_seen] == [(showtime.id, {"1": ["A1", "A2"]})]
        assert expire_holds(app)["released"] == 0  # idempotent
        assert redis_client.zcard(holds.user_key(showtime.id, "1")) == 0
        # the index now points at the remaining hold's expiry, not at the lapsed ones
        score = redis_client.zscore(holds.index_key(), str(showtime.id))
        assert score == redis_client.zscore(holds.expiry_key(showtime.id), "A3|2")
    finally:
        expiry.remove_lapse_handler(handler)


def test_expiry_never_releases_a_renewed_hold(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"], ttl_ms=250)
    holds.extend(showtime.id, "1", ["A1"], ttl_ms=60_000)
    time.sleep(0.35)
    # the index still points at the old expiry: the sweep visits, finds the renewal, keeps it
    assert expiry.due_showtimes() == [showtime.id]
    assert expiry.sweep() == []
    assert holds.held_by(showtime.id) == {"A1": "1"}
    assert expiry.due_showtimes() == []


def test_relocked_seat_lapses_for_the_old_holder_without_a_release(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"], ttl_ms=150)
    time.sleep(0.3)
    holds.lock(showtime.id, "2", ["A1"], ttl_ms=60_000)  # the old hold lapsed; a new user took it
    pubsub = listen(redis_client, showtime.id)
    [lapsed] = expiry.sweep()
    assert lapsed.by_user == {"1": ["A1"]} and lapsed.released == []
    assert next_events(pubsub, 1, timeout=0.5) == []  # the seat is still locked: nothing to announce
    pubsub.close()
    assert holds.held_by(showtime.id) == {"A1": "2"}


def test_expiry_sweeps_do_not_overlap(app, showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"], ttl_ms=100)
    time.sleep(0.2)
    redis_client.set(sweep_lock_key(), "another-run", px=5_000)
    assert expire_holds(app)["skipped"] is True
    assert holds.held_by(showtime.id, ["A1"]) == {}  # lapsed in Redis, but not yet announced
    assert redis_client.zcard(holds.expiry_key(showtime.id)) == 1
    redis_client.delete(sweep_lock_key())
    assert expire_holds(app)["released"] == 1
    assert redis_client.get(sweep_lock_key()) is None


def test_release_as_booked_announces_seat_booked(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1", "A2"])
    pubsub = listen(redis_client, showtime.id)
    assert holds.release(showtime.id, "1", ["A1", "A2"], event="seat_booked") == ["A1", "A2"]
    [event] = next_events(pubsub, 1)
    pubsub.close()
    assert event["type"] == "seat_booked" and event["seat_ids"] == ["A1", "A2"]


# ---- hold deadlines and the cross-showtime cap ----------------------------------------------------

@pytest.fixture()
def short_life(app, monkeypatch):
    """Holds may last 2 s from a seat's first lock, and the seat may be held again 1 s after that."""
    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 2)
    monkeypatch.setitem(app.config, "HOLD_RELOCK_COOLDOWN_S", 1)
    return timedelta(seconds=2)


def test_relocking_and_renewing_never_pass_the_deadline(app, showtime, redis_client, short_life):
    first = holds.lock(showtime.id, "1", ["A1"], ttl_ms=1_000)
    # no earlier than the server's deadline (Redis counts whole milliseconds: allow the one it rounds to)
    deadline = datetime.now(timezone.utc) + short_life + timedelta(milliseconds=1)
    assert first.expires_at <= deadline
    for _ in range(app.config["HOLD_MAX_RENEWALS"]):
        renewed = holds.extend(showtime.id, "1", ["A1"], limit_renewals=True)  # a full 180 s TTL asked for
        assert renewed.expires_at <= deadline
        relocked = holds.lock(showtime.id, "1", ["A1"])  # re-locking renewed to a full TTL before
        assert relocked.expires_at <= deadline and relocked.holds[0]["expires_at"] <= deadline
        time.sleep(0.2)
    stretched = holds.extend(showtime.id, "1", ["A1"], ttl_ms=600_000)  # what create_order asks for
    assert stretched.expires_at <= deadline
    assert redis_client.pttl(holds.hold_key(showtime.id, "A1")) <= 2_000
    assert redis_client.zscore(holds.expiry_key(showtime.id), "A1|1") <= deadline.timestamp() * 1000
    time.sleep(max(0.0, (deadline - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    assert holds.held_by(showtime.id, ["A1"]) == {}
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["A1", "A2"])
    assert err.value.code == "hold_deadline_reached" and err.value.details["seat_ids"] == ["A1"]
    retry_at = datetime.fromisoformat(err.value.details["retry_at"])
    assert deadline < retry_at <= deadline + timedelta(seconds=1)
    assert holds.held_by(showtime.id, ["A1", "A2"]) == {}  # all or nothing
    holds.lock(showtime.id, "2", ["A1"])  # the cooldown is the former holder's only
    holds.release(showtime.id, "2", ["A1"])
    time.sleep(max(0.0, (retry_at - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    again = holds.lock(showtime.id, "1", ["A1"])  # after the cooldown, a fresh deadline
    assert again.expires_at > deadline + timedelta(seconds=1)


def test_release_and_relock_keep_the_deadline(app, showtime, redis_client, short_life):
    holds.lock(showtime.id, "1", ["A1", "A2"])
    deadline = datetime.now(timezone.utc) + short_life
    assert holds.release(showtime.id, "1", ["A1", "A2"]) == ["A1", "A2"]
    relocked = holds.lock(showtime.id, "1", ["A1"])
    assert relocked.expires_at <= deadline
    time.sleep(0.1)
    other = holds.lock(showtime.id, "1", ["A3"])  # a seat never held before: its own deadline
    assert other.expires_at > relocked.expires_at
    holds.release(showtime.id, "1", ["A1"])
    time.sleep(max(0.0, (deadline - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["A2"])  # released long before its deadline, still counted
    assert err.value.code == "hold_deadline_reached"
    holds.lock(showtime.id, "1", ["A4"])  # other seats stay open to the same buyer


def test_a_user_holds_a_bounded_number_of_seats_across_showtimes(ctx, monkeypatch):
    first, second, third = make_showtime(), make_showtime(), make_showtime()
    monkeypatch.setitem(ctx.config, "HOLD_MAX_SEATS_PER_USER", 12)
    holds.lock(first.id, "1", [f"A{n}" for n in range(1, 11)])
    holds.lock(second.id, "1", ["B1"], ttl_ms=300)
    holds.lock(second.id, "1", ["B2"])
    with pytest.raises(Conflict) as err:
        holds.lock(third.id, "1", ["C1", "C2"])
    assert err.value.code == "hold_limit_exceeded" and err.value.details == {"max": 12, "held": 12}
    assert holds.held_by(third.id) == {}  # all or nothing
    holds.lock(second.id, "1", ["B2"])  # renewing a seat one holds adds none
    holds.lock(third.id, "2", ["C1", "C2"])  # the cap is per user
    holds.release(first.id, "1", ["A1"])
    holds.lock(third.id, "1", ["C3"])
    time.sleep(0.35)  # B1 lapses (not yet swept): it no longer counts
    holds.lock(third.id, "1", ["C4"])
    with pytest.raises(Conflict) as err:
        holds.lock(third.id, "1", ["C5"])
    assert err.value.code == "hold_limit_exceeded" and err.value.details["held"] == 12


def test_deadline_and_cap_keys_expire(app, showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])
    lifetime_ms = app.config["HOLD_MAX_LIFETIME_S"] * 1000
    cooldown_ms = app.config["HOLD_RELOCK_COOLDOWN_S"] * 1000
    assert 0 < redis_client.pttl(holds.deadline_key(showtime.id, "1")) <= lifetime_ms + cooldown_ms
    assert 0 < redis_client.pttl(holds.user_holds_key("1")) <= app.config["SEAT_LOCK_TTL_MS"]
    holds.release(showtime.id, "1", ["A1"])
    assert redis_client.zcard(holds.user_holds_key("1")) == 0
    assert redis_client.zscore(holds.deadline_key(showtime.id, "1"), "A1") is not None  # kept for the cooldown
