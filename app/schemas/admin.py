"""Staff request and response schemas (validation and OpenAPI from one source)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas.catalogue import MovieSchema, ShowtimeSchema
from app.schemas.common import PageArgs, page_of

_TITLE = validate.Length(min=1, max=200)
_SHORT = validate.Length(min=1, max=40)
_DURATION = validate.Range(min=1, max=600)
_CERT = validate.Length(min=1, max=8)
_URL = validate.Length(max=500)


class MovieCreateSchema(Schema):
    title = fields.String(required=True, validate=_TITLE)
    description = fields.String(validate=validate.Length(max=5000))
    genre = fields.String(required=True, validate=_SHORT)
    language = fields.String(required=True, validate=_SHORT)
    duration_min = fields.Integer(required=True, strict=True, validate=_DURATION)
    certificate = fields.String(validate=_CERT)
    release_date = fields.Date(allow_none=True)
    poster_url = fields.Url(allow_none=True, validate=_URL, schemes={"http", "https"})


class MovieUpdateSchema(Schema):
    title = fields.String(validate=_TITLE)
    description = fields.String(validate=validate.Length(max=5000))
    genre = fields.String(validate=_SHORT)
    language = fields.String(validate=_SHORT)
    duration_min = fields.Integer(strict=True, validate=_DURATION)
    certificate = fields.String(validate=_CERT)
    release_date = fields.Date(allow_none=True)
    poster_url = fields.Url(allow_none=True, validate=_URL, schemes={"http", "https"})
    is_active = fields.Boolean()


class MovieAdminSchema(MovieSchema):
    is_active = fields.Boolean()
    created_at = fields.AwareDateTime(format="iso")


class MovieAdminArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100))


class TheatreCreateSchema(Schema):
    name = fields.String(required=True, validate=_TITLE)
    city = fields.String(required=True, validate=validate.Length(min=1, max=80))
    address = fields.String(validate=validate.Length(max=300))


class TheatreUpdateSchema(Schema):
    name = fields.String(validate=_TITLE)
    city = fields.String(validate=validate.Length(min=1, max=80))
    address = fields.String(validate=validate.Length(max=300))


class ScreenCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    layout = fields.Dict(metadata={"description": "rows, seats_per_row, sections, accessible, companion, "
                                                  "missing; the default 12 x 18 layout when left out"})


class ScreenUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=80))
    layout = fields.Dict(metadata={"description": "applies to showtimes scheduled from now on"})


class ScreenAdminSchema(Schema):
    id = fields.Integer()
    theatre_id = fields.Integer()
    name = fields.String()
    layout = fields.Dict()


class TheatreAdminSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    city = fields.String()
    address = fields.String()
    screens = fields.List(fields.Nested(ScreenAdminSchema))


class _Prices(fields.Dict):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(keys=fields.String(validate=validate.Length(min=1, max=32)),
                         values=fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000)),
                         metadata={"description": "price in paise by section name"}, **kwargs)


class ShowtimeCreateSchema(Schema):
    movie_id = fields.Integer(required=True, strict=True)
    screen_id = fields.Integer(required=True, strict=True)
    starts_at = fields.AwareDateTime(required=True, format="iso")
    prices = _Prices()


class ShowtimeUpdateSchema(Schema):
    starts_at = fields.AwareDateTime(format="iso")
    prices = _Prices()


class BookingFilterArgs(PageArgs):
    showtime_id = fields.Integer()
    user_id = fields.Integer()
    state = fields.String(validate=validate.OneOf(["confirmed", "cancelled"]))


class BookingAdminSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    user_id = fields.Integer()
    showtime_id = fields.Integer()
    seats = fields.List(fields.String(), attribute="seat_labels")
    amount = fields.Integer(metadata={"description": "paise"})
    currency = fields.String()
    state = fields.Function(lambda b: b.state.value)
    created_at = fields.AwareDateTime(format="iso")
    checked_in_at = fields.AwareDateTime(format="iso", allow_none=True)
    cancelled_at = fields.AwareDateTime(format="iso", allow_none=True)


class MoneySchema(Schema):
    amount = fields.Integer()
    currency = fields.String()


class SectionSalesSchema(Schema):
    name = fields.String()
    available = fields.Integer()
    booked = fields.Integer()
    blocked = fields.Integer()


class SalesSchema(Schema):
    showtime_id = fields.Integer()
    status = fields.String()
    starts_at = fields.AwareDateTime(format="iso")
    seats_total = fields.Integer()
    seats = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "seat counts by state: available, booked, blocked"})
    sections = fields.List(fields.Nested(SectionSalesSchema))
    bookings_confirmed = fields.Integer()
    bookings_cancelled = fields.Integer()
    revenue = fields.Nested(MoneySchema, metadata={"description": "confirmed bookings, paise"})


class AuditFilterArgs(PageArgs):
    entity = fields.String(validate=validate.Length(min=1, max=64))
    actor_id = fields.Integer()


class AuditSchema(Schema):
    id = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    entity = fields.String()
    entity_id = fields.String(allow_none=True)
    changes = fields.Dict()
    created_at = fields.AwareDateTime(format="iso")


MovieAdminPage = page_of(MovieAdminSchema)
TheatreAdminPage = page_of(TheatreAdminSchema)
BookingAdminPage = page_of(BookingAdminSchema)
AuditPage = page_of(AuditSchema)


class ShowtimeCancelSchema(Schema):
    showtime = fields.Nested(ShowtimeSchema)
    bookings_cancelled = fields.Integer()
    refunds = fields.Integer()
    orders_expired = fields.Integer()
