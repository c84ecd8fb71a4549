"""The OpenAPI document covers every v1 endpoint."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def test_openapi_covers_every_v1_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not documented"
    assert "bearer" in spec["components"]["securitySchemes"]
    assert {"TaskDetail", "Status", "ApplicationCreated"} <= set(spec["components"]["schemas"])
