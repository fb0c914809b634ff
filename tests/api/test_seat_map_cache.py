"""The seat map's read path (issue 12): built from a cached template and one Redis read, it must say
exactly what the database and the holds say, and its ETag must change exactly when the map does."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import SeatState, ShowtimeSeat
from app.services.seats import holds
from app.services.seats.seatmap import templates
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import book


def _map(client, showtime_id, headers=None, etag=None):
    sent = dict(headers or {})
    if etag:
        sent["If-None-Match"] = etag
    return client.get(f"/api/showtimes/{showtime_id}/seats", headers=sent)


def _truth(showtime_id, viewer=None):
    """Every seat's status as the database and Redis have it, computed without the seat map's code."""
    seats = db.session.execute(sa.select(ShowtimeSeat.label, ShowtimeSeat.state, ShowtimeSeat.price,
                                         ShowtimeSeat.section)
                               .where(ShowtimeSeat.showtime_id == showtime_id)).all()
    db.session.commit()
    _version, held = holds.snapshot(showtime_id)
    out = {}
    for label, state, price, section in seats:
        if state is not SeatState.AVAILABLE:
            status = state.value
        else:
            status = "locked" if label in held else "available"
        out[label] = (status, status == "locked" and held.get(label) == viewer, price, section)
    return out


def _shown(body):
    return {s["id"]: (s["status"], s["mine"], s["price"], s["section"]) for s in body["seats"]}


def _counts(truth):
    counts = {"available": 0, "locked": 0, "booked": 0, "blocked": 0}
    for status, *_ in truth.values():
        counts[status] += 1
    return counts


def _check(client, showtime_id, user=None):
    body = _map(client, showtime_id, auth_headers(user) if user else None).get_json()
    truth = _truth(showtime_id, str(user.id) if user else None)
    assert _shown(body) == truth
    assert body["counts"] == _counts(truth)
    return body


def test_the_etag_changes_when_a_seat_is_held_released_sold_or_blocked(sclient, sctx):
    showtime, alice, bob = make_showtime(), make_user(), make_user()
    sid = showtime.id
    first = _map(sclient, sid)
    assert first.status_code == 200 and first.headers["ETag"]
    etag = first.headers["ETag"]
    again = _map(sclient, sid, etag=etag)
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    seen = {etag}

    def changed():
        response = _map(sclient, sid, etag=next(iter(seen)))
        assert response.status_code == 200
        new = response.headers["ETag"]
        assert new not in seen
        seen.add(new)
        assert _map(sclient, sid, etag=new).status_code == 304  # and unchanged until the next change
        return new

    holds.lock(sid, str(alice.id), ["C3"])
    changed()
    holds.release(sid, str(alice.id), ["C3"])
    changed()
    book(sclient, bob, sid, ["D4", "D5"])
    changed()
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == sid, ShowtimeSeat.label == "E1")
                       .values(state=SeatState.BLOCKED))
    db.session.commit()
    changed()


def test_the_etag_is_per_viewer_because_of_mine_marks(client, ctx):
    showtime, alice, bob = make_showtime(), make_user(), make_user()
    holds.lock(showtime.id, str(alice.id), ["A1"])
    as_alice = _map(client, showtime.id, auth_headers(alice))
    as_bob = _map(client, showtime.id, auth_headers(bob))
    assert {s["id"]: s["mine"] for s in as_alice.get_json()["seats"]}["A1"] is True
    assert {s["id"]: s["mine"] for s in as_bob.get_json()["seats"]}["A1"] is False
    assert as_alice.headers["ETag"] != as_bob.headers["ETag"]
    assert _map(client, showtime.id, auth_headers(bob), etag=as_alice.headers["ETag"]).status_code == 200
    assert as_alice.headers["Vary"] == "Authorization"
    assert "private" in as_alice.headers["Cache-Control"]
    assert "no-cache" in _map(client, showtime.id).headers["Cache-Control"]


def test_the_cached_map_equals_the_database_after_sales_cancellations_blocks_and_a_redis_flush(sclient, sctx, shop):
    showtime, alice, bob = make_showtime(), make_user(), make_user()
    sid = showtime.id
    _check(sclient, sid, alice)  # the template is cached from here on
    _order, _paid, booking = book(sclient, alice, sid, ["F5", "F6"])
    holds.lock(sid, str(bob.id), ["G1"])
    _check(sclient, sid, alice)
    _check(sclient, sid, bob)
    cancelled = sclient.post(f"/api/payments/bookings/{booking['id']}/cancel", headers=auth_headers(alice))
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _check(sclient, sid)["counts"]["booked"] == 0
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == sid,
                                                     ShowtimeSeat.label.in_(["H1", "H2"]))
                       .values(state=SeatState.BLOCKED))
    db.session.commit()
    assert _check(sclient, sid)["counts"]["blocked"] == 2
    book(sclient, bob, sid, ["J1"])
    before_flush = _check(sclient, sid, bob)
    assert before_flush["counts"] == {"available": 216 - 4, "locked": 1, "booked": 1, "blocked": 2}
    # Redis loses everything (holds, the facts copy, the generation counters, which start again at 0):
    # the map must not fall back to an older cached template whose key happens to match again.
    shop.extensions["redis"].flushdb()
    after = _check(sclient, sid, bob)
    assert after["counts"] == {"available": 216 - 3, "locked": 0, "booked": 1, "blocked": 2}
    assert after["holds_available"] is True


def test_a_price_change_and_a_screen_layout_change_reach_the_cached_map(client, ctx):
    from app.models import Role

    showtime = make_showtime()
    staff = make_user(role=Role.ADMIN)
    sid, screen_id = showtime.id, showtime.screen_id
    _check(client, sid)
    layout = dict(showtime.screen.layout)
    db.session.commit()
    response = client.patch(f"/api/admin/showtimes/{sid}", json={"prices": {"regular": 12345}},
                            headers=auth_headers(staff))
    assert response.status_code == 200, response.get_json()
    body = _check(client, sid)
    assert {s["name"]: s["price"] for s in body["sections"]}["regular"] == 12345
    layout["sections"] = [{**s, "label": "Front stalls"} if s["name"] == "regular" else s
                          for s in layout["sections"]]
    response = client.patch(f"/api/admin/screens/{screen_id}", json={"layout": layout}, headers=auth_headers(staff))
    assert response.status_code == 200, response.get_json()
    labels = {s["name"]: s["label"] for s in _map(client, sid).get_json()["sections"]}
    assert labels["regular"] == "Front stalls"


def test_a_redis_flush_never_brings_back_an_older_template(client, ctx, app):
    """The generation counters start again at 0 after a flush, so a template cached under a generation
    would match again; each copy of the seat facts has its own id instead."""
    from app.models import Role

    showtime, staff = make_showtime(), make_user(role=Role.ADMIN)
    sid = showtime.id
    app.extensions["redis"].flushdb()
    assert {s["name"]: s["price"] for s in _check(client, sid)["sections"]}["regular"] != 54321  # cached
    response = client.patch(f"/api/admin/showtimes/{sid}", json={"prices": {"regular": 54321}},
                            headers=auth_headers(staff))
    assert response.status_code == 200, response.get_json()
    app.extensions["redis"].flushdb()  # before anyone read the map again
    assert {s["name"]: s["price"] for s in _check(client, sid)["sections"]}["regular"] == 54321


def test_the_map_is_served_from_the_database_when_redis_is_down(client, ctx, monkeypatch):
    import redis

    from app.services.seats import seatmap

    showtime = make_showtime()
    templates.clear()

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(seatmap, "_read_live", down)
    response = _map(client, showtime.id)
    assert response.status_code == 200
    body = response.get_json()
    assert body["holds_available"] is False and body["version"] is None
    assert body["counts"]["available"] == 216


def test_an_unknown_showtime_is_404(client, ctx):
    response = _map(client, 999999)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "showtime_not_found"


def test_a_booking_keeps_the_template_and_concurrent_fills_read_the_database_once(sclient, sctx, shop, monkeypatch):
    """A sale changes seat states only: the map's template outlives it. And the requests that all find the
    facts outdated right after a sale wait for one fill instead of each reading the database."""
    import threading

    from app.services.seats import facts, seatmap
    from app.services.seats.keys import gen_key, global_gen_key

    showtime, alice = make_showtime(), make_user()
    sid = showtime.id
    _check(sclient, sid)
    loads, reads = [], []
    real_load, real_read = seatmap.MapTemplate.load.__func__, facts.read_showtime
    monkeypatch.setattr(seatmap.MapTemplate, "load", classmethod(lambda cls, i: loads.append(i) or real_load(cls, i)))
    monkeypatch.setattr(facts, "read_showtime", lambda i: reads.append(i) or real_read(i))
    book(sclient, alice, sid, ["B2"])
    assert _check(sclient, sid, alice)["counts"]["booked"] == 1
    assert loads == []  # the same template, the new states from the facts

    facts.invalidate({sid})
    client = shop.extensions["redis"]
    gen = f"{client.get(global_gen_key()) or 0}:{client.get(gen_key(sid)) or 0}"
    reads.clear()
    start = threading.Barrier(8)
    results = []

    def one() -> None:
        with shop.app_context():
            start.wait()
            results.append(facts.fill(sid, gen))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [True] * 8
    assert reads == [sid]


def test_a_revoked_token_gets_401_from_the_map_while_redis_does_not_answer_it(client, ctx, monkeypatch):
    """The map checks the token's revocation inside its one Redis step; when that step cannot run (Redis
    down, the map from the database alone), the full check must still refuse the token, on both paths."""
    import redis

    from app.services.seats import seatmap

    showtime = make_showtime()
    headers = auth_headers(make_user())
    assert _map(client, showtime.id, headers).status_code == 200
    assert client.post("/api/user/logout", headers=headers).status_code == 204

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(seatmap, "_read_live", down)
    for path in (f"/api/showtimes/{showtime.id}/seats",           # the hold lane
                 f"/api/showtimes/{showtime.id}/seats?view=1"):   # the view (a query string skips the lane)
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "token_revoked"
    assert _map(client, showtime.id).status_code == 200  # anonymous viewers still get the database's map


def test_fills_of_unknown_showtimes_never_hold_up_a_real_showtimes_fill(client, ctx, app, monkeypatch):
    """One fill at a time per showtime: a flood of requests for ids that do not exist (whose fills are never
    cached) must not queue the refill of a real showtime behind them."""
    import threading

    from app.errors import NotFound
    from app.services.seats import facts

    showtime = make_showtime()
    fake_id = showtime.id + 64  # shared a lock stripe with the real showtime before
    monkeypatch.setattr(facts, "FILL_WAIT_S", 60.0)
    reading = threading.Event()
    release = threading.Event()
    real_read = facts.read_showtime

    def slow_read(showtime_id):
        if showtime_id == fake_id:
            reading.set()
            release.wait(30)
            raise NotFound("no such showtime", code="showtime_not_found")
        return real_read(showtime_id)

    monkeypatch.setattr(facts, "read_showtime", slow_read)

    def fake_fill():
        with app.app_context():
            try:
                facts.fill(fake_id, "0:0")
            except NotFound:
                pass

    flooder = threading.Thread(target=fake_fill)
    flooder.start()
    assert reading.wait(10)
    done = []

    def real_fill():
        with app.app_context():
            done.append(facts.fill(showtime.id, "0:0"))
            db.session.remove()

    worker = threading.Thread(target=real_fill)
    worker.start()
    worker.join(20)  # the fake id's fill still holds its lock until released below
    finished = not worker.is_alive()
    release.set()
    flooder.join(30)
    worker.join(30)
    assert finished and done == [True]
