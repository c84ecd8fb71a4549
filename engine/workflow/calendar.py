"""Working-time calendar for the SOP's time standards (pure Python: ``holidays`` + ``zoneinfo``, no database).

A *working day* is a weekday with office hours that is neither an Indonesian national holiday nor a
collective leave day (cuti bersama), unless an override says otherwise. *Working time* is the time inside
a working day's office hours, taken as one interval ``[open, close]`` (no lunch break is modelled).

Overrides (``Mapping[date, bool]``) are loaded by the caller:

* ``False``: the office is closed that day (an extra closing day).
* ``True``: the office is open that day, with that weekday's default hours, or with
  ``OfficeHours.special_day`` (07:30-16:00) when the weekday has none (a weekend service day).
  ``True`` also opens a holiday.

``enabled=False`` makes a 24/7 calendar: every day is a working day and working time equals elapsed time.

All results are aware datetimes in UTC; inputs may be aware datetimes in any zone (naive ones are refused).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "BASES",
    "DEFAULT_HOURS",
    "DEFAULT_TZ",
    "MAX_STANDARD",
    "HolidayProvider",
    "OfficeHours",
    "WorkingCalendar",
    "indonesian_closed_days",
    "parse_duration",
]

DEFAULT_TZ = "Asia/Jakarta"
BASES = frozenset({"working", "calendar"})
MAX_STANDARD = timedelta(days=366)
"""Upper bound for each part (days, time) of a time standard."""

_MAX_SCAN_DAYS = 3660  # give up looking for a working day after ~10 years of closed days
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)

Span = tuple[time, time]
HolidayProvider = Callable[[int], Collection[date]]
"""Given a year, the dates in it that are closed (holidays); called at most once per year per calendar."""


@dataclass(frozen=True)
class OfficeHours:
    """Opening and closing time per weekday (index 0 = Monday ... 6 = Sunday; ``None`` = closed).

    ``special_day`` are the hours of an override-opened day whose weekday has no hours (weekend service).
    Times are local wall-clock times of the calendar's time zone; ``open < close`` on the same day.
    """

    weekly: tuple[Span | None, ...]
    special_day: Span = (time(7, 30), time(16, 0))

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("OfficeHours.weekly needs 7 entries, Monday first")
        for span in (*self.weekly, self.special_day):
            if span is not None and not span[0] < span[1]:
                raise ValueError(f"opening time must be before closing time: {span[0]} - {span[1]}")

    def for_weekday(self, weekday: int) -> Span | None:
        """The (open, close) of a weekday (0 = Monday), or ``None`` if closed."""
        return self.weekly[weekday]


_WEEKDAY: Span = (time(7, 30), time(16, 0))
DEFAULT_HOURS = OfficeHours(weekly=(_WEEKDAY, _WEEKDAY, _WEEKDAY, _WEEKDAY, (time(7, 30), time(16, 30)), None, None))
"""Monday-Thursday 07:30-16:00, Friday 07:30-16:30, Saturday and Sunday closed."""


@lru_cache(maxsize=64)
def indonesian_closed_days(year: int) -> frozenset[date]:
    """Indonesian national holidays ("public") and cuti bersama ("government") of ``year``."""
    return frozenset(holidays.country_holidays("ID", categories=("public", "government"), years=year))


_DURATION = re.compile(
    r"P(?!$)(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)


def parse_duration(standard: str) -> tuple[int, timedelta]:
    """Parse an ISO 8601 time standard ``P[nD][T[nH][nM][nS]]`` into ``(days, time)``.

    Integers only; years, months, weeks and fractions are refused, as are zero and parts above 366 days.
    Raises ``ValueError`` with the reason (``TypeError`` for a non-string).
    """
    if not isinstance(standard, str):
        raise TypeError(f"time standard must be a string, not {type(standard).__name__}")
    return _parse_duration(standard)


@lru_cache(maxsize=256)
def _parse_duration(standard: str) -> tuple[int, timedelta]:
    text = standard.strip()
    match = _DURATION.fullmatch(text)
    if match is None:
        if re.fullmatch(r"P([0-9]+[YMW])+.*", text):
            raise ValueError(f"time standard {standard!r}: years, months and weeks are not supported; use days (P5D)")
        raise ValueError(
            f"time standard {standard!r} is not an ISO 8601 duration of the form P[nD][T[nH][nM][nS]], e.g. PT1H, P1D"
        )
    days = int(match["days"] or 0)
    seconds = int(match["hours"] or 0) * 3600 + int(match["minutes"] or 0) * 60 + int(match["seconds"] or 0)
    if days == 0 and seconds == 0:
        raise ValueError(f"time standard {standard!r} must be longer than zero")
    if days > MAX_STANDARD.days or seconds > MAX_STANDARD.total_seconds():
        raise ValueError(f"time standard {standard!r} is too long (at most 366 days and 8784 hours)")
    return days, timedelta(seconds=seconds)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


class WorkingCalendar:
    """Office hours minus holidays, cuti bersama and override closing days, plus override opening days.

    Immutable after construction: to change overrides, build a new calendar. Lookups are cached per
    year (holidays) and per date (hours); every computation loops per day, never per minute.
    """

    def __init__(
        self,
        hours: OfficeHours = DEFAULT_HOURS,
        tz: str | tzinfo = DEFAULT_TZ,
        holidays_provider: HolidayProvider = indonesian_closed_days,
        overrides: Mapping[date, bool] | None = None,
        enabled: bool = True,
    ) -> None:
        self.hours = hours
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.enabled = enabled
        self.overrides: Mapping[date, bool] = dict(overrides or {})
        self._provider = holidays_provider
        self._closed_by_year: dict[int, frozenset[date]] = {}
        self._spans: dict[date, Span | None] = {}
        self._utc_spans: dict[date, tuple[datetime, datetime] | None] = {}

    # ---- days -------------------------------------------------------------------------------------------

    def _is_holiday(self, day: date) -> bool:
        closed = self._closed_by_year.get(day.year)
        if closed is None:
            closed = self._closed_by_year[day.year] = frozenset(self._provider(day.year))
        return day in closed

    def _span(self, day: date) -> Span | None:
        """Local (open, close) of ``day`` after holidays and overrides; ``None`` when closed."""
        try:
            return self._spans[day]
        except KeyError:
            pass
        regular = self.hours.for_weekday(day.weekday())
        override = self.overrides.get(day)
        if override is not None:
            span = (regular or self.hours.special_day) if override else None
        elif regular is not None and self._is_holiday(day):
            span = None
        else:
            span = regular
        self._spans[day] = span
        return span

    def _utc_span(self, day: date) -> tuple[datetime, datetime] | None:
        try:
            return self._utc_spans[day]
        except KeyError:
            pass
        span = self._span(day)
        result = None
        if span is not None:
            result = (
                datetime.combine(day, span[0], self.tz).astimezone(UTC),
                datetime.combine(day, span[1], self.tz).astimezone(UTC),
            )
        self._utc_spans[day] = result
        return result

    def _open_span(self, day: date) -> Span:
        span = self._span(day)
        assert span is not None, f"{day} is not a working day"
        return span

    def _next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for _ in range(_MAX_SCAN_DAYS):
            day += _ONE_DAY
            if self._span(day) is not None:
                return day
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days after {day - _MAX_SCAN_DAYS * _ONE_DAY}")

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def is_working_day(self, d: date) -> bool:
        """True if the office is open on ``d`` (always True when the calendar is disabled)."""
        return not self.enabled or self._span(d) is not None

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of ``day`` as aware ``(start, end)`` in the calendar's zone; ``[]`` if closed.

        Disabled calendar: the whole day, midnight to next midnight.
        """
        if not self.enabled:
            return [(datetime.combine(day, time(0), self.tz), datetime.combine(day + _ONE_DAY, time(0), self.tz))]
        span = self._span(day)
        if span is None:
            return []
        return [(datetime.combine(day, span[0], self.tz), datetime.combine(day, span[1], self.tz))]

    # ---- time -------------------------------------------------------------------------------------------

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``T >= start`` inside (or at the edge of) office hours such that the
        working time between ``start`` and ``T`` equals ``duration``; UTC.

        A start outside office hours counts from the next opening; an exactly used-up day ends at its
        closing time (15:00 + PT1H = 16:00, not 07:30 the next day). Disabled: ``start + duration``.
        """
        t = _aware(start, "start")
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
        if not self.enabled:
            return t + duration
        remaining = duration
        day = self._local_date(t)
        if self._span(day) is None:
            day = self._next_working_day(day)
        while True:
            span = self._utc_span(day)
            assert span is not None  # day is a working day here
            opening, closing = span
            t = max(t, opening)
            if t <= closing:
                available = closing - t
                if remaining <= available:
                    return t + remaining
                remaining -= available
            day = self._next_working_day(day)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (negative if ``end`` is earlier). Disabled: ``end - start``."""
        a, b = _aware(start, "start"), _aware(end, "end")
        if not self.enabled:
            return b - a
        if b < a:
            return -self.working_time_between(b, a)
        total = _ZERO
        day, last = self._local_date(a), self._local_date(b)
        while day <= last:
            span = self._utc_span(day)
            if span is not None:
                lo, hi = max(a, span[0]), min(b, span[1])
                if lo < hi:
                    total += hi - lo
            day += _ONE_DAY
        return total

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same clock position ``days`` working days later; UTC.

        The position of ``start`` is its local clock time clamped to its day's hours (before opening =
        opening, after closing = closing); a start on a closed day takes the next working day's opening.
        The result is that clock time on the ``days``-th working day after the start's (working) day,
        clamped to that day's hours. Disabled: ``start + days * 24h``.
        """
        t = _aware(start, "start")
        if days < 0:
            raise ValueError("days must not be negative")
        if not self.enabled:
            return t + days * _ONE_DAY
        local = t.astimezone(self.tz)
        day = local.date()
        span = self._span(day)
        if span is None:
            day = self._next_working_day(day)
            clock = self._open_span(day)[0]
        else:
            clock = min(max(local.time(), span[0]), span[1])
        for _ in range(days):
            day = self._next_working_day(day)
        opening, closing = self._open_span(day)
        clock = min(max(clock, opening), closing)
        return datetime.combine(day, clock, self.tz).astimezone(UTC)

    def deadline(self, start: datetime, standard: str, basis: str = "working") -> datetime:
        """When a step that became ready at ``start`` is due under ``standard`` (ISO 8601); UTC.

        ``basis="calendar"``: ``start + days * 24h + time`` (elapsed time, nights and holidays included).
        ``basis="working"``: first the day part with :meth:`add_working_days` (one day = one working day:
        the same clock time on the next working day), then the time part as working time with
        :meth:`add_working_time` (PT1H = 60 working minutes). With no day part, a start outside hours
        counts from the next opening. A disabled calendar treats "working" as "calendar".
        """
        days, rest = parse_duration(standard)
        if basis not in BASES:
            raise ValueError(f"time basis must be 'working' or 'calendar', not {basis!r}")
        t = _aware(start, "start")
        if basis == "calendar" or not self.enabled:
            return t + days * _ONE_DAY + rest
        if days:
            t = self.add_working_days(t, days)
            if not rest:
                return t
        return self.add_working_time(t, rest)
