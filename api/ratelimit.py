"""Rate limits per client (or per given key), kept in the database so every worker shares one count."""

from __future__ import annotations

from datetime import timedelta

from flask import request

from engine.workflow.ratelimit import count_hit

from .errors import ApiError
from .extensions import db

TOO_MANY = "Terlalu banyak permintaan; coba lagi nanti."


def client_key() -> str:
    return request.remote_addr or "unknown"


def limit(
    bucket: str,
    per_window: int,
    key: str | None = None,
    window: timedelta = timedelta(minutes=1),
    message: str = TOO_MANY,
) -> None:
    """Count one hit for ``bucket`` and this client (or ``key``), committed; raise 429 with Retry-After
    past ``per_window`` hits in the fixed ``window`` (a minute unless given)."""
    count, retry = count_hit(db.session, f"{bucket}:{key or client_key()}", window)
    db.session.commit()
    if count > per_window:
        raise ApiError(429, "rate_limited", message, headers={"Retry-After": str(retry)})
