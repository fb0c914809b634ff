"""Decoded JSON that parses but cannot be stored or signed: lone UTF-16 surrogates.

JSON may spell a string with `\\ud800`-style escapes; Python decodes a lone one (no partner) into a str
that no UTF-8 encoder accepts, so it passes every schema and then fails in psycopg2, Redis, HMAC or the
password hasher (a 500). Escaped pairs (emoji) decode to one ordinary character and are fine.
"""

from __future__ import annotations

import re
from typing import Any

# A surrogate escape anywhere in a raw body: the cheap test that decides whether the decoded body is walked.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE = re.compile("[\ud800-\udfff]")


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
