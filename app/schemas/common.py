"""Schemas shared by every blueprint: pagination and the error body."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from marshmallow import Schema, fields, validate

MAX_PER_PAGE = 100

# Bounds for every day and instant the API reads: wide enough for any real use, and far from datetime's
# years 1 and 9999, where moving between time zones or adding a day overflows (a 500, not a 422).
EARLIEST_DAY, LATEST_DAY = date(1800, 1, 1), date(2199, 12, 31)
_EARLIEST = datetime(1800, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802 - used like a field class
    """fields.Date within EARLIEST_DAY .. LATEST_DAY."""
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY,
                                               error="A day from {min} to {max}."), **kwargs)


def Instant(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802 - used like a field class
    """fields.AwareDateTime (ISO 8601 with an offset) within the years 1800 .. 2199."""
    return fields.AwareDateTime(format="iso", validate=validate.Range(
        min=_EARLIEST, max=_LATEST, max_inclusive=False, error="A time from 1800 to 2199."), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A list envelope `{"items", "total", "page", "per_page"}` around item_schema."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )
