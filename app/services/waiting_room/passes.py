"""Queue passes and queue tickets: short strings signed with a key derived from SECRET_KEY.

A pass (`qp1.<showtime>.<user>.<expires ms>.<mac>`) says "this user was admitted to this showtime's sale
until then". The signature binds it to the user and the showtime; Redis decides whether the admission
still stands: the lock script and the gate accept a pass only while the user's score in the room's
active set equals the expiry the pass names (leaving, buying or a later admission ends it).
A ticket (`qt1.<showtime>.<user>.<arrival>.<mac>`) names a place in the queue and grants nothing; its
arrival number is the first-come order after the opening, 0 in the pre-queue (whose places are secret).
A pre-queue place is drawn once per account and showtime (`pre_queue_place`), so leaving and joining
again never draws a better one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from app.appctx import this_app

QUEUE_PASS_HEADER = "X-Queue-Pass"  # noqa: S105 - a header's name, not a secret
MAX_LENGTH = 160
_PASS = re.compile(r"qp1\.([1-9][0-9]{0,9})\.([1-9][0-9]{0,18})\.([1-9][0-9]{0,15})\.([A-Za-z0-9_\-]{43})\Z")


def _key() -> bytes:
    secret = str(this_app().config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"cineverse queue pass v1", hashlib.sha256).digest()


def _mac(*parts: object) -> str:
    message = ".".join(str(p) for p in parts).encode()
    digest = hmac.new(_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_pass(showtime_id: int, user_id: str, expires_ms: int) -> str:
    return f"qp1.{showtime_id}.{user_id}.{int(expires_ms)}.{_mac('qp1', showtime_id, user_id, int(expires_ms))}"


def sign_ticket(showtime_id: int, user_id: str, arrival: int) -> str:
    return f"qt1.{showtime_id}.{user_id}.{int(arrival)}.{_mac('qt1', showtime_id, user_id, int(arrival))}"


def pre_queue_place(showtime_id: int, user_id: str) -> int:
    """The account's place in the showtime's pre-queue: a keyed hash below 2^48, so the places of everyone
    who came before the opening are a uniform shuffle nobody can predict or re-roll."""
    digest = hmac.new(_key(), f"pre-queue.{showtime_id}.{user_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:6], "big")


def pass_expiry(token: str | None, showtime_id: int, user_id: str) -> str:
    """The expiry (ms, as a string) a pass names when it is well formed, signed by this app and issued to
    this user for this showtime; "" otherwise (the gate then refuses it). Whether it is still valid is
    Redis's to say (the module docstring)."""
    if not token or len(token) > MAX_LENGTH:
        return ""
    match = _PASS.match(token)
    if match is None or match.group(1) != str(showtime_id) or match.group(2) != str(user_id):
        return ""
    if not hmac.compare_digest(match.group(4), _mac("qp1", showtime_id, user_id, match.group(3))):
        return ""
    return match.group(3)
