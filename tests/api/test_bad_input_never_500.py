"""Fuzz every API route with malformed input: each answer is a JSON 4xx with an error code, never a 500.

The routes come from `app.url_map`. What a route is sent is derived from the marshmallow schema its
`@blp.arguments` names: every field of the wrong type (strings for ints, nested objects, 10k-character
strings, negative numbers, floats, booleans, huge numbers, null, arrays), and a plausible valid body with
one field pushed to an edge (so the value gets past validation into the app code); GET routes get junk
query strings built from their query schema. Every route also gets no body, `{}`, `[]`, `"x"`, `null`,
broken JSON, invalid UTF-8, a lone surrogate and a form. Path ids are an existing row, 2**40 and 0.

Each request is sent as a plain user and as a superadmin, each with a fresh token (logout revokes the
token it is given). Afterwards every GET route is read again and a showtime is scheduled on each screen
the fuzzing created, so bad input that was stored and breaks a later read is caught too. The payment
webhook is also sent signed bodies (the dev gateway's own secret), so its intake sees more than the
signature check. Failures are collected and reported together: one run lists every route that 500s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from app.extensions import db
from app.models import Payment, PromoCode, PromoKind, Refund, RefundState, Role, Screen
from app.services.layouts import default_layout
from app.services.payment_gateways import get_gateway
from tests.factories import auth_headers, make_movie, make_showtime, make_user

SKIP = re.compile(r"^/metrics$|/ws$|^/api/(docs|openapi\.json)|^/$|^/<path:path>$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HUGE = 2**40
LONG = "x" * 10_000
# Routes that end or change the rows the other routes are fuzzed against: fuzzed last, in this order.
DESTRUCTIVE = ["payments.cancel_booking", "waitlist.leave_waitlist", "admin.deactivate_promo_code",
               "admin.set_active", "admin.set_role", "admin.deactivate_movie", "admin.cancel_showtime",
               "users.logout"]
ALLOWED_503 = {"redis_unavailable", "database_unavailable"}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# ---------------------------------------------------------------- inputs every route gets

COMMON_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("no body", {}),
    ("{}", {"data": "{}", "content_type": JSON}),
    ("[]", {"data": "[]", "content_type": JSON}),
    ('"x"', {"data": '"x"', "content_type": JSON}),
    ("null", {"data": "null", "content_type": JSON}),
    ("0", {"data": "0", "content_type": JSON}),
    ("broken json", {"data": '{"a": ', "content_type": JSON}),
    ("invalid utf-8 in json", {"data": b'{"email": "\xff\xfe", "seat_ids": ["\xc3\x28"]}', "content_type": JSON}),
    ("invalid utf-8 bytes", {"data": b"\xff\xfe\xfd", "content_type": JSON}),
    ("json sent as text/plain", {"data": '{"seat_ids": ["A1"]}', "content_type": "text/plain"}),
    ("lone surrogate", {"data": '{"email": "\\ud800", "name": "\\udfff", "seat_ids": ["\\ud800"]}',
                        "content_type": JSON}),
]

GENERIC_QUERIES = [
    "page=-1&per_page=100000",
    "page=abc&per_page=1.5",
    "page=99999999999999999999&per_page=99999999999999999999",
    "page=10000&per_page=100",
    "date_from=notadate&from=notadate&to=2026-99-99&date=notadate",
    "seat_ids=,,,",
    "q=%00",
    "q=%ff%fe",
    f"q={LONG}",
    "page=1&page=2&per_page=",
]

# ---------------------------------------------------------------- values derived from a schema's fields

KINDS = ("int", "float", "bool", "list", "dict", "nested", "date", "datetime", "awaredt", "str")


def _kind(field: fields.Field) -> str:
    for kind, types in (("bool", fields.Boolean), ("int", fields.Integer), ("float", fields.Float),
                        ("awaredt", fields.AwareDateTime), ("datetime", fields.DateTime), ("date", fields.Date),
                        ("list", fields.List), ("dict", fields.Dict), ("nested", fields.Nested)):
        if isinstance(field, types):
            return kind
    return "str"


def _every_kind(value: Any, **special: Any) -> dict[str, Any]:
    return {kind: special.get(kind, value) for kind in KINDS}


# Every field of a body gets the flavour's value for its kind: the wrong type, or an extreme.
WRONG: dict[str, dict[str, Any]] = {
    "type swap": {"int": "12", "float": "1.5", "bool": "maybe", "list": "A1", "dict": "x", "nested": "x",
                  "date": 20260101, "datetime": 20260101, "awaredt": 20260101, "str": 12},
    "nested objects": _every_kind({"a": {"b": [1, {"c": None}]}}, nested=[[[]]]),
    "10k strings": _every_kind(LONG, list=[LONG], dict={LONG: LONG}),
    "negative": _every_kind(-1, list=[-1], dict={"a": -1}),
    "floats": _every_kind(1.5, list=[1.5], dict={"a": 1.5}),
    "booleans": _every_kind(True, list=[True], dict={"a": True}),
    "huge numbers": _every_kind(2**70, list=[2**70], dict={"a": 2**70}),
    "null": _every_kind(None),
    "arrays": _every_kind([1, "x", None]),
}

_LAYOUT = default_layout()
# Values of the right JSON type, at an edge: they can pass validation and reach the app code.
EDGE: dict[str, list[Any]] = {
    "int": [HUGE, -(2**31) - 1, 0, 2**70],
    "float": [1e308, -0.0],
    "bool": [],
    "list": [[], ["A1"] * 500, [["A1"]], ["L18", "A1", "Z99", "AA1"]],
    "dict": [
        {}, {"rows": "x", "seats_per_row": -1}, {"": 1, "y" * 40: -1},
        {**_LAYOUT, "missing": 5}, {**_LAYOUT, "accessible": [[1]]}, {**_LAYOUT, "seats_per_row": 60},
        {**_LAYOUT, "sections": [{"name": "a", "price": 1, "rows": ["A", 1]}, *_LAYOUT["sections"]]},
        {**_LAYOUT, "sections": [{**s, "price": 2**70} for s in _LAYOUT["sections"]]},
        {**_LAYOUT, "sections": [{**s, "name": LONG} for s in _LAYOUT["sections"]]},
        {**_LAYOUT, "sections": [{**s, "name": "same"} for s in _LAYOUT["sections"]]},
        {**_LAYOUT, "sections": [{**s, "label": {"a": 1}} for s in _LAYOUT["sections"]]},
        {"regular": 2**31}, {"regular": 0, "premium": 10_000_000},
    ],
    "nested": [{}],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30"],
    "datetime": ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"],
    "awaredt": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2020-01-01T00:00:00+00:00",
                "2030-01-01T00:00:00", "9999-12-31T22:00:00+00:00"],
    "str": ["", "   ", LONG, "A1", "\U0001f4a5" * 300, "\u202e\u0301", "%00'; --", "\ud800"],
}

QUERY_JUNK: dict[str, list[str]] = {
    "int": ["abc", "-1", "0", "1.5", "2147483648", str(HUGE), "99999999999999999999", ""],
    "float": ["nan", "inf", "1e999"],
    "bool": ["maybe", "2", ""],
    "list": [",,,", ",".join(["A1"] * 400), "A1,,Z99", quote(LONG[:300])],
    "date": ["notadate", "0001-01-01", "9999-12-31", "2026-02-30", "2026-1-1"],
    "datetime": ["notadate", "0001-01-01T00:00:00+00:00"],
    "awaredt": ["notadate", "0001-01-01T00:00:00+14:00"],
    "str": ["", quote(LONG), "%ff%fe", "%E2%80%AE", "'%3B--", "%25", "%ED%A0%80"],
    "dict": ["x"],
    "nested": ["x"],
}
RANGE_QUERIES = [  # the reports' from/to pair at its extremes
    "from=9999-12-31&to=0001-01-01", "from=0001-01-01&to=9999-12-31", "from=0001-01-01&to=0001-01-02",
    "group_by=movie&from=9999-12-30&to=9999-12-31", "group_by=theatre&include_held=true&to=0001-01-01",
]


def _schema_of(view: Any, locations: set[str]) -> Schema | None:
    for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if param.get("in") in locations:
            schema = param["schema"]
            return schema() if isinstance(schema, type) else schema
    return None


def _key(name: str, field: fields.Field) -> str:
    return field.data_key or name


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


# ---------------------------------------------------------------- the rows the fuzzing starts from


def _seed(client: Any, buyer: Any) -> dict[str, Any]:
    """A showtime with a paid booking of `buyer` (through the dev gateway), one with nothing sold, a promo
    code, a user to manage, and a seat `buyer` holds (so order bodies get past the hold check)."""
    sold, unsold = make_showtime(), make_showtime()
    victim = make_user(name="Victim")
    promo = PromoCode(code="FUZZ10", kind=PromoKind.PERCENT, value=10, min_order_amount=0)
    db.session.add(promo)
    db.session.commit()
    ids = {"showtime_id": sold.id, "unsold_showtime_id": unsold.id, "movie_id": sold.movie_id,
           "screen_id": sold.screen_id, "theatre_id": sold.screen.theatre_id, "user_id": victim.id,
           "promo_id": promo.id}
    headers = auth_headers(buyer)
    lock = client.post(f"/api/showtimes/{sold.id}/redis-lock-seats", json={"seat_ids": ["L18"]}, headers=headers)
    assert lock.status_code == 200, lock.get_json()
    order = client.post("/api/payments/create-order", json={"showtime_id": sold.id, "seat_ids": ["L18"]},
                        headers=headers)
    assert order.status_code == 201, order.get_json()
    ids["gateway_order_id"] = order.get_json()["gateway_order_id"]
    paid = client.post("/api/payments/dev/checkout", json={"razorpay_order_id": ids["gateway_order_id"]},
                       headers=headers)
    assert paid.status_code == 200, paid.get_json()
    ids["payment_id"] = paid.get_json()["razorpay_payment_id"]
    verified = client.post("/api/payments/verify", headers=headers, json={
        "razorpay_order_id": ids["gateway_order_id"], "razorpay_payment_id": ids["payment_id"],
        "razorpay_signature": paid.get_json()["razorpay_signature"]})
    assert verified.status_code == 200 and verified.get_json()["booking"], verified.get_json()
    ids["booking_id"] = verified.get_json()["booking"]["id"]
    refused = Refund(payment_id=db.session.scalar(sa.select(Payment.id)), amount=100, reason="fuzz",
                     state=RefundState.FAILED, last_error="refused")  # for the staff retry route
    db.session.add(refused)
    db.session.commit()
    ids["refund_id"] = refused.id
    for seats in (["A1", "A2"], ["K1"]):
        assert client.post(f"/api/showtimes/{unsold.id}/redis-lock-seats", json={"seat_ids": seats},
                           headers=headers).status_code == 200
    return ids


class Bodies:
    """The bodies a route is fuzzed with."""

    def __init__(self, ids: dict[str, Any]) -> None:
        self.ids = ids
        self.serial = count(1)

    def base_value(self, name: str, field: fields.Field) -> Any:
        """A plausible valid value, so that a body with one edge field gets past the others' validation."""
        n = next(self.serial)
        future = (datetime.now(timezone.utc) + timedelta(days=60, hours=4 * n)).replace(microsecond=0)
        by_name: dict[str, Any] = {
            "email": "fuzz@example.com", "username": "fuzz@example.com", "otp": "123456",
            "registration_token": "x", "name": f"Fuzz {n}", "password": "correct horse battery",
            "phone": "+919812345678", "grant_type": "password", "refresh_token": "x", "role": "user",
            "active": True, "is_active": True, "title": "Fuzz", "genre": "Drama", "language": "Hindi",
            "duration_min": 100, "certificate": "U", "release_date": "2026-01-01",
            "poster_url": "https://example.com/p.png", "city": "Pune", "address": "1 Road",
            "layout": default_layout(), "prices": {"regular": 100}, "starts_at": future.isoformat(),
            "seat_ids": ["A1", "A2"], "showtime_id": self.ids["unsold_showtime_id"],
            "razorpay_order_id": self.ids["gateway_order_id"], "razorpay_payment_id": self.ids["payment_id"],
            "razorpay_signature": "0" * 64, "outcome": "success", "send_webhook": False, "payload": "x",
            "code": f"FZ{n}", "kind": "percent", "value": 10, "min_order_amount": 0, "seats": 1,
            "description": "d", "promo_code": "FUZZ10", "once_per_user": False,
        }
        if name in by_name:
            return by_name[name]
        if name in self.ids:
            return self.ids[name]
        return {"int": 1, "float": 1.0, "bool": False, "list": [], "dict": {}, "date": "2026-01-01",
                "datetime": future.isoformat(), "awaredt": future.isoformat()}.get(_kind(field), "x")

    def for_route(self, schema: Schema | None, deep: bool) -> list[tuple[str, dict[str, Any]]]:
        bodies = list(COMMON_BODIES)
        items = [(n, f) for n, f in (schema.fields.items() if schema is not None else []) if not f.dump_only]
        if not items:  # no body schema: field names other routes read, all wrong
            items = [(n, fields.String()) for n in ("seat_ids", "showtime_id", "email", "payload", "refresh_token")]
        for flavour, values in WRONG.items():
            bodies.append(_json(f"all fields {flavour}", {_key(n, f): values[_kind(f)] for n, f in items}))
        form = "&".join(f"{_key(n, f)}=x" for n, f in items) + "&username=a&password=b"
        bodies.append(("form-encoded", {"data": form, "content_type": FORM}))
        if not deep or schema is None:
            return bodies
        base = {_key(n, f): self.base_value(n, f) for n, f in items}
        bodies.append(_json("valid-ish base", base))
        for name, field in items:
            key = _key(name, field)
            for value in EDGE[_kind(field)] + [WRONG["type swap"][_kind(field)]]:
                fresh = {_key(n, f): self.base_value(n, f) for n, f in items}  # new codes, names and times
                bodies.append(_json(f"base with {key}={_short(value)}", {**fresh, key: value}))
        return bodies


