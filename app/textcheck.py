"""JSON bodies that parse, or nearly, but cannot be used: the app refuses them at the edge.

- NUL (raw or `\\u0000`): PostgreSQL text cannot hold it.
- Nesting deeper than Python's JSON parser recurses (near a thousand levels): it raises RecursionError,
  which neither Flask nor webargs reads as bad JSON (a 500).
- A lone UTF-16 surrogate (`\\ud800` with no partner): Python decodes it into a str that no UTF-8 encoder
  takes, so it passes every schema and then fails in psycopg2, Redis, HMAC or the password hasher.
  Escaped pairs (emoji) decode to one ordinary character and are fine.

The cheap byte tests run on every JSON body; the body is parsed once more only when one of them hits.
Also here: what counts as a control character in one-line text (has_control_characters), for the
schemas that refuse it and the mail headers that replace it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from app.errors import AppError, ValidationError

SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE = re.compile("[\ud800-\udfff]")
# A body with fewer brackets than this cannot be nested too deeply for the parser.
_BRACKETS_WORTH_A_CHECK = 256
# Unicode categories of control characters and of line and paragraph separators: nothing that is one
# line of text (a title, a mail header) holds them.
CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    """True when value holds a control character (tab and line breaks included) or a line separator."""
    return any(unicodedata.category(ch) in CONTROL_CATEGORIES for ch in value)


def has_lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in decoded JSON (keys included) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_body_problem(body: bytes) -> AppError | None:
    """The error for a JSON body the app refuses (see above), or None. Malformed JSON is not a problem
    here: the route's own parsing answers it."""
    if b"\x00" in body or b"\\u0000" in body:
        return ValidationError("The request body contains a NUL character.", code="invalid_characters")
    deep = body.count(b"[") + body.count(b"{") >= _BRACKETS_WORTH_A_CHECK
    surrogates = SURROGATE_ESCAPE.search(body) is not None
    if not (deep or surrogates):
        return None
    try:
        data = json.loads(body)
    except RecursionError:
        return AppError("The JSON body is nested too deeply.", code="invalid_json")
    except ValueError:
        return None
    if surrogates and has_lone_surrogate(data):
        return ValidationError("The request body contains text that is not valid Unicode (a lone surrogate "
                               "escape).", code="invalid_characters")
    return None
