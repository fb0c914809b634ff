"""The OpenAPI document (issue 16): every parameter of every path template is declared, the WebSocket
routes' too (flask-sock routes are described by hand), so a client generator or a fuzzer can use it."""

from __future__ import annotations

import re


def test_every_path_parameter_is_declared(client):
    spec = client.get("/api/openapi.json").get_json()
    missing = []
    for path, item in spec["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        shared = {p["name"] for p in item.get("parameters", []) if p.get("in") == "path"}
        for method, operation in item.items():
            if method == "parameters":
                continue
            own = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            if wanted - shared - own:
                missing.append((method.upper(), path, sorted(wanted - shared - own)))
    assert missing == []
    ws = spec["paths"]["/api/showtimes/{showtime_id}/seats/ws"]["parameters"]
    assert {"name": "showtime_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 0}} in ws
