"""Blueprints under /api, registered through the flask-smorest Api so they appear in OpenAPI."""

from __future__ import annotations

from flask import Flask

from app.extensions import api


def register_blueprints(app: Flask) -> None:
    from app.api import catalogue, health, holds, payments

    for module in (health, catalogue, holds, payments):
        api.register_blueprint(module.blp)
