"""The supervisor's figures, read from the projection tables only (no workflow is deserialized).

Open and overdue tasks per step and per kecamatan; the files completed within and over their time standard
(counts, not averages: an average hides the late file) per step, per kecamatan and per officer, and per step
per day or per week; each step's duration against its standard per day (in the time the standard is counted
in: working time or calendar time), and the day's escalations. Steps come in the SOP's order: the order of
the user tasks along the diagram's flows from its start (the active version's first, then any step only an
older version has).
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
from engine.reports.control_card import step_duration, within_standard
from engine.workflow import worktime
from engine.workflow.clock import clock
from engine.workflow.definitions import Definition, definition_of
from engine.workflow.models import Event, ProcessVersion, TaskRow, TaskRowState
from engine.workflow.versions import current_activation

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
    title: str = ""  # the step's name


@dataclass(frozen=True)
class StandardCount:
    """Completed files within and over their time standard, for one step, kecamatan or officer."""

    key: str  # step id, kecamatan code or username
    label: str
    within: int
    over: int
    periods: tuple[PeriodCount, ...] = ()  # the same counts per day or per week

    @property
    def total(self) -> int:
        return self.within + self.over


@dataclass(frozen=True)
class PeriodCount:
    first: date  # the period's first and last day (Asia/Jakarta), a day or a week (Monday to Sunday)
    last: date
    within: int
    over: int


@dataclass(frozen=True)
class StepSeries:
    step: str
    title: str
    standards: list[str]  # the time standards its completed tasks had (one per version that differs)
    periods: list[PeriodCount]


@dataclass(frozen=True)
class StandardReport:
    first: date
    last: date
    per: str  # "day" or "week"
    spans: list[tuple[date, date]]  # the days or weeks, first and last day of each
    by_step: list[StandardCount]
    by_kecamatan: list[StandardCount]
    by_officer: list[StandardCount]
    series: list[StepSeries]


PERIODS = ("day", "week")
SYSTEM_ACTORS = {"system", "sistem", "scheduler", "timer"}
APPLICANT_ACTOR = "pemohon"  # the applicant's own steps (engine.kia.access names them so)


def sop_steps(definition: Definition) -> list[str]:
    """The user tasks of ``definition`` in flow order from the start event (breadth first), each once."""
    found: list[str] = []
    seen: set[str] = set()
    queue = [definition.spec.start]
    while queue:
        spec = queue.pop(0)
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if spec.name in definition.user_tasks:
            found.append(spec.name)
        queue.extend(spec.outputs)
    found += [step for step in definition.user_tasks if step not in found]  # unreachable ones, for safety
    return found


def step_order(session: Session) -> dict[str, tuple[int, str]]:
    """Step id -> (SOP position, name): the active version of each process first, then older versions."""
    versions = list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.version.desc())))
    active = set()
    for key in {v.process_key for v in versions}:
        activation = current_activation(session, key)
        active.add(activation.process_version_id if activation else max(v.id for v in versions if v.process_key == key))
    order: dict[str, tuple[int, str]] = {}
    for version in sorted(versions, key=lambda v: (v.id not in active, -v.version)):
        definition = definition_of(version)
        for step in sop_steps(definition):
            order.setdefault(step, (len(order), definition.user_tasks[step].title))
    return order


def node_names(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """The names people read for the ids of the deployed diagrams: every named flow node (steps, milestones,
    service tasks, events) and every process key; the active versions' names win over older ones'."""
    versions = sorted(session.scalars(select(ProcessVersion)), key=lambda v: v.version)
    nodes: dict[str, str] = {}
    processes: dict[str, str] = {}
    for version in versions:  # later versions overwrite: a renamed step reads as it is named now
        definition = definition_of(version)
        processes[version.process_key] = definition.spec.description or version.process_key
        for name, spec in definition.spec.task_specs.items():
            if getattr(spec, "bpmn_name", None):
                nodes[name] = spec.bpmn_name
    for step, (_, title) in step_order(session).items():
        nodes[step] = title
    return nodes, processes


def in_sop_order(order: dict[str, tuple[int, str]], step: str) -> tuple[int, str]:
    return (order[step][0], step) if step in order else (len(order), step)


def period_start(day: date, per: str) -> date:
    return day - timedelta(days=day.weekday()) if per == "week" else day


def periods_between(first: date, last: date, per: str) -> list[tuple[date, date]]:
    """The days, or the weeks (Monday to Sunday, clipped to ``first``..``last``), of the period."""
    out = []
    start = first
    while start <= last:
        end = min(period_start(start, per) + timedelta(days=6 if per == "week" else 0), last)
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def standard_report(
    session: Session,
    first: date,
    last: date,
    per: str = "day",
    kecamatan_names: dict[str, str] | None = None,
    officer_names: dict[str, str] | None = None,
) -> StandardReport:
    """The tasks completed from ``first`` to ``last`` (Asia/Jakarta days) that had a deadline, counted as
    within (completed by the deadline) or over their time standard: per step (SOP order), per kecamatan,
    per officer (who completed it; the service itself as "Sistem", the applicant's own steps as "Pemohon"), and
    per step per day or week."""
    if per not in PERIODS:
        raise ValueError(f"per must be one of {PERIODS}")
    kecamatan_names, officer_names = kecamatan_names or {}, officer_names or {}
    since = datetime.combine(first, time.min, JAKARTA)
    until = datetime.combine(last + timedelta(days=1), time.min, JAKARTA)
    rows = session.scalars(
        select(TaskRow).where(
            TaskRow.state == TaskRowState.COMPLETED,
            TaskRow.completed_at >= since,
            TaskRow.completed_at < until,
            TaskRow.due_at.is_not(None),
        )
    )
    order = step_order(session)
    spans = periods_between(first, last, per)
    counts: dict[str, dict[str, list[int]]] = {"step": {}, "kecamatan": {}, "officer": {}}
    per_period: dict[tuple[str, str], dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    titles: dict[str, str] = {}
    standards: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        late = 0 if within_standard(row) else 1
        officer = row.completed_by or "system"
        day = cast(datetime, row.completed_at).astimezone(JAKARTA).date()
        for kind, key in (("step", row.step), ("kecamatan", row.kecamatan or ""), ("officer", officer)):
            pair = counts[kind].setdefault(key, [0, 0])
            pair[late] += 1
            per_period[(kind, key)][max(period_start(day, per), first)][late] += 1
        titles[row.step] = order[row.step][1] if row.step in order else row.title
        if row.time_standard and row.time_standard not in standards[row.step]:
            standards[row.step].append(row.time_standard)

    def officer_label(name: str) -> str:
        if name.lower() in SYSTEM_ACTORS:
            return "Sistem"
        return "Pemohon" if name == APPLICANT_ACTOR else officer_names.get(name, name)

    def periods_of(kind: str, key: str) -> tuple[PeriodCount, ...]:
        return tuple(PeriodCount(a, b, *per_period[(kind, key)].get(a, [0, 0])) for a, b in spans)

    def count(kind: str, key: str, label: str) -> StandardCount:
        within, over = counts[kind][key]
        return StandardCount(key or "-", label, within, over, periods=periods_of(kind, key))

    steps = sorted(counts["step"], key=lambda s: in_sop_order(order, s))
    return StandardReport(
        first=first,
        last=last,
        per=per,
        spans=spans,
        by_step=[count("step", s, titles[s]) for s in steps],
        by_kecamatan=[
            count("kecamatan", k, kecamatan_names.get(k, k or "Tanpa kecamatan"))
            for k in sorted(counts["kecamatan"], key=lambda k: kecamatan_names.get(k, k))
        ],
        by_officer=[
            count("officer", o, officer_label(o))
            for o in sorted(counts["officer"], key=lambda o: officer_label(o).lower())
        ],
        series=[StepSeries(s, titles[s], standards[s], list(periods_of("step", s))) for s in steps],
    )


def open_by_step(session: Session) -> list[OpenCount]:
    """Open and overdue tasks per step, in the SOP's order, each by its name."""
    rows = session.execute(
        select(TaskRow.step, func.min(TaskRow.title), func.count(), func.sum(TaskRow.overdue.cast(Integer)))
        .where(TaskRow.state == TaskRowState.OPEN)
        .group_by(TaskRow.step)
    )
    order = step_order(session)
    counts = [
        OpenCount(step, order[step][1] if step in order else title, count, int(overdue or 0))
        for step, title, count, overdue in rows
    ]
    return sorted(counts, key=lambda c: in_sop_order(order, c.key))


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
    order = step_order(session)
    return sorted(out, key=lambda s: in_sop_order(order, s.step))


def escalations_on(session: Session, day: date | None = None) -> list[Escalation]:
    """The escalations of one day (Asia/Jakarta), newest first."""
    day = day or clock.now().astimezone(JAKARTA).date()
    start = datetime.combine(day, time.min, JAKARTA)
    rows = session.execute(
        select(Event, Application.code, TaskRow.title)
        .join(Application, Application.instance_id == Event.instance_id)
        .outerjoin(TaskRow, TaskRow.id == Event.task_id)
        .where(Event.kind == "escalated", Event.at >= start, Event.at < start + timedelta(days=1))
        .order_by(Event.at.desc())
    )
    order = step_order(session)
    return [
        Escalation(
            e.at,
            code,
            e.step or "",
            e.lane,
            int(e.detail.get("level", 1)),
            order[e.step][1] if e.step in order else (title or e.step or ""),
        )
        for e, code, title in rows
    ]
