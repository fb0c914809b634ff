"""Documentation-only decorators for the flask-smorest blueprints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

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
