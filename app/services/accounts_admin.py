"""Staff: accounts. Listing users, changing roles (superadmins), suspending and restoring accounts. Every
write is audited in its own transaction (app/services/audit.py)."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.errors import Forbidden, NotFound
from app.extensions import db
from app.models import Role, User
from app.services import catalogue, paging, revocation
from app.services.audit import audit

log = logging.getLogger(__name__)


def list_users(page: int, per_page: int, q: str | None = None, role: str | None = None) -> tuple[list[User], int]:
    """Users by id, matching q in email or name, optionally of one role."""
    stmt = sa.select(User)
    if q:
        like = catalogue._like(q.strip())
        stmt = stmt.where(sa.or_(sa.func.lower(User.email).like(like, escape="\\"),
                                 sa.func.lower(User.name).like(like, escape="\\")))
    if role:
        stmt = stmt.where(User.role == Role(role))
    return paging.paged(stmt, (User.id,), page, per_page)


def set_role(actor: User, user_id: int, role: str) -> User:
    """Promote a user to admin or demote an admin to user (superadmins only; effective at once).

    Raises NotFound `user_not_found`, Forbidden `superadmin_protected` (superadmins are managed with the
    `flask create-superadmin` command, never through the API).
    """
    target = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if target is None:
        raise NotFound(f"User {user_id} was not found.", code="user_not_found")
    if target.role is Role.SUPERADMIN:
        raise Forbidden("A superadmin's role cannot be changed through the API.", code="superadmin_protected")
    new = Role(role)
    if new is Role.SUPERADMIN:
        raise Forbidden("Superadmins are created with `flask create-superadmin`.", code="superadmin_protected")
    if target.role is not new:
        old = target.role
        target.role = new
        db.session.flush()
        audit(actor, "user.promote" if new is Role.ADMIN else "user.demote", "user", target.id,
              {"role": [old.value, new.value]})
    return target


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Suspend or restore an account (effective at once: a suspended user's tokens get 401 everywhere,
    and login and refresh refuse it). Admins manage plain users; superadmins also manage admins.

    Raises NotFound `user_not_found`, Forbidden `superadmin_only` (an admin's account, for an admin),
    `superadmin_protected` (a superadmin's account), `self_protected` (one's own account).
    """
    target = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if target is None:
        raise NotFound(f"User {user_id} was not found.", code="user_not_found")
    if target.id == actor.id:
        raise Forbidden("You cannot suspend or restore your own account.", code="self_protected")
    if target.role is Role.SUPERADMIN:
        raise Forbidden("A superadmin's account cannot be changed through the API.", code="superadmin_protected")
    if target.role is Role.ADMIN and actor.role is not Role.SUPERADMIN:
        raise Forbidden("Only a superadmin can suspend or restore an admin.", code="superadmin_only")
    if target.is_active is not active:
        target.is_active = active
        db.session.flush()
        if active:
            revocation.restore_user(target)
        else:
            revocation.suspend_user(target)
        audit(actor, "user.restore" if active else "user.suspend", "user", target.id,
              {"is_active": [not active, active]})
        log.info("user %s %s by %s", target.id, "restored" if active else "suspended", actor.id)
    return target


def is_staff(user_id: object) -> bool:
    """Whether user_id (a token's subject) names an active admin or superadmin."""
    if not str(user_id).isdigit():
        return False
    user = db.session.get(User, int(str(user_id)))
    return user is not None and user.is_active and user.is_staff
