"""The digital control card ("kartu kendali"): every hand-over of one application, in order.

Read from the projection tables only (tasks, events, users): no workflow is deserialized. The shape is a
stable contract shared by the JSON endpoint and the PDF; every entry has all keys below (``None`` where
not applicable yet):

``seq``, ``task_id``, ``step``, ``title``, ``lane``, ``lane_name`` (the lane as the diagram of the
application's version names it), ``state`` (open | completed | cancelled),
``ready_at``, ``received_by`` / ``received_by_name`` / ``received_by_initials`` / ``received_by_nip`` /
``received_at`` (who claimed it and when), ``completed_by`` / ``completed_by_name`` /
``completed_by_initials`` / ``completed_by_nip`` / ``completed_at`` (a NIP is ``None`` when not
recorded), ``time_standard``, ``time_basis``, ``deadline``, ``working_time_seconds`` (the time the step
took, counted in its own basis: working time for a "working" step, elapsed time for a "calendar" step or
when working time is off), ``working_time_label`` (the same in Bahasa Indonesia, e.g. "1 jam 5 menit";
the time the step was on hold left out), ``met`` (True: done by the deadline; False: overrun, also while
still open past the deadline; None: open and not yet due, cancelled, or no deadline), ``outcome`` (met |
overrun | pending | cancelled | no_deadline), ``escalations`` (a list of ``{"level", "at"}`` in order), ``override``
(verification completed although the population records disagreed or were missing: ``{"by", "at",
"reason", "status", "fields", "field_labels"}``; else ``None``), ``sent_back`` (the step sent the
application back to the applicant: ``engine.kia.corrections.Request.as_dict``, the note and the
questioned fields; else ``None``), ``correction`` (the applicant's answer completing a correction step:
``corrections.answer_view``, the response, every changed field with old and new value, the documents sent
again; else ``None``), ``held`` (True while the step is on hold), ``held_seconds`` / ``held_label`` (how
long it was on hold in all, in its basis, the current hold so far included; 0 and None when never) and
``holds`` (a list of ``{"reason", "by", "by_name", "at", "resumed_at", "resumed_by", "resumed_by_name",
"seconds", "label"}`` in order; ``resumed_*`` None while it lasts): a hold stops the step's clock, so its
deadline moved by the held time and an overrun counts outside holds; ``handover`` (the step that handed the
card over: who received it, ``engine.kia.handover.Shown.as_dict``, the NIK in full only for a reader who
may see the population records, masked for everyone; else ``None``); ``waiting_seconds`` /
``waiting_label``: for a step without a deadline (the hand-over: the card waits at the UPTD for the
parent, which is not the UPTD's time) how long it has waited in calendar time, up to its completion or
now (None for a step with a deadline or cancelled).

Datetimes are aware UTC ``datetime`` objects; the caller formats them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import corrections, handover, verification
from engine.kia.models import User
from engine.workflow import holds as holds_module
from engine.workflow import worktime
from engine.workflow.clock import clock
from engine.workflow.definitions import definition_of
from engine.workflow.models import Event, Instance, ProcessVersion, TaskRow, TaskRowState

__all__ = ["control_card", "duration_label", "process_versions", "step_duration", "within_standard"]

CARD_EVENTS = (
    "created",
    "escalated",
    "verification_override",
    "completed",
    corrections.ANSWER_EVENT,
    "held",
    "resumed",
)


def step_duration(row: TaskRow, end: datetime | None = None) -> timedelta | None:
    """How long ``row`` took (to ``end``, default its completion) in the step's own time basis, the time
    it was on hold left out (``engine.workflow.holds``: its clock was stopped)."""
    end = end or row.completed_at
    if end is None:
        return None
    held = timedelta(seconds=row.held_seconds or 0)
    if row.held_at is not None and end > row.held_at:
        held += worktime.time_between(row.held_at, end, row.time_basis)
    taken = worktime.time_between(row.ready_at, end, row.time_basis)
    return max(taken - held, timedelta(0)) if held else taken


def within_standard(row: TaskRow) -> bool | None:
    """True if the completed ``row`` finished by its deadline; None if it has none or is not completed."""
    if row.state != TaskRowState.COMPLETED or row.completed_at is None or row.due_at is None:
        return None
    return row.completed_at <= row.due_at


def duration_label(value: timedelta | None) -> str | None:
    """A duration in Bahasa Indonesia: "2 hari 1 jam 5 menit", "45 detik"."""
    if value is None:
        return None
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} detik"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n} {unit}" for n, unit in ((days, "hari"), (hours, "jam"), (minutes, "menit")) if n]
    return " ".join(parts)


def control_card(session: Session, instance: Instance, population_records: bool = False) -> list[dict[str, Any]]:
    """Every hand-over of ``instance`` in the order the steps became ready (see the module doc).

    ``population_records``: the reader may see what came from the population records
    (``engine.access.may_see_population_records``); only then is an ``override`` shown (which fields
    disagreed with the records, and the officer's reason), else it is ``None``."""
    worktime.refresh(session)
    rows = list(session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)))
    events = list(
        session.scalars(
            select(Event).where(Event.instance_id == instance.id, Event.kind.in_(CARD_EVENTS)).order_by(Event.id)
        )
    )
    created = {e.task_id: e.id for e in events if e.kind == "created"}
    overrides = (
        {e.task_id: _override(e) for e in events if e.kind == "verification_override"} if population_records else {}
    )
    answers = {e.task_id: corrections.answer_view(e) for e in events if e.kind == corrections.ANSWER_EVENT}
    sent_back = {
        e.task_id: corrections.request_of(e).as_dict()
        for e in events
        if e.kind == "completed" and e.detail.get("decision") in corrections.SENT_BACK
    }
    rows.sort(key=lambda r: (r.ready_at, created.get(r.id, 0), r.id))
    escalations: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind == "escalated" and event.task_id:
            escalations.setdefault(event.task_id, []).append({"level": event.detail.get("level"), "at": event.at})
    holders = [e.actor for e in events if e.kind in ("held", "resumed") and e.actor]
    people = _people(session, [*(name for r in rows for name in (r.claimed_by, r.completed_by) if name), *holders])
    now = clock.now()
    holds = _holds(events, people, {r.id: r for r in rows}, now)
    lane_names = definition_of(instance.process_version).lane_names
    received = handover.of_application(session, instance.application) if instance.application else None
    handed = {received.task_id: handover.shown(received, population_records).as_dict()} if received else {}
    return [
        {
            **_entry(seq, row, people, escalations.get(row.id, []), now),
            "lane_name": lane_names.get(row.lane, row.lane),
            "override": overrides.get(row.id),
            "sent_back": sent_back.get(row.id),
            "correction": answers.get(row.id),
            "handover": handed.get(row.id),
            **_held(row, holds.get(row.id, []), now),
        }
        for seq, row in enumerate(rows, 1)
    ]


