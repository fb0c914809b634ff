"""WSGI entry point: gunicorn wsgi:app."""

from app import create_app
from app.embedded import start_embedded_beat

app = create_app()
start_embedded_beat(app)
