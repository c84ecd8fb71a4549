"""The service's working-time calendar: configured once, used for every deadline.

``KIA_WORKING_TIME=off`` (passed here as ``enabled=False``) turns the whole service into a 24-hour office.
Overrides (extra closing days, weekend service days) come from the ``calendar_overrides`` table and
are reloaded whenever a supervisor changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from .calendar import WorkingCalendar

_calendar = WorkingCalendar()


def configure(enabled: bool = True, overrides: Mapping[date, bool] | None = None) -> WorkingCalendar:
    global _calendar
    _calendar = WorkingCalendar(overrides=dict(overrides or {}), enabled=enabled)
    return _calendar


def calendar() -> WorkingCalendar:
    return _calendar


def deadline_for(start: datetime, standard: str, basis: str) -> datetime:
    """When a step that became ready at ``start`` is due under its time standard."""
    return _calendar.deadline(start, standard, basis)
