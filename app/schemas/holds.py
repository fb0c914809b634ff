"""Seat hold request and response schemas."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates

from app.models.seating import SEAT_LABEL

_SEAT_ID = fields.String(validate=validate.Regexp(SEAT_LABEL, error='Seat ids look like "A1" .. "L18".'))


class SeatIdsSchema(Schema):
    seat_ids = fields.List(
        _SEAT_ID, required=True, validate=validate.Length(min=1),
        metadata={"description": "1 .. MAX_SEATS_PER_BOOKING seat names; duplicates are ignored",
                  "example": ["A1", "A2"]},
    )

    @validates("seat_ids")
    def _at_most_max(self, value: list[str], **_: Any) -> None:
        maximum = int(current_app.config["MAX_SEATS_PER_BOOKING"])
        if len(dict.fromkeys(value)) > maximum:
            raise ValidationError(f"At most {maximum} seats at once.")

    @post_load
    def _dedupe(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["seat_ids"] = list(dict.fromkeys(data["seat_ids"]))
        return data


class BestSeatsSchema(Schema):
    count = fields.Integer(required=True, strict=True, metadata={"description": "1 .. MAX_SEATS_PER_BOOKING seats"})
    section = fields.String(validate=validate.Length(min=1, max=32),
                            metadata={"description": "only this section (its name, e.g. premium)"})
    accessible = fields.Boolean(load_default=False,
                                metadata={"description": "a wheelchair space in the block, its companion seats beside"})

    @validates("count")
    def _count(self, value: int, **_: Any) -> None:
        maximum = int(current_app.config["MAX_SEATS_PER_BOOKING"])
        if not 1 <= value <= maximum:
            raise ValidationError(f"Between 1 and {maximum} seats.")


class InspectArgs(Schema):
    seat_ids = fields.List(_SEAT_ID, metadata={"description": "comma-separated, e.g. A1,A2; all held seats "
                                                              "when absent"})

    @pre_load
    def _split(self, data: Any, **_: Any) -> dict[str, Any]:
        if not hasattr(data, "get") or "seat_ids" not in data:
            return {}
        raw = data.get("seat_ids")
        parts = raw if isinstance(raw, list) else [raw]  # ?seat_ids=A1,A2 and ?seat_ids=A1&seat_ids=A2
        return {"seat_ids": [s.strip() for part in parts for s in str(part).split(",") if s.strip()]}

    @validates("seat_ids")
    def _bounded(self, value: list[str], **_: Any) -> None:
        if not 1 <= len(value) <= 300:
            raise ValidationError("Name 1 to 300 seats.")

    @post_load
    def _dedupe(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "seat_ids" in data:
            data["seat_ids"] = list(dict.fromkeys(data["seat_ids"]))
        return data


class HeldSeatSchema(Schema):
    seat_id = fields.String()
    expires_at = fields.AwareDateTime(format="iso")


class HoldsSchema(Schema):
    showtime_id = fields.Integer()
    seat_ids = fields.List(fields.String(), metadata={"description": "the seats this request held or renewed"})
    expires_at = fields.AwareDateTime(format="iso", metadata={"description": "when those holds lapse (UTC)"})
    ttl_ms = fields.Integer()
    holds = fields.List(fields.Nested(HeldSeatSchema), metadata={"description": "every seat the caller holds "
                                                                                 "in this showtime"})


class ReleasedSchema(Schema):
    showtime_id = fields.Integer()
    seat_ids = fields.List(fields.String(), metadata={"description": "the seats asked for"})
    released = fields.List(fields.String(), metadata={"description": "the seats whose holds were released"})


class SeatLockSchema(Schema):
    seat_id = fields.String()
    held = fields.Boolean()
    mine = fields.Boolean()
    ttl_ms = fields.Integer(allow_none=True)
    expires_at = fields.AwareDateTime(format="iso", allow_none=True)
    holder_id = fields.String(allow_none=True, metadata={"description": "staff only"})


class InspectSchema(Schema):
    showtime_id = fields.Integer()
    seats = fields.List(fields.Nested(SeatLockSchema))
