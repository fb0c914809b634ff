"""Seat layouts are data: a screen's layout names its rows, seats per row and priced sections.

`validate_layout` is the one gate a layout passes before it is stored on a Screen: whatever it accepts is
safe for `seats_of` (scheduling), the public seat counts (app.schemas.catalogue) and the showtime_seats
columns (section String(32), price a 4-byte integer of paise).
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from typing import Any

from marshmallow import RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from app.errors import ValidationError
from app.models.seating import SEAT_LABEL

ROW_LETTERS = string.ascii_uppercase
MAX_SEATS_PER_ROW = 60
MAX_PRICE = 10_000_000  # paise (1 lakh rupees): far below the 4-byte price column's limit
SECTION_NAME_MAX = 32  # showtime_seats.section is String(32)
SECTION_LABEL_MAX = 64
SEAT_LISTS = ("accessible", "companion", "missing")


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


def _plain_text(value: str) -> None:
    """Refuse text the database cannot store or the seat map should not show: NUL and other control
    characters, lone surrogates."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise SchemaError("Must not contain control characters or lone surrogates.")


def _row_field() -> fields.String:
    return fields.String(validate=validate.OneOf(list(ROW_LETTERS), error="Must be a row letter A-Z."))


def _seat_list() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(SEAT_LABEL, error="Must be a seat label such as A1.")),
        load_default=list, validate=validate.Length(max=len(ROW_LETTERS) * MAX_SEATS_PER_ROW),
    )


class _SectionSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=[validate.Length(min=1, max=SECTION_NAME_MAX), _plain_text])
    label = fields.String(validate=[validate.Length(max=SECTION_LABEL_MAX), _plain_text])
    rows = fields.List(_row_field(), required=True, validate=validate.Length(min=1, max=len(ROW_LETTERS)))
    price = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_PRICE))


class _LayoutSchema(Schema):
    class Meta:
        unknown = RAISE

    rows = fields.List(_row_field(), required=True, validate=validate.Length(min=1, max=len(ROW_LETTERS)))
    seats_per_row = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(min=1, max=MAX_SEATS_PER_ROW))
    sections = fields.List(fields.Nested(_SectionSchema), required=True,
                           validate=validate.Length(min=1, max=len(ROW_LETTERS)))
    accessible = _seat_list()
    companion = _seat_list()
    missing = _seat_list()

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """Checks across fields (run only once every field is well-formed)."""
        errors: dict[str, list[str]] = {}
        rows: list[str] = data["rows"]
        if len(set(rows)) != len(rows):
            errors.setdefault("rows", []).append("Row letters must be distinct.")
        sections: list[dict[str, Any]] = data["sections"]
        names = Counter(s["name"] for s in sections)
        if any(n > 1 for n in names.values()):
            errors.setdefault("sections", []).append(
                f"Section names must be distinct: {', '.join(sorted(k for k, n in names.items() if n > 1))}.")
        covered = Counter(row for s in sections for row in s["rows"])
        problems = [
            ("in no section", sorted(set(rows) - set(covered))),
            ("in more than one section", sorted(r for r, n in covered.items() if n > 1)),
            ("not in the layout's rows", sorted(set(covered) - set(rows))),
        ]
        for what, which in problems:
            if which:
                errors.setdefault("sections", []).append(f"Every row must be in exactly one section; "
                                                         f"rows {what}: {', '.join(which)}.")
        for key in SEAT_LISTS:
            labels: list[str] = data[key]
            unknown = [label for label in labels if not self._in_layout(label, set(rows), data["seats_per_row"])]
            if unknown:
                errors.setdefault(key, []).append(f"Seats not in this layout: {', '.join(unknown[:10])}.")
            repeated = sorted(label for label, n in Counter(labels).items() if n > 1)
            if repeated:
                errors.setdefault(key, []).append(f"Seats listed twice: {', '.join(repeated[:10])}.")
        if not errors and len(set(rows)) * data["seats_per_row"] <= len(set(data["missing"])):
            errors["missing"] = ["A layout needs at least one seat."]
        if errors:
            raise SchemaError(errors)

    @staticmethod
    def _in_layout(label: str, rows: set[str], per_row: int) -> bool:
        match = SEAT_LABEL.match(label)
        return match is not None and match[1] in rows and 1 <= int(match[2]) <= per_row


_SCHEMA = _LayoutSchema()


def _jsonable(messages: Any) -> Any:
    """Marshmallow keys list items by int index; JSON (with sorted keys) wants strings."""
    if isinstance(messages, dict):
        return {str(key): _jsonable(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_jsonable(value) for value in messages]
    return messages


def validate_layout(layout: object) -> dict[str, Any]:
    """The layout, checked and normalized (the optional seat lists default to []).

    Raises ValidationError("The seat layout is not valid.") with marshmallow's messages per field in
    details["fields"] (`_schema` when the layout is not an object at all).
    """
    try:
        loaded: dict[str, Any] = _SCHEMA.load(layout)  # type: ignore[arg-type]
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationError("The seat layout is not valid.", details={"fields": _jsonable(messages)}) from exc
    return loaded


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
