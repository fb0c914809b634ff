"""Health, OpenAPI, error shape and the database guarantees of the schema."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ShowtimeSeat
from tests.factories import make_showtime


def test_health_routes(client, ctx):
    assert client.get("/api/").get_json()["status"] == "ok"
    assert client.get("/api/health").get_json() == {"status": "ok", "database": "ok", "redis": "ok",
                                                    "workers": {"mode": "in-process", "healthy": True}}
    assert client.get("/api/health/redis").get_json() == {"status": "ok", "redis": "ok"}


def test_openapi_describes_every_api_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["info"]["title"] == "CineVerse API"
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith("api-docs") \
                or rule.rule in ("/api/openapi.json",) or rule.rule.startswith("/api/docs"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in documented, f"{rule.rule} is missing from the OpenAPI document"
    assert client.get("/api/docs").status_code == 200


def test_invalid_json_body_is_a_json_400(client, ctx):
    response = client.post("/api/movies", data="{not json", content_type="application/json")
    assert response.status_code in (400, 405)
    assert "error" in response.get_json()


def test_seat_sold_twice_is_impossible_in_the_database(ctx):
    showtime = make_showtime()
    db.session.add(ShowtimeSeat(showtime_id=showtime.id, label="A1", row="A", number=1, section="regular",
                                price=100))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_booked_seat_needs_a_booking(ctx):
    showtime = make_showtime()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                         ShowtimeSeat.label == "A1").values(state="booked"))
        db.session.flush()
    db.session.rollback()


def test_api_docs_load_no_third_party_script(client):
    """The docs page runs on the origin where staff tokens live: its Swagger UI comes from our own server."""
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/api/docs/assets/") for src in sources), sources
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.data) > 1000, src
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert client.get("/api/docs/assets/..%2fconfig.py").status_code == 404
