"""Staff request and response schemas (validation and OpenAPI from one source)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from app.schemas.catalogue import MovieSchema, ShowtimeSchema
from app.schemas.common import Day, Instant, PageArgs, page_of
from app.textcheck import has_control_characters

_TITLE = validate.Length(min=1, max=200)
_SHORT = validate.Length(min=1, max=40)
_DURATION = validate.Range(min=1, max=600)
_CERT = validate.Length(min=1, max=8)
_URL = validate.Length(max=500)


def _one_line(value: str) -> None:
    """A movie's title goes into mail subjects and page headings: one line, no control characters."""
    if has_control_characters(value):
        raise ValidationError("Must be one line without control characters.")


_MOVIE_TITLE = (_TITLE, _one_line)


class MovieCreateSchema(Schema):
    title = fields.String(required=True, validate=_MOVIE_TITLE)
    description = fields.String(validate=validate.Length(max=5000))
    genre = fields.String(required=True, validate=_SHORT)
    language = fields.String(required=True, validate=_SHORT)
    duration_min = fields.Integer(required=True, strict=True, validate=_DURATION)
    certificate = fields.String(validate=_CERT)
    release_date = Day(allow_none=True)
    poster_url = fields.Url(allow_none=True, validate=_URL, schemes={"http", "https"})


class MovieUpdateSchema(Schema):
    title = fields.String(validate=_MOVIE_TITLE)
    description = fields.String(validate=validate.Length(max=5000))
    genre = fields.String(validate=_SHORT)
    language = fields.String(validate=_SHORT)
    duration_min = fields.Integer(strict=True, validate=_DURATION)
    certificate = fields.String(validate=_CERT)
    release_date = Day(allow_none=True)
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
    allow_single_seat_gaps = fields.Boolean(metadata={"description": "whether a lock may leave one empty seat "
                                                                     "between taken ones (default false)"})


class TheatreUpdateSchema(Schema):
    name = fields.String(validate=_TITLE)
    city = fields.String(validate=validate.Length(min=1, max=80))
    address = fields.String(validate=validate.Length(max=300))
    allow_single_seat_gaps = fields.Boolean(metadata={"description": "whether a lock may leave one empty seat "
                                                                     "between taken ones (default false)"})


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
    allow_single_seat_gaps = fields.Boolean()
    screens = fields.List(fields.Nested(ScreenAdminSchema))


class _Prices(fields.Dict):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(keys=fields.String(validate=validate.Length(min=1, max=32)),
                         values=fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000)),
                         metadata={"description": "price in paise by section name"}, **kwargs)


class ShowtimeCreateSchema(Schema):
    movie_id = fields.Integer(required=True, strict=True)
    screen_id = fields.Integer(required=True, strict=True)
    starts_at = Instant(required=True)
    prices = _Prices()


class ShowtimeUpdateSchema(Schema):
    starts_at = Instant()
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


# ---------------------------------------------------------------- promo codes

_PAISE = validate.Range(min=1, max=100_000_000)


class _PromoTerms(Schema):
    description = fields.String(validate=validate.Length(max=200))
    value = fields.Integer(strict=True, validate=_PAISE,
                           metadata={"description": "percent (1..100) for kind percent, paise for kind flat"})
    max_discount = fields.Integer(strict=True, allow_none=True, validate=_PAISE,
                                  metadata={"description": "paise; caps a percent discount"})
    min_order_amount = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000_000),
                                      metadata={"description": "paise, the subtotal an order needs"})
    valid_from = Instant(allow_none=True)
    valid_until = Instant(allow_none=True)
    max_redemptions = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=10_000_000),
                                     metadata={"description": "in total; null for unlimited"})
    once_per_user = fields.Boolean()
    is_active = fields.Boolean()


class PromoCreateSchema(_PromoTerms):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{2,31}\s*$", error="3-32 letters, digits, '-' or '_'."),
        metadata={"description": "case-insensitive; stored upper-cased"})
    kind = fields.String(required=True, validate=validate.OneOf(["percent", "flat"]))
    value = fields.Integer(required=True, strict=True, validate=_PAISE,
                           metadata={"description": "percent (1..100) for kind percent, paise for kind flat"})


