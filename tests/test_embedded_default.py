"""The embedded default: SQLite in a file built from the migrations, fakeredis, tasks in-process."""

from __future__ import annotations

import fakeredis
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.services.seed import seed_demo
from app.services.uow import transaction


def test_embedded_default_migrates_seeds_and_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_DIR", str(tmp_path / "tickets"))
    config = TestConfig(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'cineverse.db'}", REDIS_URL=None,
                        CELERY_EAGER=True, SQLALCHEMY_ENGINE_OPTIONS={})
    app = create_app(config)
    assert isinstance(app.extensions["redis"], fakeredis.FakeRedis)
    assert app.extensions["celery"].conf.task_always_eager is True
    with app.app_context():
        upgrade()
        with transaction():
            created = seed_demo(days=2)
        assert created["movies"] == 12 and created["showtimes"] > 0
        client = app.test_client()
        movies = client.get("/api/movies?per_page=100").get_json()
        assert movies["total"] == 12
        assert client.get("/api/theatres?city=mumbai").get_json()["total"] == 2
        assert client.get("/api/health/redis").get_json()["redis"] == "ok"
        seats = client.get("/api/showtimes/1/seats").get_json()["seats"]
        assert len(seats) == 216
        showtimes = client.get(f"/api/movies/{movies['items'][0]['id']}/showtimes").get_json()
        assert showtimes["total"] >= 0
        db.session.remove()
        db.engine.dispose()


def test_the_embedded_beat_keeps_its_routine_task_lines_out_of_the_log():
    import logging
    import threading

    from app.embedded import BEAT_THREAD, _QuietBeat

    quiet = _QuietBeat()
    seen: dict[str, list[bool]] = {}

    def judge(name: str) -> None:
        seen[name] = [quiet.filter(logging.LogRecord("celery.app.trace", level, __file__, 1, "m", None, None))
                      for level in (logging.INFO, logging.WARNING, logging.ERROR)]

    for name in (BEAT_THREAD, "worker"):
        thread = threading.Thread(target=judge, args=(name,), name=name)
        thread.start()
        thread.join()
    assert seen == {BEAT_THREAD: [False, True, True], "worker": [True, True, True]}
