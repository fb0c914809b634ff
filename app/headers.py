"""Security headers on every response, from one place: a WSGI middleware outside everything else, so the
hold lane's answers (app/hotpath/lane.py, which skips Flask's hooks), errors, static files and the API get
them alike. A header a response already sets is left as it is. deploy/nginx.conf sends the same set with
the built frontend.

The Content-Security-Policy admits Razorpay Checkout (its script, and its frames for the card and UPI
screens) and nothing else from elsewhere; `frame-ancestors 'none'` (and X-Frame-Options for old browsers)
keeps our pages out of other sites' frames. Swagger UI's page (`/api/docs`) has one inline script of
flask-smorest's, so that page alone may run inline scripts. HSTS is sent in production only (CINEVERSE_ENV).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

RAZORPAY_SCRIPT = "https://checkout.razorpay.com"
RAZORPAY_FRAMES = "https://api.razorpay.com https://checkout.razorpay.com"


def content_security_policy(inline_scripts: bool = False) -> str:
    script = "'self' " + RAZORPAY_SCRIPT + (" 'unsafe-inline'" if inline_scripts else "")
    return "; ".join([
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self' 'unsafe-inline'",  # React's style attributes (the seat map's, the waiting room's)
        "img-src 'self' data: https:",  # posters may live on another host
        "font-src 'self' data:",
        "connect-src 'self' https://lumberjack.razorpay.com",  # 'self' covers our ws(s):// too
        f"frame-src {RAZORPAY_FRAMES}",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ])


def security_headers(production: bool) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin-allow-popups"),  # Razorpay may open a bank's window
    ]
    if production:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SecurityHeaders:
    """Adds the headers to every response the wrapped app makes."""

    def __init__(self, wsgi_app: WSGIApp, production: bool, docs_path: str = "/api/docs") -> None:
        self.wsgi_app = wsgi_app
        self.docs_path = docs_path
        base = security_headers(production)
        self.headers = [*base, ("Content-Security-Policy", content_security_policy())]
        self.docs_headers = [*base, ("Content-Security-Policy", content_security_policy(inline_scripts=True))]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        extra = self.docs_headers if environ.get("PATH_INFO", "").rstrip("/") == self.docs_path else self.headers

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend((name, value) for name, value in extra if name.lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def install(app: Flask) -> None:
    """Wrap the app last, outside the hold lane and ProxyFix."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, production=bool(app.config.get("PRODUCTION")))  # type: ignore[method-assign]