def _holds(
    events: list[Event], people: dict[str, User], rows: dict[str, TaskRow], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Each step's holds in order, from its ``held`` and ``resumed`` events (a hold still on: up to now)."""
    holds: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind not in ("held", "resumed") or not event.task_id:
            continue
        steps = holds.setdefault(event.task_id, [])
        if event.kind == "held":
            steps.append(
                {
                    "reason": event.detail.get("reason"),
                    "by": event.actor,
                    "by_name": _name(people, event.actor),
                    "at": event.at,
                    "resumed_at": None,
                    "resumed_by": None,
                    "resumed_by_name": None,
                    "seconds": None,
                    "label": None,
                }
            )
        elif steps and steps[-1]["resumed_at"] is None:
            seconds = int(event.detail.get("held_seconds") or 0)
            steps[-1].update(
                resumed_at=event.at,
                resumed_by=event.actor,
                resumed_by_name=_name(people, event.actor),
                seconds=seconds,
                label=duration_label(timedelta(seconds=seconds)),
            )
    for task_id, steps in holds.items():
        row = rows.get(task_id)
        for hold in steps:
            if hold["resumed_at"] is None and row is not None:
                ongoing = holds_module.current_hold(row, now) if row.held_at is not None else timedelta(0)
                hold.update(seconds=int(ongoing.total_seconds()), label=duration_label(ongoing))
    return holds


def _held(row: TaskRow, holds: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    total = (row.held_seconds or 0) + int(holds_module.current_hold(row, now).total_seconds())
    return {
        "held": row.held_at is not None,
        "held_seconds": total,
        "held_label": duration_label(timedelta(seconds=total)) if holds else None,
        "holds": holds,
    }


def _name(people: dict[str, User], username: str | None) -> str | None:
    user = people.get(username or "")
    return user.full_name if user else None


def _override(event: Event) -> dict[str, Any]:
    fields = list(event.detail.get("fields") or [])
    return {
        "by": event.actor,
        "at": event.at,
        "reason": event.detail.get("reason"),
        "status": event.detail.get("status"),
        "fields": fields,
        "field_labels": [verification.LABELS.get(f, f) for f in fields],
    }


def _people(session: Session, usernames: Iterable[str]) -> dict[str, User]:
    names = set(usernames)
    if not names:
        return {}
    return {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}


def _entry(
    seq: int, row: TaskRow, people: dict[str, User], escalations: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    taken = step_duration(row) if row.state == TaskRowState.COMPLETED else None
    met = within_standard(row)
    if row.state == TaskRowState.CANCELLED:
        outcome = "cancelled"
    elif met is not None:
        outcome = "met" if met else "overrun"
    elif row.due_at is None:
        outcome = "no_deadline"  # the card waits for the parent: no standard to meet or overrun
    elif (
        row.state == TaskRowState.OPEN
        and row.due_at is not None
        and now > row.due_at
        and (row.held_at is None or row.held_at > row.due_at)  # a hold from before the deadline stops it
    ):
        met, outcome = False, "overrun"
    else:
        outcome = "pending"
    receiver, completer = people.get(row.claimed_by or ""), people.get(row.completed_by or "")
    return {
        "seq": seq,
        "task_id": row.id,
        "step": row.step,
        "title": row.title,
        "lane": row.lane,
        "state": row.state,
        "ready_at": row.ready_at,
        "received_by": row.claimed_by,
        "received_by_name": receiver.full_name if receiver else None,
        "received_by_initials": receiver.initials if receiver else None,
        "received_by_nip": receiver.nip if receiver else None,
        "received_at": row.claimed_at,
        "completed_by": row.completed_by if row.state == TaskRowState.COMPLETED else None,
        "completed_by_name": completer.full_name if completer and row.state == TaskRowState.COMPLETED else None,
        "completed_by_initials": completer.initials if completer and row.state == TaskRowState.COMPLETED else None,
        "completed_by_nip": completer.nip if completer and row.state == TaskRowState.COMPLETED else None,
        "completed_at": row.completed_at if row.state == TaskRowState.COMPLETED else None,
        "time_standard": row.time_standard,
        "time_basis": row.time_basis,
        "deadline": row.due_at,
        "working_time_seconds": int(taken.total_seconds()) if taken is not None else None,
        "working_time_label": duration_label(taken),
        "met": met,
        "outcome": outcome,
        "escalations": escalations,
        **_waiting(row, now),
    }


def _waiting(row: TaskRow, now: datetime) -> dict[str, Any]:
    """How long a step without a deadline has waited (calendar time), kept apart from any standard."""
    if row.due_at is not None or row.state == TaskRowState.CANCELLED:
        return {"waiting_seconds": None, "waiting_label": None}
    waited = max((row.completed_at or now) - row.ready_at, timedelta(0))
    return {"waiting_seconds": int(waited.total_seconds()), "waiting_label": duration_label(waited)}


def process_versions(session: Session, instance: Instance) -> dict[str, Any]:
    """The versions of the process ``instance`` ran on: the one it started on (with the owner's change
    note), the current one, and every move between them (``migrated`` events), oldest first."""
    key = instance.process_version.process_key
    events = list(
        session.scalars(
            select(Event)
            .where(Event.instance_id == instance.id, Event.kind.in_(("started", "migrated")))
            .order_by(Event.id)
        )
    )
    started = next((e.detail.get("version") for e in events if e.kind == "started"), None)
    moves = [e for e in events if e.kind == "migrated"]
    if started is None:
        started = moves[0].detail.get("from_version") if moves else instance.process_version.version
    numbers = {started, instance.process_version.version} | {e.detail.get("to_version") for e in moves}
    notes: dict[Any, str | None] = dict(
        session.execute(
            select(ProcessVersion.version, ProcessVersion.note).where(
                ProcessVersion.process_key == key, ProcessVersion.version.in_(numbers)
            )
        ).all()
    )
    people = _people(session, [e.actor for e in moves if e.actor])
    return {
        "process_key": key,
        "started_version": started,
        "started_note": notes.get(started),
        "current_version": instance.process_version.version,
        "current_note": notes.get(instance.process_version.version),
        "migrations": [
            {
                "from_version": e.detail.get("from_version"),
                "to_version": e.detail.get("to_version"),
                "at": e.at,
                "by": e.actor,
                "by_name": people[e.actor].full_name if e.actor in people else None,
                "note": notes.get(e.detail.get("to_version")),
            }
            for e in moves
        ],
    }
