"""Schemas shared by every blueprint: pagination and the error body."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_PER_PAGE = 100


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A list envelope `{"items", "total", "page", "per_page"}` around item_schema."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )
