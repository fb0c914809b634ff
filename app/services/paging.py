"""One way to cut a query into pages: `{"items", "total", "page", "per_page"}` (../shared/API.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db


def count(stmt: sa.Select[*tuple[Any, ...]]) -> int:
    """How many rows stmt selects."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def window(stmt: sa.Select[*tuple[Any, ...]], page: int, per_page: int) -> sa.Select[*tuple[Any, ...]]:
    """stmt limited to one page (pages count from 1; stmt must be ordered)."""
    return stmt.limit(per_page).offset((page - 1) * per_page)


def paged(stmt: sa.Select[*tuple[Any, ...]], order_by: tuple[Any, ...], page: int, per_page: int, *,
          rows: bool = False, unique: bool = False) -> tuple[list[Any], int]:
    """(one page of stmt ordered by order_by, the total count): ORM objects, or Row tuples with rows=True;
    unique=True for statements that join-load collections."""
    total = count(stmt)
    query = window(stmt.order_by(*order_by), page, per_page)
    if rows:
        return list(db.session.execute(query).all()), total
    result = db.session.scalars(query)
    return list(result.unique().all() if unique else result.all()), total


def page_body(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    """The list envelope every list route answers with."""
    return {"items": items, "total": total, "page": page, "per_page": per_page}
