"""Catalogue request and response schemas (validation and OpenAPI from one source)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.schemas.common import Day, PageArgs, page_of


class MovieFilterArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "title search"})
    genre = fields.String(validate=validate.Length(min=1, max=40))
    language = fields.String(validate=validate.Length(min=1, max=40))
    city = fields.String(validate=validate.Length(min=1, max=80))
    date = Day(format="%Y-%m-%d", metadata={"description": "a day with showtimes (YYYY-MM-DD)"})


class ShowtimeFilterArgs(PageArgs):
    city = fields.String(validate=validate.Length(min=1, max=80))
    date = Day(format="%Y-%m-%d")


class TheatreFilterArgs(PageArgs):
    city = fields.String(validate=validate.Length(min=1, max=80))


class MovieSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String()
    description = fields.String()
    genre = fields.String()
    language = fields.String()
    duration_min = fields.Integer()
    certificate = fields.String()
    release_date = fields.Date(allow_none=True)
    poster_url = fields.String(allow_none=True)


class ScreenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    seat_count = fields.Method("_seat_count")

    def _seat_count(self, screen) -> int:  # type: ignore[no-untyped-def]
        layout = screen.layout
        return len(layout["rows"]) * layout["seats_per_row"] - len(layout.get("missing", []))


class TheatreSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    city = fields.String()
    address = fields.String()
    screens = fields.List(fields.Nested(ScreenSchema))


class TheatreBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    city = fields.String()


class ShowtimeSchema(Schema):
    id = fields.Integer()
    movie_id = fields.Integer()
    starts_at = fields.AwareDateTime(format="iso")
    ends_at = fields.AwareDateTime(format="iso")
    status = fields.Function(lambda s: s.status.value)
    screen = fields.Function(lambda s: {"id": s.screen.id, "name": s.screen.name})
    theatre = fields.Function(lambda s: TheatreBriefSchema().dump(s.screen.theatre))
    movie = fields.Function(lambda s: {"id": s.movie.id, "title": s.movie.title})


class OnSaleSchema(Schema):
    waiting_room = fields.Boolean(metadata={"description": "buyers join the queue first (POST .../queue)"})
    sales_open_at = fields.AwareDateTime(format="iso", allow_none=True,
                                         metadata={"description": "no seat can be held before it"})


def _on_sale(showtime: Any) -> dict[str, Any]:
    room = showtime.waiting_room
    return OnSaleSchema().dump({"waiting_room": bool(room and room.enabled),
                                "sales_open_at": room.sales_open_at if room else None})


class ShowtimeDetailSchema(ShowtimeSchema):
    on_sale = fields.Function(_on_sale, metadata={"description": "the showtime's waiting room and opening"})


class SeatSchema(Schema):
    id = fields.String(metadata={"description": 'seat name, e.g. "A1"'})
    row = fields.String()
    number = fields.Integer()
    section = fields.String()
    price = fields.Integer(metadata={"description": "paise"})
    status = fields.String(validate=validate.OneOf(["available", "locked", "booked", "blocked"]))
    accessible = fields.Boolean()
    companion = fields.Boolean()
    mine = fields.Boolean(metadata={"description": "held by the caller"})


class SectionSchema(Schema):
    name = fields.String()
    label = fields.String()
    price = fields.Integer()
    rows = fields.List(fields.String())


class SeatMapSchema(Schema):
    showtime_id = fields.Integer()
    currency = fields.String()
    rows = fields.List(fields.String())
    seats_per_row = fields.Integer()
    sections = fields.List(fields.Nested(SectionSchema))
    seats = fields.List(fields.Nested(SeatSchema))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    holds_available = fields.Boolean(metadata={"description": "false when live holds could not be read "
                                                              "(lock store down): locked seats are unknown"})
    version = fields.Integer(allow_none=True, metadata={"description": "the seat event version this map "
                                                                       "reflects (see the seat WebSocket)"})


MoviePage = page_of(MovieSchema)
TheatrePage = page_of(TheatreSchema)
ShowtimePage = page_of(ShowtimeSchema)
