"""Public catalogue routes: movies, theatres, showtimes and seat maps."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.hotpath.revocation_step import revocation_checked_in_step
from app.hotpath.seatmap_work import seat_map_answer
from app.schemas.catalogue import (
    MovieFilterArgs,
    MoviePage,
    MovieSchema,
    SeatMapSchema,
    ShowtimeDetailSchema,
    ShowtimeFilterArgs,
    ShowtimePage,
    TheatreFilterArgs,
    TheatrePage,
)
from app.schemas.common import ErrorBody
from app.services import catalogue, paging

SEAT_MAP_HEADERS = {
    "ETag": {"description": "validator of this map as the caller sees it", "schema": {"type": "string"}},
}

blp = Blueprint("catalogue", __name__, url_prefix="/api", description="Movies, theatres, showtimes, seat maps")


@blp.route("/movies")
@blp.arguments(MovieFilterArgs, location="query", error_status_code=422)
@blp.response(200, MoviePage)
def list_movies(args: dict[str, Any]) -> dict[str, Any]:
    """List movies, filtered by title search, genre, language, city and date."""
    items, total = catalogue.list_movies(**args)
    return paging.page_body(items, total, args["page"], args["per_page"])


@blp.route("/movies/<int:movie_id>")
@blp.response(200, MovieSchema)
@blp.alt_response(404, schema=ErrorBody, description="movie_not_found")
def get_movie(movie_id: int) -> Any:
    """One movie."""
    return catalogue.get_movie(movie_id)


@blp.route("/movies/<int:movie_id>/showtimes")
@blp.arguments(ShowtimeFilterArgs, location="query", error_status_code=422)
@blp.response(200, ShowtimePage)
@blp.alt_response(404, schema=ErrorBody, description="movie_not_found")
def movie_showtimes(args: dict[str, Any], movie_id: int) -> dict[str, Any]:
    """Upcoming showtimes of a movie, soonest first, optionally in one city or on one day."""
    items, total = catalogue.list_movie_showtimes(movie_id, city=args.get("city"), day=args.get("date"),
                                                  page=args["page"], per_page=args["per_page"])
    return paging.page_body(items, total, args["page"], args["per_page"])


@blp.route("/theatres")
@blp.arguments(TheatreFilterArgs, location="query", error_status_code=422)
@blp.response(200, TheatrePage)
def list_theatres(args: dict[str, Any]) -> dict[str, Any]:
    """List theatres with their screens, optionally in one city."""
    items, total = catalogue.list_theatres(**args)
    return paging.page_body(items, total, args["page"], args["per_page"])


@blp.route("/showtimes/<int:showtime_id>")
@blp.response(200, ShowtimeDetailSchema)
@blp.alt_response(404, schema=ErrorBody, description="showtime_not_found")
def get_showtime(showtime_id: int) -> Any:
    """One showtime with its movie, screen and theatre."""
    return catalogue.get_showtime(showtime_id)


# app/hotpath/lane.py answers the plain requests of this route before Flask's dispatch, with the same
# function (seat_map_answer); the token's revocation is checked in the map's one Redis step.
@blp.route("/showtimes/<int:showtime_id>/seats")
@revocation_checked_in_step
@jwt_required(optional=True)
@blp.response(200, SeatMapSchema, headers=SEAT_MAP_HEADERS)
@blp.alt_response(304, description="not_modified: the map still has the ETag sent in If-None-Match")
@blp.alt_response(404, schema=ErrorBody, description="showtime_not_found")
def get_seat_map(showtime_id: int) -> Response:
    """The seat map: every seat with its section, price and status (available, locked, booked, blocked).

    Held seats show as locked and, with a bearer token, the caller's own holds carry `mine: true`. When
    the lock store is down the map is still served from the database with `holds_available: false`.
    The answer carries an `ETag`; sent back in `If-None-Match`, it is answered `304` while the map (as
    this caller sees it) is unchanged.
    """
    status, headers, body = seat_map_answer(showtime_id, get_jwt_identity(), request.headers.get("If-None-Match"),
                                            request.headers.get("Authorization") is not None)
    response = Response(body, status=status)
    response.headers.clear()
    response.headers.extend(headers)
    return response
