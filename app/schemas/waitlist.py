"""Waiting-list request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas.common import PageArgs, page_of


class WaitlistJoinSchema(Schema):
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=50),
                           metadata={"description": "seats wanted, 1..MAX_SEATS_PER_BOOKING"})


class WaitlistEntrySchema(Schema):
    showtime_id = fields.Integer()
    seats = fields.Integer()
    joined_at = fields.AwareDateTime(format="iso", attribute="created_at")
    notified_at = fields.AwareDateTime(format="iso", allow_none=True,
                                       metadata={"description": "when seats were last announced to you"})
    movie = fields.Function(lambda e: {"id": e.showtime.movie.id, "title": e.showtime.movie.title})
    starts_at = fields.Function(lambda e: e.showtime.starts_at.isoformat())
    showtime_status = fields.Function(lambda e: e.showtime.status.value)


class WaitlistArgs(PageArgs):
    pass


WaitlistPage = page_of(WaitlistEntrySchema)
