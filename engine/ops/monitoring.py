"""What an operator watches, read from the database: the scheduler's heartbeat, open and overdue tasks,
the outbox backlog, the scheduler's lag, and running counts of escalations and delivery attempts.

Every figure comes from the tables, so it is the same whichever process (web worker, scheduler) is
asked, and right after a restart. The queries read indexes where they can: open tasks from the inbox's
covering index, due timers from ``ix_timers_due``, pending messages from ``ix_outbox_pending``; the two
running counts read only the rows added since the last call (:class:`RunningCount`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, select
from sqlalchemy.orm import Session

from engine.workflow.models import DeliveryAttempt, Event, Outbox, Revision, TaskRow, Timer

HEARTBEAT_KEY = "scheduler"  # the ``revisions`` row every scheduler process stamps with the time


def beat(session: Session, now: datetime | None = None) -> None:
    """Stamp the scheduler's heartbeat (the caller commits). Several schedulers share the one row: it
    says that some scheduler was alive at that time."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    row = session.get(Revision, HEARTBEAT_KEY)
    if row is None:
        session.add(Revision(key=HEARTBEAT_KEY, stamp=stamp))
    else:
        row.stamp = stamp


def last_heartbeat(db: Session | Connection) -> datetime | None:
    stamp = db.scalar(select(Revision.stamp).where(Revision.key == HEARTBEAT_KEY))
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None


@dataclass(frozen=True)
class TaskCount:
    lane: str
    kecamatan: str | None
    open: int
    overdue: int


def open_tasks(session: Session) -> list[TaskCount]:
    """Open and overdue tasks per lane and kecamatan (an index-only scan over the open tasks)."""
    rows = session.execute(
        select(
            TaskRow.lane,
            TaskRow.kecamatan,
            func.count(),
            func.coalesce(func.sum(case((TaskRow.overdue.is_(True), 1), else_=0)), 0),
        )
        .where(TaskRow.state == "open")
        .group_by(TaskRow.lane, TaskRow.kecamatan)
    ).all()
    return [TaskCount(lane, kecamatan, int(n), int(overdue)) for lane, kecamatan, n, overdue in rows]


def outbox_backlog(session: Session) -> list[tuple[str, str, int]]:
    """Messages not delivered, as (channel, status, count): ``pending`` (waiting or being retried) and
    ``failed`` (gave up after the last attempt)."""
    rows = session.execute(
        select(Outbox.channel, Outbox.status, func.count())
        .where(Outbox.status != "sent")
        .group_by(Outbox.channel, Outbox.status)
    ).all()
    return [(channel, status, int(n)) for channel, status, n in rows]


def scheduler_lag(session: Session, now: datetime) -> float:
    """Seconds since the oldest deadline that is due and not fired yet (0 when none is): how far the
    scheduler is behind."""
    due = session.scalar(
        select(func.min(Timer.due_at)).where(Timer.state.in_(("waiting", "recorded")), Timer.due_at <= now)
    )
    if due is None:
        return 0.0
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    return max(0.0, (now - due).total_seconds())


def _escalations(after: int, upto: int | None) -> Select:
    query = select(Event.lane, func.count(), func.max(Event.id)).where(Event.kind == "escalated", Event.id > after)
    return (query if upto is None else query.where(Event.id <= upto)).group_by(Event.lane)


def _deliveries(after: int, upto: int | None) -> Select:
    query = (
        select(Outbox.channel, DeliveryAttempt.ok, func.count(), func.max(DeliveryAttempt.id))
        .join(Outbox, Outbox.id == DeliveryAttempt.outbox_id)
        .where(DeliveryAttempt.id > after)
    )
    return (query if upto is None else query.where(DeliveryAttempt.id <= upto)).group_by(
        Outbox.channel, DeliveryAttempt.ok
    )


Counts = dict[tuple[Any, ...], int]


@dataclass
class RunningCount:
    """A count of append-only rows by some key, kept up to date by reading only the newer rows.

    ``query(after, upto)`` selects the key columns, the count and the highest id of the rows with
    ``after < id <= upto``. Rows up to a watermark are counted once and kept; each call counts the rows
    above it. The watermark moves only to an id read at least ``settle`` seconds earlier: PostgreSQL
    hands out ids before their transactions commit, so a lower id can still appear after a higher one
    was read, but not after longer than any transaction runs."""

    query: Callable[[int, int | None], Select]
    settle: float = 120.0
    watermark: int = 0
    settled: Counts = field(default_factory=dict)
    seen: deque[tuple[float, int]] = field(default_factory=deque)  # (when, the highest id read then)

    def counts(self, session: Session) -> Counts:
        now = time.monotonic()
        upto = None
        while self.seen and self.seen[0][0] <= now - self.settle:
            upto = self.seen.popleft()[1]
        if upto is not None and upto > self.watermark:
            _add(self.settled, self._read(session, self.watermark, upto)[0])
            self.watermark = upto
        recent, top = self._read(session, self.watermark, None)
        self.seen.append((now, top))
        return _add(dict(self.settled), recent)

    def _read(self, session: Session, after: int, upto: int | None) -> tuple[Counts, int]:
        counts, top = {}, after
        for *key, n, max_id in session.execute(self.query(after, upto)).all():
            counts[tuple(key)] = int(n)
            top = max(top, int(max_id))
        return counts, top


def _add(into: Counts, more: Counts) -> Counts:
    for key, n in more.items():
        into[key] = into.get(key, 0) + n
    return into


def escalation_counter(settle: float = 120.0) -> RunningCount:
    """Escalations recorded so far, by lane (the ``escalated`` events)."""
    return RunningCount(_escalations, settle)


def delivery_counter(settle: float = 120.0) -> RunningCount:
    """Delivery attempts so far, by channel and whether they worked."""
    return RunningCount(_deliveries, settle)
