"""Seat layout validation: whatever validate_layout accepts is safe for seats_of, the public seat counts
and the showtime_seats columns; whatever it refuses is a 422 naming the field, never a 500."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app.errors import ValidationError
from app.models import Role
from app.services.layouts import default_layout, seats_of, validate_layout
from tests.factories import auth_headers, make_movie, make_screen, make_user

_DEFAULT = default_layout()


def _with_sections(**changes: Any) -> dict[str, Any]:
    """The default layout with `changes` applied to every section."""
    return {**_DEFAULT, "sections": [{**s, **changes} for s in _DEFAULT["sections"]]}


# Each of these once got past validation (or crashed it) and then gave a 500 somewhere.
BAD_LAYOUTS: dict[str, tuple[Any, str]] = {
    # (the layout, the key of details["fields"] that names the problem)
    "section rows of mixed types": (
        {**_DEFAULT, "sections": [{"name": "a", "price": 1, "rows": ["A", 1]}, *_DEFAULT["sections"]]}, "sections"),
    "missing not a list": ({**_DEFAULT, "missing": 5}, "missing"),
    "accessible holds a list": ({**_DEFAULT, "accessible": [[1]]}, "accessible"),
    "companion holds a number": ({**_DEFAULT, "companion": [1]}, "companion"),
    "price beyond a 4-byte integer": (_with_sections(price=2**70), "sections"),
    "price above the maximum": (_with_sections(price=10_000_001), "sections"),
    "negative price": (_with_sections(price=-1), "sections"),
    "price a float": (_with_sections(price=100.0), "sections"),
    "price a string": (_with_sections(price="100"), "sections"),
    "price a bool": (_with_sections(price=True), "sections"),
    "section name over 32 characters": (
        {**_DEFAULT, "sections": [{**s, "name": s["name"] + "x" * 32} for s in _DEFAULT["sections"]]}, "sections"),
    "empty section name": (_with_sections(name=""), "sections"),
    "section name with NUL": (
        {**_DEFAULT, "sections": [{**s, "name": s["name"] + "\x00"} for s in _DEFAULT["sections"]]}, "sections"),
    "section label a lone surrogate": (_with_sections(label="\ud800"), "sections"),
    "section label over 64 characters": (_with_sections(label="x" * 65), "sections"),
    "section label an object": (_with_sections(label={"a": 1}), "sections"),
    "duplicate section names": (_with_sections(name="same"), "sections"),
    "section without rows": (
        {**_DEFAULT, "sections": [*_DEFAULT["sections"], {"name": "vip", "rows": [], "price": 1}]}, "sections"),
    "row in two sections": (
        {**_DEFAULT, "sections": [*_DEFAULT["sections"], {"name": "vip", "rows": ["A"], "price": 1}]}, "sections"),
    "row in no section": ({**_DEFAULT, "sections": _DEFAULT["sections"][:1]}, "sections"),
    "section row not in the layout": (
        {**_DEFAULT, "sections": [*_DEFAULT["sections"], {"name": "vip", "rows": ["Z"], "price": 1}]}, "sections"),
    "unknown section key": (_with_sections(colour="red"), "sections"),
    "no sections": ({**_DEFAULT, "sections": []}, "sections"),
    "27 sections": ({"rows": ["A"], "seats_per_row": 27, "sections": [
        {"name": f"s{n}", "rows": ["A"], "price": 1} for n in range(27)]}, "sections"),
    "section not an object": ({**_DEFAULT, "sections": ["regular"]}, "sections"),
    "rows a string": ({**_DEFAULT, "rows": "ABCDEFGHIJKL"}, "rows"),
    "no rows": ({**_DEFAULT, "rows": []}, "rows"),
    "repeated rows": ({**_DEFAULT, "rows": [*_DEFAULT["rows"], "A"]}, "rows"),
    "lower-case row": ({**_DEFAULT, "rows": [*_DEFAULT["rows"][:-1], "l"]}, "rows"),
    "two-letter row": ({**_DEFAULT, "rows": [*_DEFAULT["rows"], "AA"]}, "rows"),
    "no seats per row": ({k: v for k, v in _DEFAULT.items() if k != "seats_per_row"}, "seats_per_row"),
    "seats per row zero": ({**_DEFAULT, "seats_per_row": 0}, "seats_per_row"),
    "seats per row 61": ({**_DEFAULT, "seats_per_row": 61}, "seats_per_row"),
    "seats per row a bool": ({**_DEFAULT, "seats_per_row": True}, "seats_per_row"),
    "seats per row a float": ({**_DEFAULT, "seats_per_row": 18.0}, "seats_per_row"),
    "seat beyond the row": ({**_DEFAULT, "accessible": ["A19"]}, "accessible"),
    "seat in an unknown row": ({**_DEFAULT, "companion": ["M1"]}, "companion"),
    "seat zero": ({**_DEFAULT, "missing": ["A0"]}, "missing"),
    "seat with a leading zero": ({**_DEFAULT, "missing": ["A01"]}, "missing"),
    "seat label lower-case": ({**_DEFAULT, "missing": ["a1"]}, "missing"),
    "seat label nonsense": ({**_DEFAULT, "missing": ["AA1", "Z99", ""]}, "missing"),
    "missing seat listed twice": ({**_DEFAULT, "missing": ["A5", "A5"]}, "missing"),
    "every seat missing": ({"rows": ["A"], "seats_per_row": 2,
                            "sections": [{"name": "a", "rows": ["A"], "price": 1}], "missing": ["A1", "A2"]},
                           "missing"),
    "seat list null": ({**_DEFAULT, "accessible": None}, "accessible"),
    "unknown top-level key": ({**_DEFAULT, "balcony": True}, "balcony"),
}

NOT_OBJECTS = ["ABC", 5, None, [], [_DEFAULT], True]


def _refused(layout: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as err:
        validate_layout(layout)
    assert err.value.message == "The seat layout is not valid."
    assert err.value.code == "validation_error" and err.value.status == 422
    fields = err.value.details["fields"]
    json.dumps(fields, sort_keys=True)  # goes out as the response body: must be JSON as Flask sends it
    return fields


@pytest.mark.parametrize("case", list(BAD_LAYOUTS))
def test_bad_layouts_are_refused_naming_the_field(case):
    layout, field = BAD_LAYOUTS[case]
    fields = _refused(copy.deepcopy(layout))
    assert field in fields, fields


@pytest.mark.parametrize("value", NOT_OBJECTS, ids=repr)
def test_a_layout_that_is_not_an_object_is_a_validation_error(value):
    assert _refused(value) == {"_schema": ["Invalid input type."]}


def test_every_problem_is_reported_at_once():
    fields = _refused({"rows": ["A", 1], "seats_per_row": 0, "sections": [{"name": "x" * 33, "price": 2**70}],
                       "missing": 5})
    assert set(fields) == {"rows", "seats_per_row", "sections", "missing"}
    assert set(fields["sections"]["0"]) == {"name", "price", "rows"}  # list indexes as strings, as in JSON


def test_default_layout_is_valid_and_unchanged():
    assert validate_layout(default_layout()) == default_layout()
    assert validate_layout(default_layout(regular_price=0, premium_price=10_000_000))["sections"][1]["price"] \
        == 10_000_000


def test_a_custom_layout_is_accepted_and_normalized():
    small = {"rows": ["B", "A"], "seats_per_row": 5,
             "sections": [{"name": "gold", "rows": ["A", "B"], "price": 50_000}]}
    checked = validate_layout(copy.deepcopy(small))
    assert checked == {**small, "accessible": [], "companion": [], "missing": []}
    assert [s["label"] for s in seats_of(checked)][:6] == ["B1", "B2", "B3", "B4", "B5", "A1"]


def _largest_layout() -> dict[str, Any]:
    """Every limit at once: 26 rows of 60 seats, 26 sections, the longest names and labels, the top price."""
    rows = [chr(ord("A") + n) for n in range(26)]
    return {
        "rows": rows, "seats_per_row": 60,
        "sections": [{"name": f"{row}" * 32, "label": "\u00e9" * 64, "rows": [row], "price": 10_000_000}
                     for row in rows],
        "accessible": ["A1", "Z60"], "companion": ["A2"], "missing": ["M30", "Z1"],
    }


def test_seats_of_works_on_accepted_layouts():
    for layout in (default_layout(), _largest_layout(),
                   {"rows": ["A"], "seats_per_row": 1, "sections": [{"name": "a", "rows": ["A"], "price": 0}]}):
        checked = validate_layout(copy.deepcopy(layout))
        seats = seats_of(checked)
        assert len(seats) == len(checked["rows"]) * checked["seats_per_row"] - len(checked["missing"]) > 0
        assert len({s["label"] for s in seats}) == len(seats)
        assert not {s["label"] for s in seats} & set(checked["missing"])


_JUNK: list[Any] = [None, True, 0, -1, 60, 61, 2**70, 1.5, "", "A", "a", "AA", "A1", "Z99", "x" * 40, [], [1],
                    ["A"], ["A", "A"], [["A1"]], ["A1", "A1"], {}, {"a": 1}]


def _mutate(rng: random.Random, layout: Any) -> Any:
    """Replace one value somewhere inside layout with junk (or drop a key)."""
    if isinstance(layout, dict) and layout:
        key = rng.choice(list(layout))
        roll = rng.random()
        if roll < 0.1:
            return {k: v for k, v in layout.items() if k != key}
        if roll < 0.5:
            return {**layout, key: rng.choice(_JUNK)}
        return {**layout, key: _mutate(rng, layout[key])}
    if isinstance(layout, list) and layout:
        index = rng.randrange(len(layout))
        return [*layout[:index], _mutate(rng, layout[index]) if rng.random() < 0.7 else rng.choice(_JUNK),
                *layout[index + 1:]]
    return rng.choice(_JUNK)


def test_whatever_validation_accepts_seats_of_and_the_seat_count_can_use():
    """Random mutations of valid layouts: each is refused with a ValidationError, or accepted and safe."""
    rng = random.Random(20260101)
    bases = [default_layout(), _largest_layout()]
    accepted = 0
    for _ in range(3000):
        layout = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            layout = _mutate(rng, layout)
        try:
            checked = validate_layout(copy.deepcopy(layout))
        except ValidationError as err:
            json.dumps(err.details, sort_keys=True)
            continue
        accepted += 1
        seats = seats_of(checked)
        seat_count = len(checked["rows"]) * checked["seats_per_row"] - len(checked.get("missing", []))
        assert len(seats) == seat_count > 0
        assert all(len(s["section"]) <= 32 and 0 <= s["price"] <= 10_000_000 for s in seats)
        # The layout as sent (update_screen stores it without the defaults) is just as usable.
        assert seats_of(layout) == seats
    assert accepted > 50  # the mutations do not only produce junk


# ---------------------------------------------------------------- through the staff API and the database


def _later(days: int = 3) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.fixture()
def staff(client, ctx):
    admin = make_user(role=Role.ADMIN)
    screen = make_screen(theatre_name="Layout Palace")
    return {"headers": auth_headers(admin), "screen_id": screen.id, "theatre_id": screen.theatre_id}


@pytest.mark.parametrize("case", ["section rows of mixed types", "missing not a list", "accessible holds a list",
                                  "price beyond a 4-byte integer", "section name over 32 characters",
                                  "duplicate section names", "section label an object", "every seat missing",
                                  "unknown top-level key"])  # NUL and lone surrogates: refused earlier, per request
def test_bad_layouts_are_422_on_create_and_update_and_nothing_breaks_after(client, staff, case):
    layout, field = BAD_LAYOUTS[case]
    headers = staff["headers"]
    created = client.post(f"/api/admin/theatres/{staff['theatre_id']}/screens", headers=headers,
                          json={"name": "Audi 9", "layout": layout})
    assert created.status_code == 422, created.get_json()
    error = created.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]
    updated = client.patch(f"/api/admin/screens/{staff['screen_id']}", headers=headers, json={"layout": layout})
    assert updated.status_code == 422, updated.get_json()
    assert field in updated.get_json()["error"]["details"]["fields"]

    # Nothing bad was stored: the public theatre list and scheduling still work.
    listed = client.get("/api/theatres")
    assert listed.status_code == 200, listed.get_json()
    assert [s["seat_count"] for t in listed.get_json()["items"] for s in t["screens"]] == [216]
    movie = make_movie()
    scheduled = client.post("/api/admin/showtimes", headers=headers,
                            json={"movie_id": movie.id, "screen_id": staff["screen_id"], "starts_at": _later()})
    assert scheduled.status_code == 201, scheduled.get_json()


@pytest.mark.parametrize("value", ["ABC", 5, [], [{"rows": ["A"]}]], ids=repr)
def test_a_layout_that_is_not_an_object_is_422(client, staff, value):
    response = client.post(f"/api/admin/theatres/{staff['theatre_id']}/screens", headers=staff["headers"],
                           json={"name": "Audi 9", "layout": value})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_the_largest_valid_layout_is_stored_listed_and_scheduled(client, staff):
    """Every limit at once fits the database: 32-character section names, the top price, 1,560 seats."""
    headers = staff["headers"]
    created = client.post(f"/api/admin/theatres/{staff['theatre_id']}/screens", headers=headers,
                          json={"name": "IMAX", "layout": _largest_layout()})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["layout"]["missing"] == ["M30", "Z1"]
    screen_id = created.get_json()["id"]
    movie = make_movie()
    scheduled = client.post("/api/admin/showtimes", headers=headers,
                            json={"movie_id": movie.id, "screen_id": screen_id, "starts_at": _later()})
    assert scheduled.status_code == 201, scheduled.get_json()
    seats = client.get(f"/api/showtimes/{scheduled.get_json()['id']}/seats").get_json()
    assert len(seats["seats"]) == 26 * 60 - 2
    assert {s["price"] for s in seats["seats"]} == {10_000_000}
    counts = {s["name"]: s["seat_count"] for t in client.get("/api/theatres").get_json()["items"]
              for s in t["screens"]}
    assert counts == {"Screen 1": 216, "IMAX": 26 * 60 - 2}


def test_a_patched_layout_without_the_optional_lists_schedules(client, staff):
    """update_screen stores the layout as sent (no defaults filled in): it must still be usable."""
    small = {"rows": ["A", "B"], "seats_per_row": 4,
             "sections": [{"name": "gold", "rows": ["A", "B"], "price": 50_000}]}
    patched = client.patch(f"/api/admin/screens/{staff['screen_id']}", headers=staff["headers"],
                           json={"layout": small})
    assert patched.status_code == 200, patched.get_json()
    movie = make_movie()
    scheduled = client.post("/api/admin/showtimes", headers=staff["headers"],
                            json={"movie_id": movie.id, "screen_id": staff["screen_id"], "starts_at": _later()})
    assert scheduled.status_code == 201, scheduled.get_json()
    assert [s["seat_count"] for t in client.get("/api/theatres").get_json()["items"] for s in t["screens"]] == [8]
