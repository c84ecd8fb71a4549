"""Working-time calendar: known 2026 days in Asia/Jakarta (WIB, UTC+7, no DST)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.workflow.calendar import DEFAULT_HOURS, OfficeHours, WorkingCalendar, indonesian_closed_days, parse_duration

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkingCalendar()


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=WIB)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# --- holidays and cuti bersama ------------------------------------------------------------------------

# SKB 3 Menteri No. 1497/2025, 2/2025, 5/2025 (signed 19 Sept 2025): 8 days of cuti bersama in 2026.
CUTI_BERSAMA_2026 = {
    date(2026, 2, 16),  # Mon, Imlek
    date(2026, 3, 18),  # Wed, Nyepi
    date(2026, 3, 20),  # Fri, Idul Fitri
    date(2026, 3, 23),  # Mon, Idul Fitri
    date(2026, 3, 24),  # Tue, Idul Fitri
    date(2026, 5, 15),  # Fri, Kenaikan Yesus Kristus
    date(2026, 5, 28),  # Thu, Idul Adha
    date(2026, 12, 24),  # Thu, Natal
}
# The 17 national holidays of the same SKB.
LIBUR_NASIONAL_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 16),
    date(2026, 2, 17),
    date(2026, 3, 19),
    date(2026, 3, 21),
    date(2026, 3, 22),
    date(2026, 4, 3),
    date(2026, 4, 5),
    date(2026, 5, 1),
    date(2026, 5, 14),
    date(2026, 5, 27),
    date(2026, 5, 31),
    date(2026, 6, 1),
    date(2026, 6, 16),
    date(2026, 8, 17),
    date(2026, 8, 25),
    date(2026, 12, 25),
}


def test_package_offers_public_and_government_categories_for_indonesia() -> None:
    assert {"public", "government"} <= set(holidays.country_holidays("ID").supported_categories)


def test_government_category_is_the_2026_cuti_bersama_of_the_skb() -> None:
    assert set(holidays.country_holidays("ID", categories=("government",), years=2026)) == CUTI_BERSAMA_2026


def test_public_category_is_the_2026_national_holidays_of_the_skb() -> None:
    assert set(holidays.country_holidays("ID", categories=("public",), years=2026)) == LIBUR_NASIONAL_2026


def test_closed_days_2026_are_holidays_plus_cuti_bersama() -> None:
    assert indonesian_closed_days(2026) == LIBUR_NASIONAL_2026 | CUTI_BERSAMA_2026


@pytest.mark.parametrize("day", sorted(CUTI_BERSAMA_2026))
def test_cuti_bersama_2026_is_not_a_working_day(day: date) -> None:
    assert day.weekday() < 5  # a weekday that would otherwise be open
    assert not CAL.is_working_day(day)
    assert CAL.working_intervals(day) == []


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),  # Thu, New Year
        (date(2026, 1, 2), True),  # Fri
        (date(2026, 1, 3), False),  # Sat
        (date(2026, 1, 4), False),  # Sun
        (date(2026, 1, 16), False),  # Fri, Isra Mi'raj
        (date(2026, 3, 19), False),  # Thu, Nyepi
        (date(2026, 3, 25), True),  # Wed after the Idul Fitri break
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 8, 17), False),  # Mon, Independence Day
        (date(2026, 8, 18), True),  # Tue
        (date(2026, 12, 25), False),  # Christmas
        (date(2025, 8, 18), False),  # 2025 joint holiday (other years are covered too)
    ],
)
def test_known_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


# --- office hours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2026, 1, 5), (time(7, 30), time(16, 0))),  # Monday
        (date(2026, 1, 8), (time(7, 30), time(16, 0))),  # Thursday
        (date(2026, 1, 9), (time(7, 30), time(16, 30))),  # Friday closes at 16:30
        (date(2026, 1, 10), None),  # Saturday
    ],
)
def test_working_intervals(day: date, hours: tuple[time, time] | None) -> None:
    expected = [] if hours is None else [(datetime.combine(day, hours[0], WIB), datetime.combine(day, hours[1], WIB))]
    assert CAL.working_intervals(day) == expected


def test_friday_closes_at_1630() -> None:
    assert CAL.working_time_between(wib(2026, 1, 9, 16, 0), wib(2026, 1, 9, 18, 0)) == timedelta(minutes=30)
    assert CAL.working_time_between(wib(2026, 1, 8, 16, 0), wib(2026, 1, 8, 18, 0)) == timedelta(0)
    assert CAL.deadline(wib(2026, 1, 9, 16, 0), "PT1H", "working") == wib(2026, 1, 12, 8, 0)
    assert CAL.deadline(wib(2026, 1, 9, 15, 30), "PT1H", "working") == wib(2026, 1, 9, 16, 30)


def test_office_hours_validation() -> None:
    with pytest.raises(ValueError, match="7 entries"):
        OfficeHours(weekly=(None,) * 6)
    with pytest.raises(ValueError, match="before closing"):
        OfficeHours(weekly=((time(16), time(8)),) + (None,) * 6)
    assert DEFAULT_HOURS.for_weekday(4) == (time(7, 30), time(16, 30))
    assert DEFAULT_HOURS.special_day == (time(7, 30), time(16, 0))


# --- deadlines: working hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "standard", "due"),
    [
        # Acceptance: verified 15:50 Thursday, 1 working hour: 10 min Thursday + 50 min next working day.
        (wib(2026, 1, 8, 15, 50), "PT1H", wib(2026, 1, 9, 8, 20)),  # Friday 9 Jan is a working day
        (wib(2026, 1, 15, 15, 50), "PT1H", wib(2026, 1, 19, 8, 20)),  # Friday 16 Jan Isra Mi'raj
        (wib(2026, 4, 2, 15, 50), "PT1H", wib(2026, 4, 6, 8, 20)),  # Friday 3 Apr Good Friday
        (wib(2026, 5, 13, 15, 50), "PT1H", wib(2026, 5, 18, 8, 20)),  # Thu holiday + Fri cuti bersama
        (wib(2026, 3, 17, 15, 50), "PT1H", wib(2026, 3, 25, 8, 20)),  # Nyepi + Idul Fitri break
        (wib(2026, 12, 23, 15, 50), "PT1H", wib(2026, 12, 28, 8, 20)),  # cuti bersama + Christmas
        (wib(2026, 1, 12, 6, 0), "PT1H", wib(2026, 1, 12, 8, 30)),  # 06:00 counts from 07:30
        (wib(2026, 1, 12, 7, 30), "PT5M", wib(2026, 1, 12, 7, 35)),
        (wib(2026, 1, 12, 18, 0), "PT1H", wib(2026, 1, 13, 8, 30)),  # after closing
        (wib(2026, 1, 10, 11, 0), "PT1H", wib(2026, 1, 12, 8, 30)),  # Saturday counts from Monday 07:30
        (wib(2026, 1, 11, 23, 59), "PT30S", wib(2026, 1, 12, 7, 30, 30)),  # Sunday night
        (wib(2026, 1, 8, 15, 0), "PT1H", wib(2026, 1, 8, 16, 0)),  # exactly used up: due at closing
        (wib(2026, 1, 8, 10, 0), "PT1H30M", wib(2026, 1, 8, 11, 30)),
        (wib(2026, 1, 8, 15, 59, 50), "PT30S", wib(2026, 1, 9, 7, 30, 20)),
        (wib(2026, 1, 5, 7, 30), "PT43H", wib(2026, 1, 9, 16, 30)),  # a whole week: 4 x 8.5 h + 9 h
        (wib(2026, 1, 5, 7, 30), "PT43H1M", wib(2026, 1, 12, 7, 31)),
    ],
)
def test_deadline_working_time(start: datetime, standard: str, due: datetime) -> None:
    result = CAL.deadline(start, standard, "working")
    assert result == due
    assert result.tzinfo is UTC


# --- deadlines: working days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "standard", "due"),
    [
        (wib(2026, 1, 8, 10, 0), "P1D", wib(2026, 1, 9, 10, 0)),  # same clock time, next working day
        (wib(2026, 1, 9, 10, 0), "P1D", wib(2026, 1, 12, 10, 0)),  # Friday -> Monday
        (wib(2026, 1, 9, 16, 15), "P1D", wib(2026, 1, 12, 16, 0)),  # clamped to Monday's closing
        (wib(2026, 1, 15, 10, 0), "P1D", wib(2026, 1, 19, 10, 0)),  # skips Isra Mi'raj (Fri)
        (wib(2026, 8, 14, 10, 0), "P1D", wib(2026, 8, 18, 10, 0)),  # skips Independence Day (Mon)
        (wib(2026, 6, 15, 10, 0), "P1D", wib(2026, 6, 17, 10, 0)),  # skips Islamic New Year (Tue)
        (wib(2026, 3, 17, 9, 0), "P1D", wib(2026, 3, 25, 9, 0)),  # skips 18-24 March
        (wib(2026, 2, 13, 9, 0), "P1D", wib(2026, 2, 18, 9, 0)),  # cuti bersama 16 + Imlek 17 Feb
        (wib(2026, 1, 12, 18, 0), "P1D", wib(2026, 1, 13, 16, 0)),  # after closing: next day's closing
        (wib(2026, 1, 8, 6, 0), "P1D", wib(2026, 1, 9, 7, 30)),  # before opening: next day's opening
        (wib(2026, 1, 9, 16, 45), "P1D", wib(2026, 1, 12, 16, 0)),  # Fri after 16:30 -> Mon closing
        (wib(2026, 1, 10, 10, 0), "P1D", wib(2026, 1, 13, 7, 30)),  # Saturday: from Monday's opening
        (wib(2026, 1, 8, 10, 0), "P2D", wib(2026, 1, 12, 10, 0)),
        (wib(2026, 1, 8, 10, 0), "P1DT2H", wib(2026, 1, 9, 12, 0)),  # day part first, then 2 working h
        (wib(2026, 1, 12, 18, 0), "P1DT2H", wib(2026, 1, 14, 9, 30)),  # Tue 16:00 + 2 h
        (wib(2026, 1, 12, 18, 0), "P1DT1S", wib(2026, 1, 14, 7, 30, 1)),
    ],
)
def test_deadline_working_days(start: datetime, standard: str, due: datetime) -> None:
    assert CAL.deadline(start, standard, "working") == due


@pytest.mark.parametrize(
    ("start", "standard", "due"),
    [
        (wib(2026, 1, 8, 15, 50), "PT1H", wib(2026, 1, 8, 16, 50)),
        (wib(2026, 1, 10, 10, 0), "P1D", wib(2026, 1, 11, 10, 0)),
        (wib(2026, 1, 15, 10, 0), "P2D", wib(2026, 1, 17, 10, 0)),
        (wib(2026, 1, 15, 23, 0), "P1DT1H30M", wib(2026, 1, 17, 0, 30)),
    ],
)
def test_deadline_calendar_basis(start: datetime, standard: str, due: datetime) -> None:
    assert CAL.deadline(start, standard, "calendar") == due


def test_deadline_rejects_unknown_basis_and_naive_start() -> None:
    with pytest.raises(ValueError, match="time basis"):
        CAL.deadline(wib(2026, 1, 8, 10), "PT1H", "business")
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.deadline(datetime(2026, 1, 8, 10), "PT1H", "working")
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(wib(2026, 1, 8, 10), timedelta(minutes=-1))


# --- time zones ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "standard", "due_utc"),
    [
        (utc(2026, 1, 8, 8, 50), "PT1H", utc(2026, 1, 9, 1, 20)),  # = Thu 15:50 WIB -> Fri 08:20 WIB
        (utc(2026, 1, 7, 23, 0), "PT1H", utc(2026, 1, 8, 1, 30)),  # = Thu 06:00 WIB: local date matters
        (utc(2026, 1, 9, 17, 30), "PT1H", utc(2026, 1, 12, 1, 30)),  # = Sat 00:30 WIB
        (datetime(2026, 1, 8, 9, 50, tzinfo=ZoneInfo("Europe/Amsterdam")), "PT1H", utc(2026, 1, 9, 1, 20)),
        (datetime(2026, 7, 9, 10, 50, tzinfo=ZoneInfo("Europe/Amsterdam")), "PT1H", utc(2026, 7, 10, 1, 20)),
        (utc(2026, 1, 8, 3, 0), "P1D", utc(2026, 1, 9, 3, 0)),  # 10:00 WIB
    ],
)
def test_inputs_in_other_zones(start: datetime, standard: str, due_utc: datetime) -> None:
    result = CAL.deadline(start, standard, "working")
    assert result == due_utc
    assert result.utcoffset() == timedelta(0)


# --- overrides -----------------------------------------------------------------------------------------

OPEN_SATURDAY = date(2026, 1, 10)
CLOSED_TUESDAY = date(2026, 1, 13)
OVERRIDDEN = WorkingCalendar(overrides={OPEN_SATURDAY: True, CLOSED_TUESDAY: False, date(2026, 1, 16): True})


def test_override_days() -> None:
    assert OVERRIDDEN.is_working_day(OPEN_SATURDAY)
    assert OVERRIDDEN.working_intervals(OPEN_SATURDAY) == [(wib(2026, 1, 10, 7, 30), wib(2026, 1, 10, 16, 0))]
    assert not OVERRIDDEN.is_working_day(CLOSED_TUESDAY)
    assert OVERRIDDEN.working_intervals(date(2026, 1, 16)) == [(wib(2026, 1, 16, 7, 30), wib(2026, 1, 16, 16, 30))]
    assert not OVERRIDDEN.is_working_day(date(2026, 1, 17))  # the Sunday after is still closed


@pytest.mark.parametrize(
    ("start", "standard", "due"),
    [
        (wib(2026, 1, 9, 16, 0), "PT1H", wib(2026, 1, 10, 8, 0)),  # counts through the open Saturday
        (wib(2026, 1, 10, 15, 30), "PT1H", wib(2026, 1, 12, 8, 0)),  # Saturday closes at 16:00
        (wib(2026, 1, 9, 10, 0), "P1D", wib(2026, 1, 10, 10, 0)),  # Friday -> open Saturday
        (wib(2026, 1, 9, 16, 20), "P1D", wib(2026, 1, 10, 16, 0)),  # clamped to Saturday's closing
        (wib(2026, 1, 12, 15, 50), "PT1H", wib(2026, 1, 14, 8, 20)),  # closed Tuesday skipped
        (wib(2026, 1, 12, 10, 0), "P1D", wib(2026, 1, 14, 10, 0)),
        (wib(2026, 1, 15, 10, 0), "P1D", wib(2026, 1, 16, 10, 0)),  # holiday opened by override
    ],
)
def test_deadlines_with_overrides(start: datetime, standard: str, due: datetime) -> None:
    assert OVERRIDDEN.deadline(start, standard, "working") == due


def test_override_snapshot_is_taken_at_construction() -> None:
    overrides = {OPEN_SATURDAY: True}
    calendar = WorkingCalendar(overrides=overrides)
    overrides[OPEN_SATURDAY] = False
    assert calendar.is_working_day(OPEN_SATURDAY)


# --- working time elapsed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "elapsed"),
    [
        (wib(2026, 1, 9, 16, 0), wib(2026, 1, 12, 8, 0), timedelta(hours=1)),  # over a weekend
        (wib(2026, 1, 9, 7, 30), wib(2026, 1, 12, 16, 0), timedelta(hours=17, minutes=30)),
        (wib(2026, 1, 9, 12, 0), wib(2026, 1, 11, 12, 0), timedelta(hours=4, minutes=30)),
        (wib(2026, 1, 5, 0, 0), wib(2026, 1, 12, 0, 0), timedelta(hours=43)),  # one week
        (wib(2026, 1, 10, 9, 0), wib(2026, 1, 11, 17, 0), timedelta(0)),  # only weekend
        (wib(2026, 1, 15, 15, 0), wib(2026, 1, 19, 9, 0), timedelta(hours=2, minutes=30)),  # holiday Friday
        (wib(2026, 1, 8, 10, 0), wib(2026, 1, 8, 10, 0), timedelta(0)),
        (wib(2026, 1, 12, 8, 0), wib(2026, 1, 9, 16, 0), -timedelta(hours=1)),  # reversed: negative
        (utc(2026, 1, 9, 9, 0), utc(2026, 1, 12, 1, 0), timedelta(hours=1)),  # UTC inputs
    ],
)
def test_working_time_between(start: datetime, end: datetime, elapsed: timedelta) -> None:
    assert CAL.working_time_between(start, end) == elapsed


def test_working_time_between_over_open_saturday() -> None:
    assert OVERRIDDEN.working_time_between(wib(2026, 1, 9, 16, 0), wib(2026, 1, 12, 8, 0)) == timedelta(
        hours=9, minutes=30
    )


def test_add_and_between_are_inverse() -> None:
    rnd = random.Random(20260101)
    for _ in range(2000):
        start = wib(2026, 1, 1) + timedelta(minutes=rnd.randrange(60 * 24 * 365))
        duration = timedelta(minutes=rnd.randrange(0, 60 * 40))
        due = CAL.add_working_time(start, duration)
        assert due >= start
        assert CAL.working_time_between(start, due) == duration
        assert CAL.is_working_day(due.astimezone(WIB).date())


# --- disabled calendar (KIA_WORKING_TIME=off) -------------------------------------------------------------

OFF = WorkingCalendar(enabled=False)


@pytest.mark.parametrize(
    ("start", "standard", "due"),
    [
        (wib(2026, 1, 8, 15, 50), "PT1H", wib(2026, 1, 8, 16, 50)),
        (wib(2026, 1, 10, 11, 0), "PT1H", wib(2026, 1, 10, 12, 0)),  # Saturday
        (wib(2026, 1, 15, 10, 0), "P1D", wib(2026, 1, 16, 10, 0)),  # into a holiday
        (wib(2026, 1, 12, 18, 0), "P1DT2H", wib(2026, 1, 13, 20, 0)),
    ],
)
def test_disabled_calendar_is_calendar_time(start: datetime, standard: str, due: datetime) -> None:
    assert OFF.deadline(start, standard, "working") == due


def test_disabled_calendar_days_and_elapsed() -> None:
    assert OFF.is_working_day(date(2026, 1, 1))
    assert OFF.is_working_day(date(2026, 1, 10))
    assert OFF.working_intervals(date(2026, 1, 10)) == [(wib(2026, 1, 10), wib(2026, 1, 11))]
    assert OFF.working_time_between(wib(2026, 1, 9, 16), wib(2026, 1, 12, 8)) == timedelta(hours=64)
    assert OFF.add_working_time(utc(2026, 1, 10), timedelta(minutes=5)) == utc(2026, 1, 10, 0, 5)


# --- parsing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "days", "rest"),
    [
        ("PT5M", 0, timedelta(minutes=5)),
        ("PT1H", 0, timedelta(hours=1)),
        ("P1D", 1, timedelta(0)),
        ("PT30S", 0, timedelta(seconds=30)),
        ("P2D", 2, timedelta(0)),
        ("PT1H30M", 0, timedelta(hours=1, minutes=30)),
        ("P1DT2H", 1, timedelta(hours=2)),
        ("PT90M", 0, timedelta(minutes=90)),
        (" PT1H ", 0, timedelta(hours=1)),
    ],
)
def test_parse_duration(standard: str, days: int, rest: timedelta) -> None:
    assert parse_duration(standard) == (days, rest)


@pytest.mark.parametrize(
    ("standard", "message"),
    [
        ("", "not an ISO 8601 duration"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("1H", "not an ISO 8601 duration"),
        ("pt1h", "not an ISO 8601 duration"),
        ("PT1.5H", "not an ISO 8601 duration"),
        ("PT-1H", "not an ISO 8601 duration"),
        ("PT1M1H", "not an ISO 8601 duration"),
        ("P1W", "weeks are not supported"),
        ("P1M", "weeks are not supported"),
        ("P1Y2D", "weeks are not supported"),
        ("PT0S", "longer than zero"),
        ("P0D", "longer than zero"),
        ("P367D", "too long"),
        ("PT9000H", "too long"),
        ("PT99999999999999999999H", "too long"),
    ],
)
def test_parse_duration_rejects(standard: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(standard)


def test_parse_duration_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        parse_duration(None)  # type: ignore[arg-type]


# --- caching and speed ---------------------------------------------------------------------------------


def test_holiday_provider_called_once_per_year() -> None:
    calls: list[int] = []

    def provider(year: int) -> set[date]:
        calls.append(year)
        return {date(year, 1, 2)}

    calendar = WorkingCalendar(holidays_provider=provider)
    assert not calendar.is_working_day(date(2026, 1, 2))
    for _ in range(3):
        calendar.deadline(wib(2026, 1, 1, 10), "P5D", "working")
        calendar.deadline(wib(2026, 12, 31, 10), "P5D", "working")
    assert sorted(calls) == [2026, 2027]


def test_ten_thousand_random_deadlines_are_consistent() -> None:
    """Deadlines over a whole year with an override: each lies in working time and consumes exactly
    its standard (the speed of this loop is measured by bench/calendar_speed.py, not here)."""
    calendar = WorkingCalendar(overrides={OPEN_SATURDAY: True})
    rnd = random.Random(7)
    standards = {
        "PT5M": timedelta(minutes=5),
        "PT1H": timedelta(hours=1),
        "PT30S": timedelta(seconds=30),
        "PT1H30M": timedelta(hours=1, minutes=30),
    }
    for _ in range(10_000):
        start = utc(2026, 1, 1) + timedelta(seconds=rnd.randrange(86400 * 365))
        standard, length = rnd.choice(list(standards.items()))
        due = calendar.deadline(start, standard, "working")
        assert due > start
        assert calendar.working_time_between(start, due) == length
        assert calendar.is_working_day(due.astimezone(WIB).date())
