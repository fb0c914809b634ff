"""The real app plus one bare endpoint, so both are measured in the same server and run."""

from __future__ import annotations

from flask import Response
from flask_jwt_extended import jwt_required

from app import create_app

app = create_app()


@app.get("/bench/bare")
def bare() -> Response:
    """No auth, no database, no Redis: the cost of Flask and gunicorn alone."""
    return Response('{"ok":true}', mimetype="application/json")


@app.get("/bench/auth")
@jwt_required()
def bare_authenticated() -> Response:
    """Only the bearer-token check every hold route pays: separates JWT cost from the hold's own."""
    return Response('{"ok":true}', mimetype="application/json")