class PromoUpdateSchema(_PromoTerms):
    kind = fields.String(validate=validate.OneOf(["percent", "flat"]))


class PromoSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    description = fields.String()
    kind = fields.Function(lambda p: p.kind.value)
    value = fields.Integer()
    max_discount = fields.Integer(allow_none=True)
    min_order_amount = fields.Integer()
    valid_from = fields.AwareDateTime(format="iso", allow_none=True)
    valid_until = fields.AwareDateTime(format="iso", allow_none=True)
    max_redemptions = fields.Integer(allow_none=True)
    once_per_user = fields.Boolean()
    is_active = fields.Boolean()
    redemptions = fields.Integer(metadata={"description": "live redemptions (open, paid or booked orders)"})
    created_at = fields.AwareDateTime(format="iso")


class PromoFilterArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "part of the code"})
    active = fields.Boolean()


PromoPage = page_of(PromoSchema)


# ---------------------------------------------------------------- reports


class _ReportRange(PageArgs):
    date_from = Day(data_key="from", format="%Y-%m-%d",
                            metadata={"description": "first day (YYYY-MM-DD, APP_TIMEZONE); default `to` - 29 days"})
    date_to = Day(data_key="to", format="%Y-%m-%d",
                          metadata={"description": "last day, included; default today"})
    theatre_id = fields.Integer(validate=validate.Range(min=1))
    movie_id = fields.Integer(validate=validate.Range(min=1))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                           metadata={"description": "csv: every row of the range as a text/csv attachment"})


class SalesReportArgs(_ReportRange):
    group_by = fields.String(load_default="day", validate=validate.OneOf(["day", "movie", "theatre"]))


class OccupancyReportArgs(_ReportRange):
    include_held = fields.Boolean(load_default=False, metadata={"description": "add the seats held right now"})


class SalesFiguresSchema(Schema):
    bookings = fields.Integer()
    seats_sold = fields.Integer()
    gross = fields.Nested(MoneySchema, metadata={"description": "what the bookings were sold for, paise"})
    refunds = fields.Nested(MoneySchema, metadata={"description": "refunded or being refunded on them, paise"})
    net = fields.Nested(MoneySchema, metadata={"description": "gross - refunds, paise"})


class SalesRowSchema(SalesFiguresSchema):
    key = fields.String(metadata={"description": "the day (YYYY-MM-DD), movie id or theatre id"})
    label = fields.String()
    movie_id = fields.Integer()
    theatre_id = fields.Integer()


class SalesReportSchema(Schema):
    date_from = fields.Date(attribute="from", data_key="from")
    date_to = fields.Date(attribute="to", data_key="to")
    group_by = fields.String()
    currency = fields.String()
    totals = fields.Nested(SalesFiguresSchema)
    items = fields.List(fields.Nested(SalesRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class OccupancyRowSchema(Schema):
    showtime_id = fields.Integer()
    starts_at = fields.AwareDateTime(format="iso")
    status = fields.String()
    movie = fields.Dict()
    theatre = fields.Dict()
    screen = fields.String()
    capacity = fields.Integer(metadata={"description": "seats for sale (blocked seats excluded)"})
    sold = fields.Integer()
    held = fields.Integer(allow_none=True, metadata={"description": "held right now (with include_held)"})
    occupancy_percent = fields.Float()


class OccupancyTotalsSchema(Schema):
    showtimes = fields.Integer()
    capacity = fields.Integer()
    sold = fields.Integer()
    occupancy_percent = fields.Float()


class OccupancyReportSchema(Schema):
    date_from = fields.Date(attribute="from", data_key="from")
    date_to = fields.Date(attribute="to", data_key="to")
    totals = fields.Nested(OccupancyTotalsSchema)
    items = fields.List(fields.Nested(OccupancyRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
