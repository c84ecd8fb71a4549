"""Timer sweeps: fire every timer whose deadline has passed, exactly once.

A sweep works in two phases, so that escalations land at their deadline however many fall due at once:

1. **Record** (:func:`record_due`): due timers whose service handler has a batch form (the diagram's
   escalation timers and their repeats) are handled set-based, hundreds per transaction: the handler's
   batch form writes the escalations, and the timers become ``recorded`` (a diagram timer: the workflow
   has yet to take its path) or ``fired`` (a repeat timer: no workflow step involved).
2. **Catch up** (:func:`_fire_batch`): every other due timer, and every ``recorded`` one, is fired in
   its workflow, one savepoint each: the boundary path runs and the workflow state is saved. The
   escalation handler finds its escalation already recorded and writes nothing twice.

Safe with several processes at once: on PostgreSQL due rows are taken with ``FOR UPDATE SKIP LOCKED``,
so two sweepers never take the same timer; in both phases a timer's state change commits together with
what it caused, so a crash in between does it again later rather than never or twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Row, Select, case, func, select, update
from sqlalchemy.orm import Session

from engine.workflow import incidents
from engine.workflow.clock import clock
from engine.workflow.errors import Conflict
from engine.workflow.instances import StepFailed, fire_timer
from engine.workflow.models import Incident, TaskRow, Timer, TimerKind, TimerState
from engine.workflow.services import DueTimer, batch_handler_names, get_batch_handler

log = logging.getLogger(__name__)

RECORD_CHUNK = 500  # timers per transaction in the record phase
CATCH_UP_BATCH = 50  # timers per transaction in the catch-up phase
INCIDENT_RETRY_AFTER = timedelta(minutes=15)  # a timer that failed is fired again this long after

OnCommit = Callable[[int], None]


def next_due(session: Session) -> datetime | None:
    """The earliest deadline still waiting, so a scheduler can sleep exactly until then."""
    return session.scalar(select(func.min(Timer.due_at)).where(Timer.state == TimerState.WAITING))


def fire_due(
    session_factory: Callable[[], Session],
    now: datetime | None = None,
    batch: int = CATCH_UP_BATCH,
    chunk: int = RECORD_CHUNK,
    on_commit: OnCommit | None = None,
) -> int:
    """Fire due timers until none is left; returns how many timers fired.

    Every round records whatever is due (so a deadline never waits behind a catch-up backlog), then
    catches up one batch. ``on_commit(n)`` is called after each transaction that made ``n`` timers'
    effects visible (for measurements)."""
    fired = 0
    while True:
        at = now or clock.now()
        recorded = record_due(session_factory, at, chunk, on_commit)
        count, more = _fire_batch(session_factory, at, batch, on_commit)
        fired += recorded + count
        if not more:
            return fired + retry_timer_incidents(session_factory, at)


def retry_timer_incidents(session_factory: Callable[[], Session], now: datetime, limit: int = 20) -> int:
    """Fire again the timers whose incident is older than ``INCIDENT_RETRY_AFTER`` (a handler's
    passing trouble heals by itself; a broken expression stays an incident, tried again at that pace).
    Returns how many fired."""
    with session_factory() as session:
        query = (
            select(Incident)
            .where(
                Incident.kind == incidents.IncidentKind.TIMER,
                Incident.state == incidents.IncidentState.OPEN,
                Incident.last_failed_at <= now - INCIDENT_RETRY_AFTER,
            )
            .order_by(Incident.last_failed_at)
            .limit(limit)
        )
        fired = 0
        for incident in list(session.scalars(_taking(session, query, Incident))):
            try:
                with session.begin_nested():
                    incidents.retry_timer(session, incident, "system")
                fired += 1
            except Conflict:
                continue
            except StepFailed as failure:
                timer = session.get(Timer, incident.timer_id)
                if timer is not None:
                    with session.begin_nested():
                        incidents.record_timer_failure(session, timer, failure)
        session.commit()
        return fired


def _taking(session: Session, query: Select, of: type = Timer) -> Select:
    """``query`` taking its timers (rows of ``of``) with ``FOR UPDATE SKIP LOCKED`` where the database has it."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=of)
    return query


def record_due(
    session_factory: Callable[[], Session], now: datetime, chunk: int = RECORD_CHUNK, on_commit: OnCommit | None = None
) -> int:
    """The record phase alone: handle every due timer that has a batch handler; returns how many."""
    names = batch_handler_names()
    recorded = 0
    while names:
        count, more = _record_chunk(session_factory, now, chunk, names)
        recorded += count
        if count and on_commit:
            on_commit(count)
        if not more:
            break
    return recorded


