"""The neighbour rules of a lock (issue 15): a companion seat only with its wheelchair space until the
release time, no single empty seat stranded (with suggestions that are themselves accepted), and best
available, on PostgreSQL + Redis. The default layout: rows A-L of 18 seats, wheelchair spaces A1, A2, A17,
A18, companion seats A3 and A16."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.services.layouts import default_layout
from app.services.seats import adjacency, facts, holds
from tests.factories import auth_headers, make_screen, make_showtime, make_user


def _lock(client, user, showtime_id, seats):
    return client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": seats},
                       headers=auth_headers(user))


def _best(client, user, showtime_id, **body):
    return client.post(f"/api/showtimes/{showtime_id}/best-seats", json=body, headers=auth_headers(user))


def _error(answer):
    return answer.status_code, answer.get_json()["error"]["code"]


def _showtime(**kwargs):
    """A showtime on the product's defaults: its theatre refuses single-seat gaps, its layout has companion
    seats (the factories leave both out)."""
    screen_fields = {"single_seat_gaps": False, "companions": True, **kwargs.pop("screen_fields", {})}
    return make_showtime(screen=make_screen(**screen_fields), **kwargs)


@pytest.fixture()
def showtime(ctx):
    return _showtime()


# ---- wheelchair companions ----

def test_a_companion_seat_alone_is_refused(client, showtime):
    answer = _lock(client, make_user(), showtime.id, ["A3"])
    assert _error(answer) == (409, "companion_requires_wheelchair")
    details = answer.get_json()["error"]["details"]
    assert details["seat_ids"] == ["A3"] and details["wheelchair_spaces"] == ["A2"]
    assert holds.held_by(showtime.id) == {}


def test_a_companion_seat_with_its_wheelchair_space_in_the_same_request(client, showtime):
    user = make_user()
    assert _lock(client, user, showtime.id, ["A2", "A3"]).status_code == 200
    assert holds.held_by(showtime.id) == {"A2": str(user.id), "A3": str(user.id)}


def test_a_companion_seat_for_the_holder_of_the_wheelchair_space_beside_it(client, showtime):
    user, other = make_user(), make_user()
    assert _lock(client, user, showtime.id, ["A17"]).status_code == 200
    assert _error(_lock(client, other, showtime.id, ["A16"])) == (409, "companion_requires_wheelchair")
    assert _lock(client, user, showtime.id, ["A16"]).status_code == 200


def test_companion_seats_open_to_everyone_near_the_show(client, ctx):
    soon = _showtime(starts_at=datetime.now(timezone.utc) + timedelta(minutes=20))  # inside the 1800 s
    assert _lock(client, make_user(), soon.id, ["A3"]).status_code == 200


# ---- no stranded single seats ----

def test_a_seat_stranded_beside_the_rows_end_is_refused_with_suggestions_that_are_accepted(client, showtime):
    answer = _lock(client, make_user(), showtime.id, ["B2", "B3"])
    assert _error(answer) == (409, "orphan_seat")
    details = answer.get_json()["error"]["details"]
    assert details["seats"] == ["B1"] and details["seat_ids"] == ["B2", "B3"]
    suggestions = details["suggestions"]
    assert 1 <= len(suggestions) <= 2 and all(len(s) == 2 and s[0][0] == "B" for s in suggestions)
    assert holds.held_by(showtime.id) == {}
    for suggestion in suggestions:  # each is accepted as it stands
        taker = make_user()
        assert _lock(client, taker, showtime.id, suggestion).status_code == 200, suggestion
        holds.release(showtime.id, str(taker.id), suggestion)


def test_a_seat_stranded_between_two_holds_is_refused_whoever_holds_them(client, showtime):
    first, second = make_user(), make_user()
    assert _lock(client, first, showtime.id, ["C5", "C6"]).status_code == 200
    answer = _lock(client, second, showtime.id, ["C3"])
    assert _error(answer) == (409, "orphan_seat") and answer.get_json()["error"]["details"]["seats"] == ["C4"]
    suggestions = answer.get_json()["error"]["details"]["suggestions"]
    assert _lock(client, second, showtime.id, suggestions[0]).status_code == 200


def test_a_stranded_seat_beside_a_booked_one_is_refused(client, showtime):
    from app.models import SeatState, ShowtimeSeat

    seat = db.session.query(ShowtimeSeat).filter_by(showtime_id=showtime.id, label="D9").one()
    seat.state = SeatState.BLOCKED
    db.session.commit()
    assert _error(_lock(client, make_user(), showtime.id, ["D11"])) == (409, "orphan_seat")
    assert _lock(client, make_user(), showtime.id, ["D10", "D11"]).status_code == 200


def test_a_selection_that_fills_a_gap_exactly_is_accepted(client, showtime):
    first, second = make_user(), make_user()
    assert _lock(client, first, showtime.id, ["E4", "E5"]).status_code == 200
    assert _lock(client, first, showtime.id, ["E8"]).status_code == 200
    assert _lock(client, second, showtime.id, ["E6", "E7"]).status_code == 200


def test_the_last_seats_of_a_run_are_always_sold(client, ctx):
    layout = default_layout()
    layout["missing"] = ["F5", "F10"]  # aisles: F6-F9 is a run of four
    showtime = _showtime(screen_fields={"layout": layout})
    first, second = make_user(), make_user()
    assert _lock(client, first, showtime.id, ["F6"]).status_code == 200  # at the aisle: strands nothing
    # F7, F8 leave F9 alone, but it is the last empty seat of its run: nothing better can be made of it
    assert _lock(client, second, showtime.id, ["F7", "F8"]).status_code == 200
    # beside an aisle counts as the row's end
    assert _error(_lock(client, make_user(), showtime.id, ["F12"])) == (409, "orphan_seat")


def test_a_theatre_may_allow_single_seat_gaps(client, ctx):
    showtime = make_showtime(screen=make_screen(single_seat_gaps=True))
    assert _lock(client, make_user(), showtime.id, ["B2"]).status_code == 200


def test_the_theatre_setting_reaches_a_lock_at_once(client, showtime):
    assert _error(_lock(client, make_user(), showtime.id, ["B2"])) == (409, "orphan_seat")  # facts cached now
    showtime.screen.theatre.allow_single_seat_gaps = True
    db.session.commit()
    assert _lock(client, make_user(), showtime.id, ["B2"]).status_code == 200


def _strands(showtime_id: int) -> list[str]:
    """Empty unmarked seats with a taken seat (or an end) on both sides and another empty seat in their run."""
    hall = facts.read_showtime(showtime_id).hall(holders=holds.held_by(showtime_id))
    found = []
    for seat in sorted(hall.seats - hall.taken - set(hall.kinds), key=adjacency.split):
        left, right = hall.neighbour(seat, -1), hall.neighbour(seat, 1)
        if not hall.empty(left, set()) and not hall.empty(right, set()) and (left or right) \
                and any(hall.empty(s, set()) and s != seat for s in hall.run_of(seat)) \
                and ((left is not None and left in hall.taken) or (right is not None and right in hall.taken)):
            found.append(seat)
    return found


def test_racing_buyers_never_strand_a_seat_between_them(client, showtime):
    users = [make_user() for _ in range(20)]
    tokens = [auth_headers(u) for u in users]
    start = threading.Barrier(len(users))
    statuses: list[int] = []
    sid = showtime.id  # the ORM object is not for other threads

    def buyer(i: int) -> None:
        local = client.application.test_client()
        start.wait()
        seats = [f"G{1 + (i * 7) % 18}"]
        statuses.append(local.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": seats},
                                   headers=tokens[i]).status_code)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(statuses) <= {200, 409} and 200 in statuses
    assert _strands(showtime.id) == []


# ---- best available ----

def test_best_available_holds_the_centre_block_two_thirds_back(client, showtime):
    user = make_user()
    answer = _best(client, user, showtime.id, count=4)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["seat_ids"] == ["H8", "H9", "H10", "H11"]
    assert holds.held_by(showtime.id) == {s: str(user.id) for s in ["H8", "H9", "H10", "H11"]}


def test_best_available_in_a_section_and_never_stranding(client, showtime):
    assert _lock(client, make_user(), showtime.id, ["J9", "J10"]).status_code == 200
    answer = _best(client, make_user(), showtime.id, count=3, section="premium")
    assert answer.status_code == 200
    assert answer.get_json()["seat_ids"][0][0] in "IJKL"
    assert _strands(showtime.id) == []


def test_best_available_accessible_takes_a_wheelchair_space(client, showtime):
    answer = _best(client, make_user(), showtime.id, count=2, accessible=True)
    assert answer.status_code == 200
    assert any(s in {"A1", "A2", "A17", "A18"} for s in answer.get_json()["seat_ids"])


def test_twenty_buyers_racing_for_best_available_each_get_their_own_block(client, showtime):
    users = [make_user() for _ in range(20)]
    tokens = [auth_headers(u) for u in users]
    start = threading.Barrier(len(users))
    answers: list[tuple[int, list[str]]] = []
    sid = showtime.id

    def buyer(i: int) -> None:
        local = client.application.test_client()
        start.wait()
        answer = local.post(f"/api/showtimes/{sid}/best-seats", json={"count": 3}, headers=tokens[i])
        answers.append((answer.status_code, answer.get_json().get("seat_ids", [])))

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [status for status, _ in answers] == [200] * 20, answers
    seats = [s for _, block in answers for s in block]
    assert len(seats) == 60 and len(set(seats)) == 60
    assert _strands(showtime.id) == []


def test_no_block_available_offers_the_best_split(client, ctx):
    layout = {"rows": ["A"], "seats_per_row": 6, "sections": [{"name": "regular", "rows": ["A"], "price": 100}]}
    showtime = _showtime(screen_fields={"layout": layout})
    assert _lock(client, make_user(), showtime.id, ["A3", "A4"]).status_code == 200
    answer = _best(client, make_user(), showtime.id, count=3)
    assert _error(answer) == (409, "no_block_available")
    split = answer.get_json()["error"]["details"]["split"]
    assert sorted(len(b) for b in split) == [1, 2]


@pytest.mark.parametrize("body", [{}, {"count": 0}, {"count": 11}, {"count": "3"}, {"count": 2, "section": ""},
                                  {"count": 2, "extra": 1}, {"count": 2, "accessible": "maybe"}])
def test_best_available_refuses_bad_input(client, showtime, body):
    assert _best(client, make_user(), showtime.id, **body).status_code == 422


def test_best_available_needs_a_token(client, showtime):
    assert client.post(f"/api/showtimes/{showtime.id}/best-seats", json={"count": 2}).status_code == 401


def test_the_rules_hold_when_the_lock_runs_without_the_seat_facts(client, showtime, monkeypatch, redis_client):
    """The seat facts changing under every fill: the lock asks the database and checks the rules itself."""
    from app.services.seats.keys import hash_key

    monkeypatch.setattr(facts, "fill", lambda *args, **kwargs: False)
    redis_client.delete(hash_key(showtime.id))
    assert _error(_lock(client, make_user(), showtime.id, ["B2"])) == (409, "orphan_seat")
    assert _error(_lock(client, make_user(), showtime.id, ["A3"])) == (409, "companion_requires_wheelchair")
    assert _lock(client, make_user(), showtime.id, ["B1", "B2"]).status_code == 200
    assert redis_client.exists(hash_key(showtime.id)) == 0  # the facts were never there


def test_best_available_needs_the_queue_pass_before_any_work(client, showtime, monkeypatch):
    from tests.api.test_waiting_room import _setup

    _setup(client, showtime.id)
    looked = []
    monkeypatch.setattr(facts, "read_showtime", lambda *a: looked.append(a) or pytest.fail("read the seats"))
    answer = _best(client, make_user(), showtime.id, count=2)
    assert _error(answer) == (403, "queue_pass_required") and looked == []


def test_a_refusal_is_explained_from_the_lock_stores_copy_without_a_query(client, showtime, monkeypatch):
    assert _lock(client, make_user(), showtime.id, ["C9"]).status_code == 200  # the facts are cached now
    monkeypatch.setattr(facts, "read_showtime", lambda *a: pytest.fail("a refusal read the database"))
    answer = _lock(client, make_user(), showtime.id, ["C11"])
    assert _error(answer) == (409, "orphan_seat")
    assert answer.get_json()["error"]["details"]["suggestions"]
