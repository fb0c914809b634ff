"""The one role check for staff routes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

from app.errors import Forbidden
from app.models import Role, User
from app.services.auth import user_from_identity


def staff_required(superadmin: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only staff (or only superadmins) through: anonymous 401, others 403.

    The role is read from the database on every call, so a demoted admin loses access at once. Place it
    directly under `@blp.route` (above `@blp.arguments`), so it runs before the body is parsed and before
    the handler can answer 404: nothing about the route's data reaches non-staff.
    """
    required = Role.SUPERADMIN if superadmin else Role.ADMIN

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            user = user_from_identity(get_jwt_identity())
            if not user.is_staff:
                raise Forbidden("This is for staff only.", code="staff_only")
            if superadmin and user.role is not Role.SUPERADMIN:
                raise Forbidden("This is for superadmins only.", code="superadmin_only")
            g.staff_user = user
            return fn(*args, **kwargs)

        wrapper.required_role = required  # type: ignore[attr-defined]  # read by the route-walking test
        return wrapper

    return decorate


def current_staff() -> User:
    """The staff user staff_required admitted for this request."""
    return g.staff_user  # type: ignore[no-any-return]
