"""The revocation check that the hold scripts run in their own Redis step, so a lock costs one round trip.

A view whose single Redis step can check the token's revocation itself (the hold scripts take guard
keys) is marked with `revocation_checked_in_step`; for it the blocklist loader leaves the check pending
instead of making a round trip of its own, and the view runs its step through `with_revocation_guard`.
Every other way out of a marked view (a validation error before the step, Redis down, a path that never
reached the step) gets the usual check before its response leaves, so a revoked token gets 401 exactly
as on every other route.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request

from app.errors import Unauthorized
from app.extensions import db
from app.models import User
from app.services.revocation import checked_jtis, is_revoked, revoked_key, warm_key
from app.services.seats.keys import clustered
from app.services.seats.scripts import GuardRefused

log = logging.getLogger(__name__)

_PENDING = "cineverse_revocation_pending"
_MARK = "_cineverse_revocation_in_step"
T = TypeVar("T")


def revoked_error(payload: dict[str, Any]) -> Unauthorized:
    """The 401 for a refused token: `account_inactive` when its user was suspended (asked only on this
    refusal path), else `token_revoked`."""
    subject = str(payload.get("sub", ""))
    try:
        active = db.session.scalar(sa.select(User.is_active).where(User.id == int(subject))) \
            if subject.isdigit() else None
    except Exception:  # noqa: BLE001 - the refusal stands; only its wording is at stake
        db.session.rollback()
        active = None
    if active is False:
        return Unauthorized("This account no longer exists or is deactivated.", code="account_inactive")
    return Unauthorized("The token was revoked.", code="token_revoked", details={"token_type": payload.get("type")})


def defer_revocation_check(payload: dict[str, Any]) -> bool:
    """True (and the check left pending) when the current request's view checks revocation in its step."""
    if not has_request_context() or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, _MARK, False):
        return False
    g.setdefault(_PENDING, payload)
    return True


def _check_pending_revocation() -> None:
    payload = g.pop(_PENDING, None)
    if payload is not None and is_revoked(checked_jtis(payload)):
        raise revoked_error(payload)


def revocation_checked_in_step(view: Callable[..., T]) -> Callable[..., T]:
    """Mark a JWT-protected view (put it right under the route decorator) whose Redis step checks the
    token's revocation through `with_revocation_guard`, saving the blocklist lookup's round trip."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        g.pop(_PENDING, None)  # tests may share one app context (and g) between requests
        try:
            response = view(*args, **kwargs)
        except Exception as exc:
            try:
                _check_pending_revocation()
            except Unauthorized as revoked:
                raise revoked from exc
            raise
        _check_pending_revocation()  # a path that never reached the step: checked all the same
        return response

    setattr(wrapper, _MARK, True)
    return wrapper


def with_revocation_guard(step: Callable[[Sequence[str]], T], payload: dict[str, Any] | None = None,
                          guard_ran: Callable[[T], bool] | None = None) -> T:
    """Run step(guard) inside a `revocation_checked_in_step` view (or for a token `payload` decoded
    outside one, app/hotpath/lane.py): guard is the token's revocation key and its user's suspension
    key (neither may exist) and the revocation mirror's warm marker (must exist), which the hold scripts
    check before changing anything (seats.scripts.GuardRefused). An empty guard when the token was checked
    already.

    Raises Unauthorized `token_revoked` / `account_inactive`. A cold mirror (no warm marker, e.g. after a
    Redis restart) gets the full check, which rebuilds it, and the step runs once more without the guard.
    `guard_ran(result)` says whether a step that returned had its guard checked; a step that answers
    without its script (the seat map from the database alone while Redis is down) gets the full check.
    """
    if payload is None:
        payload = g.pop(_PENDING, None)
        if payload is None:
            return step(())
    jtis = checked_jtis(payload)
    if len(jtis) != 2 or clustered():  # no numeric subject, or a cluster (the guard keys are in other
        # slots than the script's): the usual check, then the step
        if is_revoked(jtis):
            raise revoked_error(payload)
        return step(())
    try:
        result = step((revoked_key(jtis[0]), revoked_key(jtis[1]), warm_key()))
    except GuardRefused as exc:
        if exc.present or is_revoked(jtis):
            raise revoked_error(payload) from exc
        return step(())
    except Exception as exc:  # the step may have failed before its script ran (bad seats, Redis down)
        if is_revoked(jtis):
            raise revoked_error(payload) from exc
        raise
    if guard_ran is not None and not guard_ran(result) and is_revoked(jtis):
        raise revoked_error(payload)
    return result
