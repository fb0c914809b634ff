"""Documentation-only decorators for the flask-smorest blueprints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import swagger_ui_bundle
from flask import Blueprint as FlaskBlueprint
from flask import Response, abort, send_from_directory
from flask_smorest import Blueprint

from app.schemas.common import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])


def error_responses(blp: Blueprint, described: Mapping[int, str]) -> Callable[[F], F]:
    """Document the error responses of a view (status -> what it means) in the OpenAPI spec, as
    `blp.alt_response(status, schema=ErrorBody, ...)` would, without its runtime wrapper: each
    alt_response adds a call layer (and a coroutine check) to every request only to carry documentation."""

    def decorate(fn: F) -> F:
        documented: Any = fn
        for status, description in sorted(described.items()):
            documented = blp.alt_response(status, schema=ErrorBody, description=description)(documented)
        fn._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return fn

    return decorate


# Swagger UI is served from the pinned swagger-ui-bundle package on our own origin, never from a CDN: the
# docs page runs on the origin where staff tokens live in localStorage, so no third party's script may run there.
SWAGGER_UI_ASSETS = "/api/docs/assets/"
_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}

assets_bp = FlaskBlueprint("api_docs_assets", __name__)


@assets_bp.route(SWAGGER_UI_ASSETS + "<string:filename>")
def swagger_ui_asset(filename: str) -> Response:
    """One file of the pinned Swagger UI (scripts, styles, icons only; never a listing or a path)."""
    if Path(filename).suffix not in _ASSET_TYPES or "/" in filename or filename.startswith("."):
        abort(404)
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400,
                               mimetype=_ASSET_TYPES[Path(filename).suffix])
