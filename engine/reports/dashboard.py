"""The supervisor's figures, read from the projection tables only (no workflow is deserialized).

Open and overdue tasks per step and per kecamatan, each step's duration against its time standard per
day (in the time the standard is counted in: working time or calendar time), and the day's escalations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from engine.kia.models import Application
from engine.reports.control_card import step_duration
from engine.workflow import worktime
from engine.workflow.clock import clock
from engine.workflow.models import Event, TaskRow, TaskRowState

JAKARTA = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class OpenCount:
    key: str  # step id or kecamatan code
    label: str
    open: int
    overdue: int


@dataclass(frozen=True)
class DayFigure:
    day: date
    completed: int
    mean_percent: float  # mean duration as a percentage of the time standard (100 = exactly on time)
    late: int


@dataclass(frozen=True)
class StepDurations:
    step: str
    title: str
    time_standard: str
    days: list[DayFigure]


@dataclass(frozen=True)
class Escalation:
    at: datetime
    code: str
    step: str
    lane: str | None
    level: int


def open_by_step(session: Session) -> list[OpenCount]:
    rows = session.execute(
        select(TaskRow.step, func.min(TaskRow.title), func.count(), func.sum(TaskRow.overdue.cast(Integer)))
        .where(TaskRow.state == TaskRowState.OPEN)
        .group_by(TaskRow.step)
        .order_by(TaskRow.step)
    )
    return [OpenCount(step, title, count, int(overdue or 0)) for step, title, count, overdue in rows]


def open_by_kecamatan(session: Session, names: dict[str, str]) -> list[OpenCount]:
    rows = session.execute(
        select(TaskRow.kecamatan, func.count(), func.sum(TaskRow.overdue.cast(Integer)))
        .where(TaskRow.state == TaskRowState.OPEN)
        .group_by(TaskRow.kecamatan)
        .order_by(TaskRow.kecamatan)
    )
    return [
        OpenCount(code or "-", names.get(code or "", code or "-"), count, int(overdue or 0))
        for code, count, overdue in rows
    ]


def _percent_of_standard(row: TaskRow) -> float | None:
    """The task's duration as a percentage of the time it was allowed, both in the standard's basis."""
    if row.completed_at is None or row.due_at is None:
        return None
    used, allowed = step_duration(row), step_duration(row, end=row.due_at)
    if used is None or allowed is None or allowed <= timedelta(0):
        return None
    return max(used / allowed * 100.0, 0.0)


def durations(session: Session, days: int = 14, today: date | None = None) -> list[StepDurations]:
    """Per step, per day (Asia/Jakarta) of completion: how many finished and their mean % of standard."""
    worktime.refresh(session)
    today = today or clock.now().astimezone(JAKARTA).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, JAKARTA)
    rows = session.scalars(
        select(TaskRow)
        .where(TaskRow.state == TaskRowState.COMPLETED, TaskRow.completed_at >= since)
        .order_by(TaskRow.step, TaskRow.completed_at)
    )
    buckets: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    meta: dict[str, tuple[str, str]] = {}
    for row in rows:
        percent = _percent_of_standard(row)
        if percent is None:
            continue
        meta[row.step] = (row.title, row.time_standard or "")
        buckets[row.step][cast(datetime, row.completed_at).astimezone(JAKARTA).date()].append(percent)
    out = []
    for step, by_day in buckets.items():
        figures = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            values = by_day.get(day, [])
            figures.append(
                DayFigure(
                    day, len(values), sum(values) / len(values) if values else 0.0, sum(1 for v in values if v > 100.0)
                )
            )
        out.append(StepDurations(step, meta[step][0], meta[step][1], figures))
    return out


def escalations_on(session: Session, day: date | None = None) -> list[Escalation]:
    """The escalations of one day (Asia/Jakarta), newest first."""
    day = day or clock.now().astimezone(JAKARTA).date()
    start = datetime.combine(day, time.min, JAKARTA)
    rows = session.execute(
        select(Event, Application.code)
        .join(Application, Application.instance_id == Event.instance_id)
        .where(Event.kind == "escalated", Event.at >= start, Event.at < start + timedelta(days=1))
        .order_by(Event.at.desc())
    )
    return [Escalation(e.at, code, e.step or "", e.lane, int(e.detail.get("level", 1))) for e, code in rows]
