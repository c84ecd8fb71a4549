"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can do its work), for load balancers,
orchestrators and monitoring. Neither needs a sign-in, and neither says anything about applications.

Ready means: the database answers, its schema is at the code's migration head, and a scheduler stamped
its heartbeat within ``KIA_HEARTBEAT_MAX_AGE`` seconds (without a scheduler no timer fires and no
message leaves). Otherwise 503 with the reasons.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import Connection, text

from engine.ops import monitoring, schema

from .extensions import db

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "alive"})


@blp.get("/readyz")
def readyz() -> Any:
    checks: dict[str, dict[str, Any]]
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            checks = {
                "database": {"ok": True},
                "migrations": migrations_check(connection),
                "scheduler": heartbeat_check(connection, current_app.config["HEARTBEAT_MAX_AGE_SECONDS"]),
            }
    except Exception as exc:  # noqa: BLE001 - whatever keeps the database from answering means "not ready"
        checks = {"database": {"ok": False, "reason": f"unreachable ({type(exc).__name__})"}}
    ready = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if not ready:
        body["reason"] = "; ".join(f"{name}: {c['reason']}" for name, c in checks.items() if not c["ok"])
        log.warning("not ready: %s", body["reason"])
    return jsonify(body), 200 if ready else 503, {"Cache-Control": "no-store"}


def migrations_check(connection: Connection) -> dict[str, Any]:
    """The database's Alembic revision against the code's head (``engine.ops.schema``)."""
    current, heads = schema.current(connection), schema.heads()
    wanted = ", ".join(sorted(heads))
    if current == heads:
        return {"ok": True, "detail": f"at head {wanted}"}
    found = ", ".join(sorted(current)) or "none"
    return {"ok": False, "reason": f"database at revision {found}, code at {wanted} (run kia db upgrade)"}


def heartbeat_check(connection: Connection, max_age: float) -> dict[str, Any]:
    beat = monitoring.last_heartbeat(connection)
    if beat is None:
        return {"ok": False, "reason": "no scheduler heartbeat (start kia serve or kia scheduler)"}
    age = (datetime.now(UTC) - beat).total_seconds()
    if age > max_age:
        return {"ok": False, "reason": f"scheduler heartbeat {age:.0f} s old (limit {max_age:.0f} s)"}
    return {"ok": True, "detail": f"heartbeat {max(age, 0):.0f} s ago"}


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
