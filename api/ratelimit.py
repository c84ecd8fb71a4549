"""Fixed-window rate limits kept in the database, so every worker shares one count."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import request
from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite

from engine.models import RateLimit
from engine.workflow.clock import clock

from .errors import ApiError
from .extensions import db


def client_key() -> str:
    return request.remote_addr or "unknown"


def limit(bucket: str, per_minute: int, key: str | None = None) -> None:
    """Count one hit for ``bucket`` and this client; raise 429 with Retry-After past ``per_minute``."""
    now = clock.now()
    window = now.replace(second=0, microsecond=0)
    count = _count_hit(f"{bucket}:{key or client_key()}"[:128], window)
    if count > per_minute:
        retry = int((window + timedelta(minutes=1) - now).total_seconds()) + 1
        raise ApiError(
            429, "rate_limited", "Terlalu banyak permintaan; coba lagi nanti.", headers={"Retry-After": str(retry)}
        )


def _count_hit(row_key: str, window: datetime) -> int:
    """Add one hit to the row's window (a new window starts at 1) in one atomic statement; the count.

    An upsert (``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``, PostgreSQL and SQLite >= 3.35) is one
    round trip per request, with no read-then-write race between workers and no retry."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(RateLimit).values(key=row_key, window_start=window, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateLimit.key],
        set_={
            "count": case((RateLimit.window_start == statement.excluded.window_start, RateLimit.count + 1), else_=1),
            "window_start": statement.excluded.window_start,
        },
    ).returning(RateLimit.count)
    count = db.session.scalar(statement)
    db.session.commit()
    return count
