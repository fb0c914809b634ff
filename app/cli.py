"""Flask commands: flask seed, flask create-superadmin."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from app.services.passwords import hash_password
from app.services.seed import database_is_empty, seed_demo
from app.services.uow import transaction


def register_cli(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--days", default=3, show_default=True, type=click.IntRange(1, 14))
    @click.option("--if-empty", is_flag=True, help="Do nothing when the catalogue already has movies.")
    def seed(days: int, if_empty: bool) -> None:
        """Load demo movies, theatres and showtimes."""
        if not database_is_empty():
            if if_empty:
                click.echo("catalogue not empty; seed skipped")
                return
            raise click.ClickException("the catalogue already has movies; seed refuses to duplicate them")
        with transaction():
            created = seed_demo(days=days)
        click.echo("seeded " + ", ".join(f"{n} {k}" for k, n in created.items()))

    @app.cli.command("create-superadmin")
    @click.option("--email", prompt=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", default="Super Admin", show_default=True)
    def create_superadmin(email: str, password: str, name: str) -> None:
        """Create the first staff account (or promote an existing one)."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 254:
            raise click.BadParameter("not an email address", param_hint="--email")
        if len(password) < 8:
            raise click.BadParameter("at least 8 characters", param_hint="--password")
        with transaction():
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                user = User(email=email, name=name, password_hash=hash_password(password))
                db.session.add(user)
            user.role = Role.SUPERADMIN
            user.password_hash = hash_password(password)
        click.echo(f"superadmin {email} ready")
