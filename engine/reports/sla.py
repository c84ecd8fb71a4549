"""The SLA report: per step, how long completed steps took and how many met their time standard.

Reads the ``tasks`` projection only. A step counts in the report when it was completed within the
period (``start``..``end`` inclusive, days in the calendar's time zone, Asia/Jakarta). Durations are the
control card's: working time for a "working" step, elapsed time for a "calendar" step.

* ``median_seconds``: the median (the mean of the two middle values for an even count);
* ``p90_seconds``: the 90th percentile by the nearest-rank method (the ``ceil(0.9 n)``-th smallest);
* ``within_standard``: completed by the deadline; ``within_standard_share`` = that count / ``count``;
* ``standards``: per process version the step ran on, its time standard and basis, with that version's
  ``count`` and ``within_standard`` (a version's owner may have changed the standard).
"""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from engine.reports.control_card import step_duration, within_standard
from engine.workflow import worktime
from engine.workflow.definitions import definition_of
from engine.workflow.models import Event, TaskRow, TaskRowState


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the calendar's zone, as aware datetimes."""
    tz = worktime.calendar().tz
    return datetime.combine(start, time(0), tz), datetime.combine(end + timedelta(days=1), time(0), tz)


def nearest_rank(sorted_values: list[float], percentile: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty list."""
    return sorted_values[max(math.ceil(percentile / 100 * len(sorted_values)), 1) - 1]


def sla_report(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """One entry per step completed in ``start``..``end``, in the order the steps first became ready; a
    step without a deadline (the hand-over, while the card waits for the parent) is left out, as on the
    dashboard."""
    worktime.refresh(session)
    lo, hi = period_bounds(start, end)
    created = and_(Event.task_id == TaskRow.id, Event.kind == "created")
    rows = session.scalars(
        select(TaskRow)
        .outerjoin(Event, created)
        .where(
            TaskRow.state == TaskRowState.COMPLETED,
            TaskRow.completed_at >= lo,
            TaskRow.completed_at < hi,
            TaskRow.due_at.is_not(None),  # a step without a deadline (the card waiting for the parent) is not measured
        )
        .order_by(TaskRow.ready_at, Event.id)
    )
    by_step: dict[str, list[TaskRow]] = {}
    for row in rows:
        by_step.setdefault(row.step, []).append(row)
    report = []
    for step, group in by_step.items():
        seconds = sorted(cast(timedelta, step_duration(r)).total_seconds() for r in group)  # completed rows
        within = sum(1 for r in group if within_standard(r))
        last = group[-1]
        versions: dict[int, dict[str, Any]] = {}
        for r in group:
            entry = versions.setdefault(
                r.instance.process_version.version,
                {
                    "version": r.instance.process_version.version,
                    "time_standard": r.time_standard,
                    "time_basis": r.time_basis,
                    "count": 0,
                    "within_standard": 0,
                },
            )
            entry["count"] += 1
            entry["within_standard"] += 1 if within_standard(r) else 0
        report.append(
            {
                "step": step,
                "title": last.title,
                "lane": last.lane,
                "lane_name": definition_of(last.instance.process_version).lane_names.get(last.lane, last.lane),
                "time_standard": last.time_standard,
                "time_basis": last.time_basis,
                "count": len(group),
                "median_seconds": statistics.median(seconds),
                "p90_seconds": nearest_rank(seconds, 90),
                "within_standard": within,
                "within_standard_share": round(within / len(group), 4),
                "standards": [versions[v] for v in sorted(versions)],
            }
        )
    return report
