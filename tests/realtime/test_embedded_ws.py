"""The embedded default (SQLite + fakeredis, one process) runs the same hold and pub/sub code path."""

from __future__ import annotations

import fakeredis
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.realtime.hub import get_hub
from app.services.seats import holds
from tests.factories import make_showtime
from tests.realtime.helpers import connect, receive, serve_in_thread


def test_embedded_default_broadcasts_through_fakeredis(tmp_path):
    app = create_app(TestConfig(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'embedded.db'}", REDIS_URL=None,
                                CELERY_EAGER=True, SQLALCHEMY_ENGINE_OPTIONS={}))
    assert isinstance(app.extensions["redis"], fakeredis.FakeRedis)
    with app.app_context():
        upgrade()
        showtime_id = make_showtime().id
        try:
            with serve_in_thread(app) as port:
                ws = connect(port, showtime_id)
                assert receive(ws)["type"] == "snapshot"
                holds.lock(showtime_id, "1", ["A1", "A2"])
                event = receive(ws)
                assert (event["type"], event["seat_ids"]) == ("seat_locked", ["A1", "A2"])
                holds.release(showtime_id, "1", ["A1"])
                assert receive(ws)["version"] == event["version"] + 1
                ws.close()
        finally:
            get_hub(app).stop()
            db.session.remove()
            db.engine.dispose()
