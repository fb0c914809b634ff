"""Staff reports: sales and occupancy, as JSON pages or CSV downloads (routes of the admin blueprint)."""

from __future__ import annotations

from typing import Any

from app.api.admin import _staff, blp
from app.schemas.admin import OccupancyReportArgs, OccupancyReportSchema, SalesReportArgs, SalesReportSchema
from app.services import report_csv, reports


@blp.route("/reports/sales")
@_staff(e422="validation_error, report_range_too_long")
@blp.arguments(SalesReportArgs, location="query", error_status_code=422)
@blp.response(200, SalesReportSchema)
def sales_report(args: dict[str, Any]) -> Any:
    """Bookings, seats sold, gross, refunds and net (paise) by day, movie or theatre over a date range;
    `format=csv`: every row of the range as a CSV download."""
    def page_of(page: int, per_page: int) -> dict[str, Any]:
        return reports.sales(args.get("date_from"), args.get("date_to"), args["group_by"], page, per_page,
                             theatre_id=args.get("theatre_id"), movie_id=args.get("movie_id"))

    return report_csv.page_or_csv(args, page_of, f"sales-by-{args['group_by']}.csv", report_csv.SALES_HEADER,
                                  report_csv.sales_rows)


@blp.route("/reports/occupancy")
@_staff(e422="validation_error, report_range_too_long")
@blp.arguments(OccupancyReportArgs, location="query", error_status_code=422)
@blp.response(200, OccupancyReportSchema)
def occupancy_report(args: dict[str, Any]) -> Any:
    """Capacity, seats sold (and held now) and occupancy of each showtime starting in a date range;
    `format=csv`: every row of the range as a CSV download."""
    def page_of(page: int, per_page: int) -> dict[str, Any]:
        return reports.occupancy(args.get("date_from"), args.get("date_to"), page, per_page,
                                 theatre_id=args.get("theatre_id"), movie_id=args.get("movie_id"),
                                 include_held=args["include_held"])

    return report_csv.page_or_csv(args, page_of, "occupancy.csv", report_csv.OCCUPANCY_HEADER,
                                  report_csv.occupancy_rows)
