"""Serves the built frontend (frontend/dist) at the site root, with the SPA fallback."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from werkzeug.exceptions import NotFound

bp = Blueprint("web", __name__)


def _dist() -> Path:
    return Path(current_app.config["FRONTEND_DIST"])


@bp.route("/", defaults={"path": ""})
@bp.route("/<path:path>")
def frontend(path: str) -> Response:
    if path.startswith("api/") or path == "api":
        raise NotFound("No API route matches this URL.")
    dist = _dist()
    if not (dist / "index.html").is_file():
        return jsonify({"status": "ok", "message": "CineVerse API is running; the frontend is not built. "
                                                   "API docs at /api/docs."})
    if path and (dist / path).is_file():
        response = send_from_directory(dist, path)
        if path.startswith("assets/"):
            response.cache_control.max_age = 31_536_000
            response.cache_control.immutable = True
        return response
    if "." in path.rsplit("/", 1)[-1]:
        raise NotFound("No such file.")
    return send_from_directory(dist, "index.html", max_age=0)
