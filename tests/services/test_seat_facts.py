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


def test_a_fill_that_raced_a_change_is_refused(showtime, redis_client, monkeypatch):
    holds.lock(showtime.id, "1", ["A1"])
    redis_client.delete(keys.hash_key(showtime.id))
    overall, own = redis_client.get(keys.global_gen_key()), redis_client.get(keys.gen_key(showtime.id))
    stale_gen = f"{overall or 0}:{own or 0}"
    real_read = seat_facts.read_showtime

    def read_while_a_commit_lands(showtime_id):
        rows = real_read(showtime_id)
        seat_facts.invalidate({showtime_id})  # a commit announced while the reader was in the database
        return rows

    monkeypatch.setattr(seat_facts, "read_showtime", read_while_a_commit_lands)
    assert seat_facts.fill(showtime.id, stale_gen) is False
    assert not redis_client.exists(keys.hash_key(showtime.id))


def test_a_fill_reads_for_the_current_generation_and_not_twice(showtime, redis_client, monkeypatch):
    """A request that found the copy outdated and then waited its turn reads the database only when no
    current copy was stored meanwhile, and then for the generation current now (not the one it saw)."""
    holds.lock(showtime.id, "1", ["A1"])
    overall, own = redis_client.get(keys.global_gen_key()), redis_client.get(keys.gen_key(showtime.id))
    seen = f"{overall or 0}:{own or 0}"
    seat_facts.invalidate({showtime.id})  # a later change than the one the caller saw
    reads = []
    real_read = seat_facts.read_showtime
    monkeypatch.setattr(seat_facts, "read_showtime", lambda i: reads.append(i) or real_read(i))
    assert seat_facts.fill(showtime.id, seen) is True
    assert seat_facts.fill(showtime.id, seen) is True  # the current copy is there: nothing read
    assert reads == [showtime.id]
    holds.lock(showtime.id, "1", ["A2"])  # and the lock trusts it


def test_a_rolled_back_change_invalidates_nothing(showtime, redis_client):
    holds.lock(showtime.id, "1", ["A1"])
    before = redis_client.get(keys.gen_key(showtime.id))
    showtime.status = ShowtimeStatus.CANCELLED
    db.session.flush()
    db.session.rollback()
    assert redis_client.get(keys.gen_key(showtime.id)) == before
    holds.lock(showtime.id, "1", ["A2"])


def test_an_announcement_refused_by_a_full_pool_is_made_again(showtime, redis_client, monkeypatch):
    """After a commit, a bump the pool refused (a sell-out's peak) must still reach Redis soon: otherwise a
    sold seat shows as free for SEAT_CACHE_TTL_S."""
    import time

    from app.errors import PoolExhausted

    class FullOnce:
        def __init__(self, real):
            self.real, self.refusals = real, 1

        def pipeline(self, transaction=False):
            if self.refusals:
                self.refusals -= 1
                raise PoolExhausted("No connection available.")
            return self.real.pipeline(transaction=transaction)

    monkeypatch.setattr(seat_facts, "BUMP_RETRIES_S", (0.05, 0.1))
    key = keys.gen_key(showtime.id)
    before = int(redis_client.get(key) or 0)
    seat_facts.invalidate({showtime.id}, client=FullOnce(redis_client))
    deadline = time.monotonic() + 10
    while int(redis_client.get(key) or 0) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert int(redis_client.get(key) or 0) == before + 1


def test_a_bulk_update_naming_its_showtime_invalidates_that_showtime_only(showtime, redis_client):
    """A booking's UPDATE names its showtime: it must bump that showtime's counter, not the global one
    (which drops every showtime's copy and every waiting room's settings copy on each sale)."""
    other = make_showtime()
    holds.lock(other.id, "1", ["A1"])  # another showtime's copy, filled
    before_global = redis_client.get(keys.global_gen_key())
    before_own = int(redis_client.get(keys.gen_key(showtime.id)) or 0)
    db.session.execute(sa.update(ShowtimeSeat)
                       .where(ShowtimeSeat.showtime_id == showtime.id, ShowtimeSeat.label.in_(["C1"]))
                       .values(state=SeatState.BLOCKED).execution_options(synchronize_session=False))
    db.session.commit()
    assert redis_client.get(keys.global_gen_key()) == before_global
    assert int(redis_client.get(keys.gen_key(showtime.id))) == before_own + 1
