"""Fixed-window rate limits kept in the database, so every worker shares one count."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from sqlalchemy.exc import IntegrityError

from engine.clock import clock
from engine.models import RateLimit

from .errors import ApiError
from .extensions import db


def client_key() -> str:
    return request.remote_addr or "unknown"


def limit(bucket: str, per_minute: int, key: str | None = None) -> None:
    """Count one hit for ``bucket`` and this client; raise 429 with Retry-After past ``per_minute``."""
    now = clock.now()
    window = now.replace(second=0, microsecond=0)
    row_key = f"{bucket}:{key or client_key()}"[:128]
    for _ in range(2):
        try:
            row = db.session.get(RateLimit, row_key, with_for_update=True)
            if row is None:
                row = RateLimit(key=row_key, window_start=window, count=0)
                db.session.add(row)
            elif row.window_start != window:
                row.window_start, row.count = window, 0
            row.count += 1
            count = row.count
            db.session.commit()
            break
        except IntegrityError:  # two workers created the row at once; count again
            db.session.rollback()
    else:
        return
    if count > per_minute:
        retry = int((window + timedelta(minutes=1) - now).total_seconds()) + 1
        raise ApiError(429, "rate_limited", "Terlalu banyak permintaan; coba lagi nanti.",
                       headers={"Retry-After": str(retry)})
