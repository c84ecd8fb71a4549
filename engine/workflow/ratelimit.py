"""Fixed-window counters kept in the database (``rate_limits``), so that every worker shares one count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .clock import clock
from .models import RateLimit

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def count_hit(session: Session, key: str, window: timedelta = timedelta(minutes=1)) -> tuple[int, int]:
    """Add one hit to ``key``'s current window (a new window starts at 1) in one atomic statement:
    ``(hits in this window, seconds until it ends)``. Flushes; the caller commits.

    An upsert (``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``, PostgreSQL and SQLite >= 3.35) is one
    round trip per request, with no read-then-write race between workers and no retry."""
    now = clock.now()
    start = EPOCH + ((now - EPOCH) // window) * window
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new_row = insert(RateLimit).values(key=key[:128], window_start=start, count=1)
    upsert = new_row.on_conflict_do_update(
        index_elements=[RateLimit.key],
        set_={
            "count": case((RateLimit.window_start == new_row.excluded.window_start, RateLimit.count + 1), else_=1),
            "window_start": new_row.excluded.window_start,
        },
    ).returning(RateLimit.count)
    count = session.scalar(upsert) or 1
    return count, int((start + window - now).total_seconds()) + 1
