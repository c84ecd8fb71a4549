"""Timer sweeps: fire every boundary timer whose deadline has passed, exactly once.

Safe with several processes at once: on PostgreSQL due rows are taken with ``FOR UPDATE SKIP LOCKED``,
so two sweepers never take the same timer; everywhere the firing, its escalation and the timer's state
change commit together, so a crash in between fires it again later rather than never.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import clock
from .errors import Conflict
from .instances import StepFailed, fire_timer
from .models import Timer

log = logging.getLogger(__name__)


def next_due(session: Session) -> datetime | None:
    """The earliest deadline still waiting, so a scheduler can sleep exactly until then."""
    return session.scalar(select(func.min(Timer.due_at)).where(Timer.state == "waiting"))


def fire_due(session_factory: Callable[[], Session], now: datetime | None = None, batch: int = 50) -> int:
    """Fire due timers in batches until none is left; returns how many fired."""
    fired = 0
    while True:
        count, more = _fire_batch(session_factory, now or clock.now(), batch)
        fired += count
        if not more:
            return fired


def _fire_batch(session_factory: Callable[[], Session], now: datetime, batch: int) -> tuple[int, bool]:
    with session_factory() as session:
        query = (select(Timer).where(Timer.state == "waiting", Timer.due_at <= now)
                 .order_by(Timer.due_at).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Timer)
        timers = list(session.scalars(query))
        fired = 0
        for timer in timers:
            try:
                with session.begin_nested():
                    fire_timer(session, timer)
                fired += 1
            except (Conflict, StepFailed) as exc:
                # Another writer changed the instance, or the diagram failed: leave it waiting for the
                # next sweep, and say so without personal data.
                log.warning("timer %s of instance %s not fired: %s", timer.id, timer.instance_id, exc.code)
        session.commit()
        return fired, len(timers) == batch and fired > 0
