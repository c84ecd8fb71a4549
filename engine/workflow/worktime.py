"""The service's working-time calendar: configured once, kept in step with the database, used for every
deadline.

``KIA_WORKING_TIME=off`` (passed here as ``enabled=False``) turns the whole service into a 24-hour office.
Overrides (extra closing days, weekend service days) live in the ``calendar_overrides`` table. Every change
also writes a new random stamp to ``revisions`` (key ``"calendar"``) in the same transaction; every
process compares that stamp with the one it loaded (one primary-key read, see :func:`refresh`) and
rebuilds its calendar only when it differs. The engine refreshes before every workflow step, so a
supervisor's change applies to every deadline computed after its commit, in every process.
Deadlines already computed keep their value.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.calendar import WorkingCalendar
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from engine.workflow.events import record
from engine.workflow.models import CalendarOverride, Revision

REVISION_KEY = "calendar"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)

_lock = threading.Lock()
_enabled = True
_calendar = WorkingCalendar()
_loaded: tuple[str, str | None] | None = None  # (database URL, stamp) the calendar was built from


def configure(enabled: bool = True, overrides: Mapping[date, bool] | None = None) -> WorkingCalendar:
    """Set working time on or off for this process; overrides are reloaded from the database on the
    next :func:`refresh` (``overrides`` here are for database-free use)."""
    global _calendar, _enabled, _loaded
    with _lock:
        _enabled = enabled
        _calendar = WorkingCalendar(overrides=dict(overrides or {}), enabled=enabled)
        _loaded = None
    return _calendar


def calendar() -> WorkingCalendar:
    return _calendar


def deadline_for(start: datetime, standard: str, basis: str) -> datetime:
    """When a step that became ready at ``start`` is due under its time standard."""
    return _calendar.deadline(start, standard, basis)


def time_between(start: datetime, end: datetime, basis: str | None) -> timedelta:
    """The time from ``start`` to ``end`` in a step's basis: elapsed for "calendar", else working time
    (elapsed too when working time is off)."""
    if basis == "calendar":
        return end - start
    return _calendar.working_time_between(start, end)


def refresh(session: Session) -> WorkingCalendar:
    """Rebuild the calendar if the overrides changed since it was loaded (one primary-key read)."""
    global _calendar, _loaded
    key = (
        str(session.get_bind().engine.url),
        session.scalar(select(Revision.stamp).where(Revision.key == REVISION_KEY)),
    )
    if key == _loaded:
        return _calendar
    overrides = {row.day: row.open for row in session.scalars(select(CalendarOverride))}
    with _lock:
        _calendar = WorkingCalendar(overrides=overrides, enabled=_enabled)
        _loaded = key
    return _calendar


# --- overrides (supervisors, through the API and the CLI) -------------------------------------------


def list_overrides(session: Session, start: date | None = None, end: date | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if start is not None:
        query = query.where(CalendarOverride.day >= start)
    if end is not None:
        query = query.where(CalendarOverride.day <= end)
    return list(session.scalars(query))


def set_override(session: Session, day: date, open_: bool, reason: str, actor: str) -> CalendarOverride:
    """Open or close ``day`` (replacing any earlier override of it); the caller commits."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidData("Tanggal tidak sah.", {"date": [f"Tanggal harus antara {FIRST_DAY} dan {LAST_DAY}."]})
    row = session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.open, row.reason, row.changed_by, row.changed_at = open_, reason, actor, clock.now()
    record(
        session,
        None,
        "calendar_override_set",
        actor=actor,
        at=row.changed_at,
        day=day.isoformat(),
        open=open_,
        reason=reason,
    )
    _bump(session)
    return row


def remove_override(session: Session, day: date, actor: str) -> None:
    """Return ``day`` to the regular calendar; the caller commits."""
    row = session.get(CalendarOverride, day)
    if row is None:
        raise NotFound("Tidak ada pengecualian kalender pada tanggal itu.")
    session.delete(row)
    record(session, None, "calendar_override_removed", actor=actor, at=clock.now(), day=day.isoformat())
    _bump(session)


def _bump(session: Session) -> None:
    stamp = uuid.uuid4().hex
    row = session.get(Revision, REVISION_KEY)
    if row is None:
        session.add(Revision(key=REVISION_KEY, stamp=stamp))
    else:
        row.stamp = stamp
    session.flush()
