"""Staff API: catalogue management, showtimes, bookings, sales, users and roles; every write audited."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    Booking,
    BookingState,
    Movie,
    Order,
    OrderState,
    Role,
    SeatState,
    ShowtimeSeat,
    ShowtimeStatus,
    User,
)
from app.services.layouts import default_layout
from tests.factories import auth_headers, make_movie, make_screen, make_showtime, make_user


def _audits(action: str | None = None) -> list[AuditLog]:
    stmt = sa.select(AuditLog).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt))


def _later(days: int = 2, hour: int = 10) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0,
                                                                       microsecond=0).isoformat()


def _book(showtime, user, labels=("A1", "A2"), amount=40_000, state=BookingState.CONFIRMED) -> Booking:
    """A sold booking, written directly (the purchase flow belongs to the payments work)."""
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Order)) or 0
    order = Order(public_id=f"ord_{showtime.id}_{n}", user_id=user.id, showtime_id=showtime.id,
                  seat_labels=list(labels), amount=amount, gateway="dev", gateway_order_id=f"g_{showtime.id}_{n}",
                  state=OrderState.BOOKED, expires_at=datetime.now(timezone.utc) + timedelta(minutes=10))
    db.session.add(order)
    db.session.flush()
    booking = Booking(reference=f"REF{showtime.id}X{n}", user_id=user.id, showtime_id=showtime.id, order_id=order.id,
                      seat_labels=list(labels), amount=amount, state=state)
    db.session.add(booking)
    db.session.flush()
    if state is BookingState.CONFIRMED:
        db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                         ShowtimeSeat.label.in_(labels))
                           .values(state=SeatState.BOOKED, booking_id=booking.id))
    db.session.commit()
    return booking


def test_movie_create_update_deactivate_with_audit(client, ctx):
    admin = make_user(role=Role.ADMIN)
    headers = auth_headers(admin)
    created = client.post("/api/admin/movies", headers=headers, json={
        "title": "Laapataa", "genre": "Drama", "language": "Hindi", "duration_min": 124, "certificate": "U",
        "release_date": "2024-03-01", "poster_url": "https://img.example.com/p.jpg"})
    assert created.status_code == 201, created.get_json()
    movie_id = created.get_json()["id"]
    assert created.get_json()["is_active"] is True

    bad = client.post("/api/admin/movies", headers=headers, json={"title": "", "genre": "Drama",
                                                                  "language": "Hindi", "duration_min": "long"})
    assert bad.status_code == 422
    assert {"title", "duration_min"} <= set(bad.get_json()["error"]["details"]["fields"])

    updated = client.patch(f"/api/admin/movies/{movie_id}", headers=headers, json={"title": "Laapataa Ladies"})
    assert updated.status_code == 200 and updated.get_json()["title"] == "Laapataa Ladies"
    assert client.get(f"/api/movies/{movie_id}").status_code == 200

    gone = client.delete(f"/api/admin/movies/{movie_id}", headers=headers)
    assert gone.status_code == 200 and gone.get_json()["is_active"] is False
    assert client.get(f"/api/movies/{movie_id}").status_code == 404
    listed = client.get("/api/admin/movies?q=laapataa", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["is_active"] is False

    assert client.patch("/api/admin/movies/999999", headers=headers, json={"title": "x"}).status_code == 404

    audits = _audits()
    assert [a.action for a in audits] == ["movie.create", "movie.update", "movie.deactivate"]
    assert all(a.actor_id == admin.id and a.entity == "movie" and a.entity_id == str(movie_id) for a in audits)
    assert audits[0].changes["title"] == "Laapataa" and audits[0].changes["release_date"] == "2024-03-01"
    assert audits[1].changes == {"title": ["Laapataa", "Laapataa Ladies"]}
    assert audits[0].created_at.tzinfo is not None


def test_failed_write_leaves_no_audit_row(client, ctx):
    admin = make_user(role=Role.ADMIN)
    theatre = client.post("/api/admin/theatres", headers=auth_headers(admin),
                          json={"name": "PVR", "city": "Pune"}).get_json()
    first = client.post(f"/api/admin/theatres/{theatre['id']}/screens", headers=auth_headers(admin),
                        json={"name": "Audi 1"})
    assert first.status_code == 201
    duplicate = client.post(f"/api/admin/theatres/{theatre['id']}/screens", headers=auth_headers(admin),
                            json={"name": "Audi 1"})
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "screen_name_taken"
    assert [a.action for a in _audits()] == ["theatre.create", "screen.create"]


def test_theatres_and_screens_with_layout_validation(client, ctx):
    admin = make_user(role=Role.ADMIN)
    headers = auth_headers(admin)
    theatre = client.post("/api/admin/theatres", headers=headers,
                          json={"name": "INOX", "city": "Mumbai", "address": "Nariman Point"})
    assert theatre.status_code == 201
    theatre_id = theatre.get_json()["id"]
    renamed = client.patch(f"/api/admin/theatres/{theatre_id}", headers=headers, json={"name": "INOX Nariman"})
    assert renamed.get_json()["name"] == "INOX Nariman"

    broken = default_layout()
    broken["sections"] = broken["sections"][:1]  # rows I-L in no section
    refused = client.post(f"/api/admin/theatres/{theatre_id}/screens", headers=headers,
                          json={"name": "Audi 2", "layout": broken})
    assert refused.status_code == 422 and "sections" in refused.get_json()["error"]["details"]["fields"]
    not_a_layout = client.post(f"/api/admin/theatres/{theatre_id}/screens", headers=headers,
                               json={"name": "Audi 2", "layout": {"rows": "ABC"}})
    assert not_a_layout.status_code == 422

    small = {"rows": ["A", "B"], "seats_per_row": 5,
             "sections": [{"name": "gold", "label": "Gold", "rows": ["A", "B"], "price": 50_000}]}
    screen = client.post(f"/api/admin/theatres/{theatre_id}/screens", headers=headers,
                         json={"name": "Gold", "layout": small})
    assert screen.status_code == 201 and screen.get_json()["layout"]["seats_per_row"] == 5
    assert client.post("/api/admin/theatres/999999/screens", headers=headers,
                       json={"name": "X"}).status_code == 404
    bigger = {**small, "seats_per_row": 6}
    changed = client.patch(f"/api/admin/screens/{screen.get_json()['id']}", headers=headers, json={"layout": bigger})
    assert changed.status_code == 200 and changed.get_json()["layout"]["seats_per_row"] == 6
    listed = client.get("/api/admin/theatres?city=mumbai", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["screens"][0]["name"] == "Gold"
    assert [a.action for a in _audits()] == ["theatre.create", "theatre.update", "screen.create", "screen.update"]
    assert _audits("screen.update")[0].changes["layout"][1]["seats_per_row"] == 6


def test_showtime_create_update_cancel(client, ctx):
    admin = make_user(role=Role.ADMIN)
    headers = auth_headers(admin)
    movie = make_movie(duration_min=100)
    screen = make_screen()
    body = {"movie_id": movie.id, "screen_id": screen.id, "starts_at": _later(), "prices": {"premium": 50_000}}
    created = client.post("/api/admin/showtimes", headers=headers, json=body)
    assert created.status_code == 201, created.get_json()
    showtime_id = created.get_json()["id"]
    seats = client.get(f"/api/showtimes/{showtime_id}/seats").get_json()["seats"]
    assert len(seats) == 12 * 18
    assert {s["price"] for s in seats if s["section"] == "premium"} == {50_000}

    clash = client.post("/api/admin/showtimes", headers=headers, json={**body, "prices": {}})
    assert clash.status_code == 422 and clash.get_json()["error"]["code"] == "showtime_clash"
    past = client.post("/api/admin/showtimes", headers=headers,
                       json={**body, "starts_at": "2020-01-01T10:00:00+00:00"})
    assert past.status_code == 422 and past.get_json()["error"]["code"] == "showtime_in_past"
    naive = client.post("/api/admin/showtimes", headers=headers, json={**body, "starts_at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422
    unknown = client.post("/api/admin/showtimes", headers=headers,
                          json={**body, "starts_at": _later(5), "prices": {"balcony": 1}})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_sections"
    assert client.post("/api/admin/showtimes", headers=headers,
                       json={**body, "movie_id": 999999}).status_code == 404

    moved_to = _later(3, 18)
    moved = client.patch(f"/api/admin/showtimes/{showtime_id}", headers=headers,
                         json={"starts_at": moved_to, "prices": {"regular": 15_000}})
    assert moved.status_code == 200, moved.get_json()
    assert datetime.fromisoformat(moved.get_json()["starts_at"]) == datetime.fromisoformat(moved_to)
    seats = client.get(f"/api/showtimes/{showtime_id}/seats").get_json()["seats"]
    assert {s["price"] for s in seats if s["section"] == "regular"} == {15_000}

    cancelled = client.post(f"/api/admin/showtimes/{showtime_id}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["showtime"]["status"] == ShowtimeStatus.CANCELLED.value
    again = client.post(f"/api/admin/showtimes/{showtime_id}/cancel", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "showtime_cancelled"
    assert [a.action for a in _audits()] == ["showtime.create", "showtime.update", "showtime.cancel"]
    assert _audits("showtime.update")[0].changes["prices"] == {"regular": 15_000}


def test_showtime_with_bookings_cannot_be_moved_but_can_be_cancelled(client, ctx):
    admin = make_user(role=Role.ADMIN)
    showtime = make_showtime()
    booking = _book(showtime, make_user())
    headers = auth_headers(admin)
    moved = client.patch(f"/api/admin/showtimes/{showtime.id}", headers=headers, json={"starts_at": _later(4)})
    assert moved.status_code == 409 and moved.get_json()["error"]["code"] == "showtime_has_bookings"
    assert _audits() == []
    cancel = client.post(f"/api/admin/showtimes/{showtime.id}/cancel", headers=headers)
    assert cancel.status_code == 200, cancel.get_json()
    assert cancel.get_json()["bookings_cancelled"] == 1
    db.session.refresh(booking)
    assert booking.state is BookingState.CANCELLED
    assert [a.action for a in _audits()] == ["showtime.cancel"]


def test_bookings_list_and_sales(client, ctx):
    admin = make_user(role=Role.ADMIN)
    headers = auth_headers(admin)
    showtime = make_showtime()
    other = make_showtime()
    buyer = make_user()
    _book(showtime, buyer, ("A1", "A2"), 40_000)
    _book(showtime, buyer, ("L1",), 35_000)
    _book(showtime, buyer, ("B1",), 20_000, state=BookingState.CANCELLED)
    _book(other, buyer, ("C3",), 20_000)
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                     ShowtimeSeat.label == "A9").values(state=SeatState.BLOCKED))
    db.session.commit()

    listed = client.get(f"/api/admin/bookings?showtime_id={showtime.id}", headers=headers).get_json()
    assert listed["total"] == 3
    assert {tuple(b["seats"]) for b in listed["items"]} == {("A1", "A2"), ("L1",), ("B1",)}
    confirmed = client.get(f"/api/admin/bookings?showtime_id={showtime.id}&state=confirmed", headers=headers)
    assert confirmed.get_json()["total"] == 2
    assert client.get("/api/admin/bookings?per_page=0", headers=headers).status_code == 422

    sales = client.get(f"/api/admin/showtimes/{showtime.id}/sales", headers=headers)
    assert sales.status_code == 200
    data = sales.get_json()
    assert data["seats_total"] == 216
    assert data["seats"] == {"available": 216 - 3 - 1, "booked": 3, "blocked": 1}
    assert data["bookings_confirmed"] == 2 and data["bookings_cancelled"] == 1
    assert data["revenue"] == {"amount": 75_000, "currency": "INR"}
    by_section = {s["name"]: s for s in data["sections"]}
    assert by_section["premium"]["booked"] == 1 and by_section["regular"]["booked"] == 2
    assert client.get("/api/admin/showtimes/999999/sales", headers=headers).status_code == 404


def test_users_list_and_role_management(client, ctx):
    superadmin = make_user(role=Role.SUPERADMIN, email="root@example.com")
    admin = make_user(role=Role.ADMIN, email="staff@example.com")
    user = make_user(email="asha@example.com", name="Asha")
    listed = client.get("/api/admin/users?q=ASHA", headers=auth_headers(admin)).get_json()
    assert listed["total"] == 1 and listed["items"][0]["email"] == "asha@example.com"
    assert "password_hash" not in listed["items"][0]
    admins = client.get("/api/admin/users?role=admin", headers=auth_headers(admin)).get_json()
    assert [u["email"] for u in admins["items"]] == ["staff@example.com"]

    # Admins cannot manage admins.
    refused = client.put(f"/api/admin/users/{user.id}/role", json={"role": "admin"}, headers=auth_headers(admin))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "superadmin_only"

    promoted = client.put(f"/api/admin/users/{user.id}/role", json={"role": "admin"},
                          headers=auth_headers(superadmin))
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "admin"
    assert client.get("/api/admin/users", headers=auth_headers(user)).status_code == 200
    protected = client.put(f"/api/admin/users/{superadmin.id}/role", json={"role": "user"},
                           headers=auth_headers(superadmin))
    assert protected.status_code == 403 and protected.get_json()["error"]["code"] == "superadmin_protected"
    assert client.put("/api/admin/users/999999/role", json={"role": "admin"},
                      headers=auth_headers(superadmin)).status_code == 404
    demoted = client.put(f"/api/admin/users/{user.id}/role", json={"role": "user"}, headers=auth_headers(superadmin))
    assert demoted.get_json()["role"] == "user"

    audits = _audits()
    assert [(a.action, a.actor_id, a.entity_id, a.changes) for a in audits] == [
        ("user.promote", superadmin.id, str(user.id), {"role": ["user", "admin"]}),
        ("user.demote", superadmin.id, str(user.id), {"role": ["admin", "user"]}),
    ]
    trail = client.get("/api/admin/audit?entity=user", headers=auth_headers(admin)).get_json()
    assert [e["action"] for e in trail["items"]] == ["user.demote", "user.promote"]
    assert db.session.scalar(sa.select(User.role).where(User.id == superadmin.id)) is Role.SUPERADMIN


def test_staff_write_and_audit_commit_together(client, ctx, monkeypatch):
    """If the audit row cannot be written, the change it describes is rolled back too."""
    from app.services import catalogue_admin as staff

    admin = make_user(role=Role.ADMIN)

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(staff, "audit", broken_audit)
    response = client.post("/api/admin/movies", headers=auth_headers(admin),
                           json={"title": "Ghost", "genre": "Drama", "language": "Hindi", "duration_min": 90})
    assert response.status_code == 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Movie)) == 0


def test_suspending_a_user_cuts_every_token_at_once(client, ctx, redis_client):
    user = make_user(email="suspend-me@example.com", password="right-password")
    admin = make_user(role=Role.ADMIN)
    login = {"email": "suspend-me@example.com", "password": "right-password"}
    tokens = client.post("/api/user/login", json=login).get_json()
    mine = {"Authorization": f"Bearer {tokens['access_token']}"}
    showtime = make_showtime()
    seats = f"/api/showtimes/{showtime.id}"
    assert client.post(f"{seats}/redis-lock-seats", json={"seat_ids": ["A1"]}, headers=mine).status_code == 200

    suspended = client.put(f"/api/admin/users/{user.id}/active", json={"active": False}, headers=auth_headers(admin))
    assert suspended.status_code == 200 and suspended.get_json()["is_active"] is False

    def refused() -> list[tuple[int, str]]:
        answers = [client.get("/api/user/me", headers=mine),
                   client.post(f"{seats}/redis-lock-seats", json={"seat_ids": ["A2"]}, headers=mine),   # in-script
                   client.post(f"{seats}/redis-unlock-seats", json={"seat_ids": ["A1"]}, headers=mine),
                   client.post(f"{seats}/redis-lock-seats", json={"seat_ids": ["zz"]}, headers=mine),   # 422 path
                   client.post("/api/payments/create-order", json={"showtime_id": showtime.id, "seat_ids": ["A1"]},
                               headers=mine),
                   client.get("/api/user/bookings", headers=mine),
                   client.post("/api/user/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})]
        return [(r.status_code, r.get_json()["error"]["code"]) for r in answers]

    assert refused() == [(401, "account_inactive")] * 7
    assert client.post("/api/user/login", json=login).status_code == 401
    redis_client.flushdb()  # Redis forgets: the suspension comes back from the database
    assert refused() == [(401, "account_inactive")] * 7
    holders = client.get(f"{seats}/redis-inspect-locks?seat_ids=A1,A2", headers=auth_headers(admin)).get_json()
    assert [s.get("holder_id") for s in holders["seats"]] == [None, None]  # flushed; nothing new was held

    restored = client.put(f"/api/admin/users/{user.id}/active", json={"active": True}, headers=auth_headers(admin))
    assert restored.status_code == 200 and restored.get_json()["is_active"] is True
    assert client.get("/api/user/me", headers=mine).status_code == 200
    assert client.post(f"{seats}/redis-lock-seats", json={"seat_ids": ["A2"]}, headers=mine).status_code == 200
    assert client.post("/api/user/login", json=login).status_code == 200
    assert [a.action for a in _audits() if a.entity == "user"] == ["user.suspend", "user.restore"]


def test_who_may_suspend_whom(client, ctx):
    user, admin, other_admin = make_user(), make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    superadmin = make_user(role=Role.SUPERADMIN)

    def put(actor, target_id, body=None):
        response = client.put(f"/api/admin/users/{target_id}/active", json={"active": False} if body is None else body,
                              headers=auth_headers(actor))
        return response.status_code, (response.get_json().get("error") or {}).get("code")

    assert put(user, admin.id) == (403, "staff_only")
    assert put(admin, other_admin.id) == (403, "superadmin_only")
    assert put(admin, superadmin.id) == (403, "superadmin_protected")
    assert put(superadmin, superadmin.id) == (403, "self_protected")
    assert put(admin, admin.id) == (403, "self_protected")
    assert put(admin, 999_999) == (404, "user_not_found")
    for bad in ({"active": "no"}, {"active": None}, {}, {"active": False, "role": "admin"}):
        assert put(admin, user.id, bad) == (422, "validation_error"), bad
    assert put(superadmin, other_admin.id) == (200, None)
    assert put(admin, user.id) == (200, None)
    assert put(admin, user.id) == (200, None)  # again: nothing more to do, nothing more audited
    assert [a.action for a in _audits() if a.entity == "user"] == ["user.suspend", "user.suspend"]
    db.session.expire_all()
    assert (db.session.get(User, user.id).is_active, db.session.get(User, other_admin.id).is_active) == (False, False)
