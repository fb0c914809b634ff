"""Mail headers built from data (a movie's title in a waiting-list subject) are made single-line, so a
title with a line break is neither an injected header nor a task that fails on every run; and staff
cannot give a movie such a title in the first place."""

from __future__ import annotations

import pytest

from app.models import Role
from app.services import mail
from tests.accounts_support import inbox_fixture  # noqa: F401  (the inbox fixture)
from tests.api.test_waitlist import join, only_for_sale
from tests.factories import auth_headers, make_movie, make_showtime, make_user


def test_a_title_with_line_breaks_still_gets_its_waitlist_mail(app, client, ctx, inbox):
    # a title stored before the admin schema refused control characters (or written outside the API)
    showtime = make_showtime(make_movie(title="Night\r\nBcc: victim@example.com\n\tPart\x072"))
    only_for_sale(showtime.id, ["B1"])
    waiting = make_user(email="waiting@example.com")
    assert join(client, waiting, showtime.id, 1).status_code == 201

    task = app.extensions["celery"].tasks["workers.waitlist.notify_waitlist"]
    result = task.apply(args=[showtime.id])
    assert result.successful(), result.traceback
    assert result.result == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["waiting@example.com"]
    assert message["Subject"] == "Seats held for you: Night Bcc: victim@example.com Part 2"
    assert message["Bcc"] is None


@pytest.mark.parametrize("raw, clean", [
    ("plain", "plain"),
    ("two\nlines", "two lines"),
    ("\r\n lead and trail \u2028", "lead and trail"),
    ("tab\there\x7fdel", "tab here del"),
    ("emoji \U0001f3ac kept", "emoji \U0001f3ac kept"),
])
def test_header_value(raw, clean):
    assert mail.header_value(raw) == clean


@pytest.mark.parametrize("title", ["Two\nLines", "Carriage\rReturn", "Bell\x07", "Sep\u2028"])
def test_staff_cannot_give_a_movie_a_title_with_control_characters(client, ctx, title):
    headers = auth_headers(make_user(role=Role.ADMIN))
    created = client.post("/api/admin/movies", headers=headers, json={
        "title": title, "genre": "Drama", "language": "Hindi", "duration_min": 100})
    assert created.status_code == 422, created.get_json()
    assert "title" in created.get_json()["error"]["details"]["fields"]
    movie = make_movie()
    updated = client.patch(f"/api/admin/movies/{movie.id}", headers=headers, json={"title": title})
    assert updated.status_code == 422, updated.get_json()
    assert "title" in updated.get_json()["error"]["details"]["fields"]