def _json(label: str, value: Any) -> tuple[str, dict[str, Any]]:
    return label, {"data": json.dumps(value), "content_type": JSON}  # ASCII: a lone surrogate stays \\ud800


def _queries(schema: Schema | None) -> list[str]:
    queries = ["", *GENERIC_QUERIES]
    if schema is not None:
        keys = {_key(n, f) for n, f in schema.fields.items()}
        for name, field in schema.fields.items():
            queries += [f"{_key(name, field)}={junk}" for junk in QUERY_JUNK[_kind(field)]]
        if {"from", "to"} <= keys:
            queries += RANGE_QUERIES
    return list(dict.fromkeys(queries))


def _paths(rule: Any, ids: dict[str, Any]) -> list[tuple[str, str]]:
    if not rule.arguments:
        return [("", rule.rule)]
    variants = [("existing", lambda arg: ids[arg]), ("huge", lambda _: HUGE), ("zero", lambda _: 0)]
    if "showtime_id" in rule.arguments:
        variants.insert(1, ("unsold", lambda arg: ids["unsold_" + arg]))
    out = []
    for label, pick in variants:
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(pick(arg)), url)
        out.append((label, url))
    return out


def _problem(response: Any) -> str | None:
    status = response.status_code
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if status == 503 and code in ALLOWED_503:
        return None
    if status >= 500:
        return "server error"
    if status >= 400 and not code:
        return "4xx without a JSON error.code"
    return None


