"""The lock's Redis copy of the seat facts follows every committed change and never outlives one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.errors import Conflict
from app.extensions import db
from app.models import SeatState, ShowtimeSeat, ShowtimeStatus
from app.services.seats import facts as seat_facts
from app.services.seats import holds, keys
from tests.factories import make_showtime
from tests.services.test_holds import book_seats


@pytest.fixture()
def showtime(ctx):
    return make_showtime()


def test_a_lock_fills_the_cache_and_uses_it(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])
    facts = redis_client.hgetall(keys.hash_key(showtime.id))
    assert facts["A1"] == SeatState.AVAILABLE.value and facts["#status"] == ShowtimeStatus.SCHEDULED.value
    assert 0 < redis_client.pttl(keys.hash_key(showtime.id)) <= 30_000


def test_seats_booked_or_blocked_after_the_cache_filled_cannot_be_held(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])  # cache filled while B1, B5 are free
    book_seats(showtime, ["B1"])  # a bulk UPDATE naming the showtime, then commit
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.id == db.session.scalar(
        sa.select(ShowtimeSeat.id).where(ShowtimeSeat.showtime_id == showtime.id, ShowtimeSeat.label == "B5")))
        .values(state=SeatState.BLOCKED))  # a bulk UPDATE that does not name it: every cache is dropped
    db.session.commit()
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "2", ["B1", "B3", "B5"])
    assert err.value.code == "seat_taken" and err.value.details["seat_ids"] == ["B1", "B5"]
    seat = db.session.scalar(sa.select(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                           ShowtimeSeat.label == "B1"))
    seat.state, seat.booking_id = SeatState.AVAILABLE, None  # an ORM change frees it again
    db.session.commit()
    holds.lock(showtime.id, "2", ["B1"])


def test_showtime_cancelled_or_moved_after_the_cache_filled(showtime):
    holds.lock(showtime.id, "1", ["A1"])
    showtime.starts_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["A2"])
    assert err.value.code == "showtime_started"
    showtime.starts_at = datetime.now(timezone.utc) + timedelta(days=1)
    showtime.status = ShowtimeStatus.CANCELLED
    db.session.commit()
    with pytest.raises(Conflict) as err:
        holds.lock(showtime.id, "1", ["A2"])
    assert err.value.code == "showtime_cancelled"


def test_a_fill_that_raced_a_change_is_refused(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])
    redis_client.delete(keys.hash_key(showtime.id))
    overall, own = redis_client.get(keys.global_gen_key()), redis_client.get(keys.gen_key(showtime.id))
    stale_gen = f"{overall or 0}:{own or 0}"
    seat_facts.invalidate({showtime.id})  # a commit announced while the reader was in the database
    assert seat_facts.fill(showtime.id, stale_gen) is False
    assert not redis_client.exists(keys.hash_key(showtime.id))


def test_a_rolled_back_change_invalidates_nothing(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])
    before = redis_client.get(keys.gen_key(showtime.id))
    showtime.status = ShowtimeStatus.CANCELLED
    db.session.flush()
    db.session.rollback()
    assert redis_client.get(keys.gen_key(showtime.id)) == before
    holds.lock(showtime.id, "1", ["A2"])
