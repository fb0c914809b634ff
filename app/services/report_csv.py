"""The staff reports as CSV downloads (`?format=csv`): the rows the JSON pages hold, every page of the
range in one file, with the stdlib's csv writer. A text cell that a spreadsheet would read as a formula
(it begins with =, +, -, @, a tab or a carriage return: a movie title such as `=HYPERLINK(...)`) is written
with a leading apostrophe (OWASP's CSV injection advice); numbers are written as they are."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from flask import Response

from app.schemas.common import MAX_PER_PAGE

MAX_ROWS = 50_000  # a report this long is a query for the database, not a download
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def all_rows(page_of: Callable[[int, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item of a paged report (page_of(page, per_page) answers like the JSON route)."""
    items: list[dict[str, Any]] = []
    page = 1
    while len(items) < MAX_ROWS:
        body = page_of(page, MAX_PER_PAGE)
        items += body["items"]
        if page * MAX_PER_PAGE >= body["total"] or not body["items"]:
            break
        page += 1
    return items[:MAX_ROWS]


def page_or_csv(args: dict[str, Any], page_of: Callable[[int, int], dict[str, Any]], filename: str,
                header: list[str], to_rows: Callable[[list[dict[str, Any]]], Iterable[list[Any]]]) -> Any:
    """A report route's answer: the JSON page asked for, or (`format=csv`) every row as a download."""
    if args["format"] == "csv":
        return csv_response(filename, header, to_rows(all_rows(page_of)))
    return page_of(args["page"], args["per_page"])


def csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


SALES_HEADER = ["key", "label", "bookings", "seats_sold", "gross_paise", "refunds_paise", "net_paise", "currency"]
OCCUPANCY_HEADER = ["showtime_id", "starts_at", "status", "movie_id", "movie_title", "theatre_id", "theatre_name",
                    "screen", "capacity", "sold", "held", "occupancy_percent"]


def sales_rows(items: list[dict[str, Any]]) -> Iterable[list[Any]]:
    for item in items:
        yield [item["key"], item["label"], item["bookings"], item["seats_sold"], item["gross"]["amount"],
               item["refunds"]["amount"], item["net"]["amount"], item["gross"]["currency"]]


def occupancy_rows(items: list[dict[str, Any]]) -> Iterable[list[Any]]:
    for item in items:
        yield [item["showtime_id"], item["starts_at"], item["status"], item["movie"]["id"], item["movie"]["title"],
               item["theatre"]["id"], item["theatre"]["name"], item["screen"], item["capacity"], item["sold"],
               item["held"], item["occupancy_percent"]]
