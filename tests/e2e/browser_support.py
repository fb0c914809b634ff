"""Shared by the browser tests: Debian's Chromium, the test password and signing in through the UI."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery"


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    form = page.get_by_role("form", name="Sign in with email and password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Sign in", exact=True).click()


AXE = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"  # a devDependency of the frontend (npm ci)


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe-core's violations of the page as it is now, of the given impacts: [{id, impact, nodes: [target]}]."""
    assert AXE.is_file(), f"axe-core is missing at {AXE}: run `npm ci` in frontend/"
    # evaluated through the browser's debugging protocol, not as a <script>: the page's CSP (no inline
    # scripts, app/headers.py) stays in force while axe looks at it
    page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in impacts]