def _record_chunk(
    session_factory: Callable[[], Session], now: datetime, chunk: int, names: frozenset[str]
) -> tuple[int, bool]:
    with session_factory() as session:
        # take up to ``chunk`` due timers and mark them in one statement: a diagram timer ``recorded``
        # (its workflow catches up later), a repeat timer ``fired``
        due = (
            select(Timer.id)
            .where(Timer.state == TimerState.WAITING, Timer.due_at <= now, Timer.handler.in_(names))
            .order_by(Timer.due_at)
            .limit(chunk)
        )
        taken = session.execute(
            update(Timer)
            .where(Timer.id.in_(_taking(session, due).scalar_subquery()))
            .values(
                state=case((Timer.kind == TimerKind.DIAGRAM, TimerState.RECORDED), else_=TimerState.FIRED), fired_at=now
            )
            .returning(Timer.id, Timer.instance_id, Timer.task_id, Timer.due_at, Timer.handler, Timer.params)
            .execution_options(synchronize_session=False)
        ).all()
        if not taken:
            return 0, False
        full = len(taken) == chunk
        taken = _without_busy_tasks(session, taken)
        by_handler: dict[str, list[DueTimer]] = defaultdict(list)
        for t in taken:
            by_handler[t.handler].append(DueTimer.of(t))
        try:
            for name, due_timers in by_handler.items():
                handler = get_batch_handler(name)
                assert handler is not None  # the query took only timers whose handler has a batch form
                handler(session, due_timers, now)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - whatever failed, the exact path below still works
            # Leave these timers to the catch-up phase, which fires them one by one and sets aside any
            # that fails; say so without personal data.
            session.rollback()
            log.warning("recording %d due timer(s) failed (%s); firing them one by one", len(taken), type(exc).__name__)
            return 0, False
        return len(taken), full and bool(taken)


def _without_busy_tasks(session: Session, taken: Sequence[Row]) -> Sequence[Row]:
    """Lock the task rows of the taken timers, skipping any another transaction holds (on PostgreSQL).

    A completion locks its task row before its timers, this phase its timers before the task rows:
    waiting here could deadlock, so a timer whose task is busy goes back to ``waiting`` for the next
    round (by then the completion has cancelled it, or has failed and the task is free)."""
    if session.get_bind().dialect.name != "postgresql":
        return taken  # SQLite: this transaction is the only writer
    wanted = {t.task_id for t in taken if t.task_id}
    locked = set(
        session.scalars(
            select(TaskRow.id).where(TaskRow.id.in_(wanted)).with_for_update(skip_locked=True, key_share=True)
        )
    )
    busy = {t.id for t in taken if t.task_id and t.task_id not in locked}
    if not busy:
        return taken
    session.execute(
        update(Timer)
        .where(Timer.id.in_(busy))
        .values(state=TimerState.WAITING, fired_at=None)
        .execution_options(synchronize_session=False)
    )
    return [t for t in taken if t.id not in busy]


def _fire_batch(
    session_factory: Callable[[], Session], now: datetime, batch: int, on_commit: OnCommit | None
) -> tuple[int, bool]:
    with session_factory() as session:
        query = (
            select(Timer)
            .where(Timer.state.in_((TimerState.WAITING, TimerState.RECORDED)), Timer.due_at <= now)
            .order_by(Timer.due_at)
            .limit(batch)
        )
        timers = list(session.scalars(_taking(session, query)))
        fired = caught_up = 0
        for timer in timers:
            was_waiting = timer.state == TimerState.WAITING
            try:
                with session.begin_nested():
                    fire_timer(session, timer)
                fired += was_waiting
                caught_up += 1
            except Conflict as exc:
                # Another writer changed the instance: leave it for the next sweep (no personal data).
                log.warning("timer %s of instance %s not fired: %s", timer.id, timer.instance_id, exc.code)
            except StepFailed as failure:
                # The diagram failed: nothing of the step was kept (savepoint); the timer leaves the
                # sweeps as an incident until a retry fires it.
                with session.begin_nested():
                    incident = incidents.record_timer_failure(session, timer, failure)
                log.warning("timer %s of instance %s failed: incident %s", timer.id, timer.instance_id, incident.id)
        session.commit()
        if fired and on_commit:
            on_commit(fired)
        return fired, len(timers) == batch and caught_up > 0
