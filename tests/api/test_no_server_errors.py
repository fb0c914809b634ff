"""Every /api route answers malformed input with a JSON 4xx: never a 500, never a non-JSON body."""

from __future__ import annotations

import re

import pytest

from app.models import Role
from tests.factories import auth_headers, make_showtime, make_user

BAD_BODIES = [
    None,                                   # no body at all
    ("{not json", "application/json"),      # broken JSON
    ("[]", "application/json"),             # JSON, but not an object
    ('"text"', "application/json"),
    ('{"seat_ids": "A1", "showtime_id": "x", "email": 5, "page": -1}', "application/json"),
    ('{"seat_ids": [1, null, {}], "showtime_id": 1e309, "otp": []}', "application/json"),
    ('{"seat_ids": ["' + "A1" * 5000 + '"], "showtime_id": 99999999999999999999}', "application/json"),
    ('{"seat_ids": ["A\\u00001"], "email": "a\\u0000@example.com", "showtime_id": 1}', "application/json"),
    ("a=1&b=2", "application/x-www-form-urlencoded"),
    ("username=a%00b&password=x", "application/x-www-form-urlencoded"),
    ("\xff\xfe", "text/plain"),
]
BAD_QUERIES = ["", "?page=-1&per_page=0", "?page=abc", "?date=2026-99-99&seat_ids=,,,", "?q=%00%ff",
               "?per_page=99999999999999999999"]
SKIP = re.compile(r"^/api/(docs|openapi\.json)|/ws$")


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") and not SKIP.search(rule.rule):
            yield rule


def _url(rule, showtime_id: int) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(showtime_id if "showtime" in arg else 1), url)
    return url


@pytest.mark.parametrize("as_role", [None, Role.USER, Role.SUPERADMIN])
def test_malformed_requests_never_give_a_server_error(app, client, ctx, as_role):
    showtime = make_showtime()
    headers = auth_headers(make_user(role=as_role)) if as_role else {}
    failures = []
    for rule in _api_rules(app):
        url = _url(rule, showtime.id)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cases = BAD_BODIES if method in {"POST", "PUT", "PATCH"} else [None]
            for query in BAD_QUERIES:
                for body in cases:
                    kwargs = {"headers": headers}
                    if body is not None:
                        kwargs["data"], kwargs["content_type"] = body
                    response = client.open(url + query, method=method, **kwargs)
                    is_json = response.is_json or response.mimetype == "application/pdf"
                    if response.status_code >= 500 or not is_json:
                        failures.append((method, url + query, body, response.status_code,
                                         response.get_data(as_text=True)[:200]))
    assert not failures, "\n".join(map(str, failures[:20]))
