"""Seat layouts are data: a screen's layout names its rows, seats per row and priced sections."""

from __future__ import annotations

import string
from typing import Any

from app.errors import ValidationError

ROW_LETTERS = string.ascii_uppercase


def default_layout(regular_price: int = 20_000, premium_price: int = 35_000) -> dict[str, Any]:
    """The default screen: 12 rows (A-L) x 18 seats; the back rows I-L are premium."""
    rows = list(ROW_LETTERS[:12])
    return {
        "rows": rows,
        "seats_per_row": 18,
        "sections": [
            {"name": "regular", "label": "Regular", "rows": rows[:8], "price": regular_price},
            {"name": "premium", "label": "Premium", "rows": rows[8:], "price": premium_price},
        ],
        "accessible": ["A1", "A2", "A17", "A18"],
        "companion": ["A3", "A16"],
        "missing": [],
    }


def validate_layout(layout: dict[str, Any]) -> dict[str, Any]:
    """Check a layout's shape; raises ValidationError naming what is wrong."""
    errors: dict[str, str] = {}
    rows = layout.get("rows")
    per_row = layout.get("seats_per_row")
    sections = layout.get("sections")
    if not isinstance(rows, list) or not rows or len(rows) > 26 or len(set(rows)) != len(rows) \
            or not all(isinstance(r, str) and r in ROW_LETTERS for r in rows):
        errors["rows"] = "a list of 1 to 26 distinct row letters A-Z"
    if not isinstance(per_row, int) or isinstance(per_row, bool) or not 1 <= per_row <= 60:
        errors["seats_per_row"] = "an integer from 1 to 60"
    if not isinstance(sections, list) or not sections:
        errors["sections"] = "a non-empty list of sections"
    if errors:
        raise ValidationError("The seat layout is not valid.", details={"fields": errors})
    assert isinstance(sections, list) and isinstance(rows, list)  # checked above
    covered: list[str] = []
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("name"), str) \
                or not isinstance(section.get("price"), int) or section["price"] < 0 \
                or not isinstance(section.get("rows"), list):
            raise ValidationError("Each section needs a name, rows and a non-negative integer price.",
                                  details={"fields": {"sections": "malformed section"}})
        covered.extend(section["rows"])
    if sorted(covered) != sorted(rows):
        raise ValidationError("Every row must belong to exactly one section.",
                              details={"fields": {"sections": "rows not covered exactly once"}})
    return layout


def seats_of(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """Every seat of a layout, in row then number order."""
    section_of = {row: s for s in layout["sections"] for row in s["rows"]}
    accessible = set(layout.get("accessible", []))
    companion = set(layout.get("companion", []))
    missing = set(layout.get("missing", []))
    seats = []
    for row in layout["rows"]:
        section = section_of[row]
        for number in range(1, layout["seats_per_row"] + 1):
            label = f"{row}{number}"
            if label in missing:
                continue
            seats.append({
                "label": label, "row": row, "number": number, "section": section["name"],
                "price": section["price"], "accessible": label in accessible, "companion": label in companion,
            })
    return seats