def _signed_webhooks(ids: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Webhook bodies signed with the dev gateway's webhook secret: they get past the signature check."""
    secret = get_gateway()._webhook_key()  # noqa: SLF001  (the dev gateway's generated secret)
    assert secret

    def entity(**overrides: Any) -> dict[str, Any]:
        return {"entity": "event", "event": "payment.captured", "contains": ["payment"], "payload": {
            "payment": {"entity": {"id": ids["payment_id"], "entity": "payment", "amount": 20_000, "currency": "INR",
                                   "order_id": ids["gateway_order_id"], "status": "captured", **overrides}}}}

    raw: list[tuple[str, bytes]] = [
        ("[]", b"[]"), ("null", b"null"), ("invalid utf-8", b'{"event": "\xff"}'), ("not json", b"{"),
        ("no payload", b'{"event": "payment.captured"}'), ("payload a list", b'{"event": "x", "payload": []}'),
        ("NUL escape", json.dumps(entity(id="pay_\u0000")).encode()),
        ("NUL escape in event", b'{"event": "payment.captured", "payload": {}, "note": "\\u0000"}'),
        ("lone surrogate", json.dumps(entity(id="\ud800")).encode()),
        ("deeply nested", b'{"event": "a", "payload": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ]
    for key, values in (("amount", [2**70, "x", -1, 1.5, None, True]), ("order_id", [12, LONG, {"a": 1}, ""]),
                        ("id", [12, LONG, None]), ("status", [{}, LONG]), ("currency", [1, LONG])):
        raw += [(f"{key}={_short(v)}", json.dumps(entity(**{key: v})).encode()) for v in values]
    raw.append(("event=order.paid, order a list", json.dumps(
        {"event": "order.paid", "payload": {"order": {"entity": [1]}, "payment": "x"}}).encode()))
    out = []
    for n, (label, body) in enumerate(raw):
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        for event_id in (f"evt_fuzz_{n}", "bad id!", LONG[:65]):
            out.append((f"signed webhook, {label}, event id {_short(event_id)}", {
                "data": body, "content_type": JSON,
                "headers": {"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": event_id}}))
    return out


# ---------------------------------------------------------------- the test


@pytest.fixture()
def fuzz_app(app, tmp_path, monkeypatch):
    """No rate limit gets in the way; tickets go to a temporary directory; mail is only logged."""
    for key in [k for k in app.config if k.startswith("RATE_LIMIT_")]:
        monkeypatch.setitem(app.config, key, "1000000/minute")
    monkeypatch.setitem(app.config, "TICKETS_DIR", tmp_path / "tickets")
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return app


def test_bad_input_never_gives_a_server_error(fuzz_app, client, ctx):
    app = fuzz_app
    users = {"user": make_user(name="Plain"), "superadmin": make_user(role=Role.SUPERADMIN, name="Root")}
    ids = _seed(client, users["user"])
    bodies = Bodies(ids)
    screens_before = set(db.session.scalars(sa.select(Screen.id)))
    failures: list[str] = []
    sent = 0

    def send(method: str, url: str, label: str, who: str, kwargs: dict[str, Any]) -> None:
        nonlocal sent
        sent += 1
        db.session.remove()  # each request sees the database afresh
        headers = {**auth_headers(users[who]), **kwargs.get("headers", {})}
        response = client.open(url, method=method, **{**kwargs, "headers": headers})
        problem = _problem(response)
        if problem:
            snippet = response.get_data(as_text=True)[:120].replace("\n", " ")
            failures.append(f"{method} {url[:110]} [{label[:90]}] as {who}: {response.status_code} {problem}: "
                            f"{snippet}")

    def label(path_label: str, what: str) -> str:
        return f"{path_label} id, {what}" if path_label else what

    for who, user in users.items():
        assert client.get("/api/user/me", headers=auth_headers(user)).status_code == 200, who

    rules = [r for r in app.url_map.iter_rules() if not SKIP.search(r.rule)]
    rules.sort(key=lambda r: (DESTRUCTIVE.index(r.endpoint) if r.endpoint in DESTRUCTIVE else -1, r.rule))
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        staff_only = hasattr(view, "required_role")  # set by staff_required
        body_schema = _schema_of(view, {"json", "json_or_form", "form"})
        query_schema = _schema_of(view, {"query"})
        for method in sorted(rule.methods & set(METHODS)):
            for path_label, url in _paths(rule, ids):
                for who in users:
                    deep = path_label in ("", "existing", "unsold") and not (staff_only and who == "user")
                    if method in ("POST", "PUT", "PATCH"):
                        for what, kwargs in bodies.for_route(body_schema, deep):
                            send(method, url, label(path_label, what), who, kwargs)
                        continue
                    for query in _queries(query_schema) if deep else ["", *GENERIC_QUERIES[:2]]:
                        target = f"{url}?{query}" if query else url
                        send(method, target, label(path_label, f"query {query[:50]!r}"), who, {})
                    if method == "DELETE":
                        for what, kwargs in COMMON_BODIES[1:3]:
                            send(method, url, label(path_label, what), who, kwargs)
        if rule.endpoint == "payments.webhook":
            for what, kwargs in _signed_webhooks(ids):
                send("POST", rule.rule, what, "user", kwargs)

    # Stored input is read back: every GET route again, and a showtime on each screen the fuzzing made.
    for rule in rules:
        if "GET" in rule.methods:
            for path_label, url in _paths(rule, ids)[:2]:
                for who in users:
                    send("GET", url, label(path_label, "read back after the fuzzing"), who, {})
    movie_id = make_movie().id  # the fuzzed one may be deactivated by now
    for screen_id in sorted(set(db.session.scalars(sa.select(Screen.id))) - screens_before):
        starts_at = (datetime.now(timezone.utc) + timedelta(days=400 + screen_id)).replace(microsecond=0)
        body = {"movie_id": movie_id, "screen_id": screen_id, "starts_at": starts_at.isoformat()}
        send("POST", "/api/admin/showtimes", f"schedule on fuzzed screen {screen_id}", "superadmin",
             {"data": json.dumps(body), "content_type": JSON})
    for rule in rules:
        if "GET" in rule.methods and not rule.arguments:
            send("GET", rule.rule, "read back after scheduling on fuzzed screens", "superadmin", {})

    for who, user in users.items():  # the run was not one long 401
        assert client.get("/api/user/me", headers=auth_headers(user)).status_code == 200, who
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures)
