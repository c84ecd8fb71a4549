"""SOP step 4: grouping printed cards by kecamatan, in batches, and the distribution recap's content.

A Dafdud officer completes many open grouping tasks at once (``group_in_batch``): every task goes
through the one completion use case (``completion.complete_task``) in the caller's transaction, and one
``DistributionBatch`` per kecamatan links its applications (the envelope for that UPTD). Any failing
task raises an engine error naming it, and the caller rolls the whole batch back. ``batches`` lists the
past batches with how many of their cards the UPTD confirmed. ``recap`` reads a batch, or every grouping
completed on one day, grouped by kecamatan; ``number_recap`` gives each kecamatan's page its letter number.

The recap stays inside the office (Dafdud to the UPTD, with the cards): it shows each child's full NIK and
the card number the print operator entered, so that the cards in the envelope can be matched to the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.kia import completion, letters
from engine.kia.access import Principal
from engine.kia.completion import FormLoader
from engine.kia.models import Application, ArrivalState, DistributionBatch, DistributionItem, Kecamatan
from engine.kia.people import Signatory, signatories
from engine.workflow import instances
from engine.workflow.clock import clock
from engine.workflow.errors import EngineError, InvalidData, NotFound
from engine.workflow.models import TaskRow, TaskRowState

GROUPING_FORM = "grouping"
MAX_BATCH = 500
JAKARTA = ZoneInfo("Asia/Jakarta")


class BatchState(StrEnum):
    SENT = "sent"  # no card confirmed yet
    PARTLY_CONFIRMED = "partly_confirmed"
    ARRIVED = "arrived"  # every card arrived
    INCOMPLETE = "incomplete"  # every card confirmed, some missing


@dataclass(frozen=True)
class BatchSummary:
    """One past batch for the lists: how many cards, how many confirmed at the UPTD."""

    id: int
    label: str | None
    kecamatan: str | None
    created_by: str
    created_at: datetime
    count: int
    arrived: int
    missing: int

    @property
    def waiting(self) -> int:
        return self.count - self.arrived - self.missing

    @property
    def state(self) -> BatchState:
        if self.waiting == self.count:
            return BatchState.SENT
        if self.waiting:
            return BatchState.PARTLY_CONFIRMED
        return BatchState.INCOMPLETE if self.missing else BatchState.ARRIVED


@dataclass(frozen=True)
class RecapEntry:
    code: str
    child_name: str
    nik: str  # in full: the recap stays inside the office
    card_number: str  # "" when the print operator entered none
    grouped_by: str | None
    grouped_at: datetime | None


@dataclass
class RecapGroup:
    kecamatan: str
    name: str
    uptd_name: str
    uptd_head: str
    uptd_head_nip: str = ""
    entries: list[RecapEntry] = field(default_factory=list)
    officers: list[Signatory] = field(default_factory=list)  # the Dafdud officers who grouped
    letter_number: str = ""  # given by ``number_recap``

    @property
    def count(self) -> int:
        return len(self.entries)


def _grouping(row: TaskRow) -> None:
    if row.form_key != GROUPING_FORM:
        raise InvalidData("Bukan tugas pengelompokan KIA.", {})


def _naming(task_id: str, exc: EngineError) -> EngineError:
    """The same error, its message and fields naming the task that failed."""
    original = exc.message
    exc.message = f"Tugas {task_id}: {original}"
    exc.fields = {"task_ids": {task_id: [original]}}
    return exc


def group_in_batch(
    session: Session, principal: Principal, task_ids: Sequence[str], raw: dict[str, Any], load_form: FormLoader
) -> tuple[list[DistributionBatch], list[TaskRow], list[TaskRow]]:
    """Complete every grouping task in ``task_ids`` with the grouping form data ``raw``, one batch per
    kecamatan (the envelope that goes to that kecamatan's UPTD), in the order of the kecamatan codes.

    Returns the batches, the completed rows and the rows they opened. All or nothing: invalid form data
    raises first, then the first failing task (403 not the caller's lane, 409 no longer open or claimed
    by another, 422 not a grouping task or unknown), and the caller must roll back."""
    form_data = load_form(GROUPING_FORM, raw)  # the batch's label and note; each task validates it again
    ids = list(task_ids)
    if not ids:
        raise InvalidData("Pilih minimal satu tugas.", {"task_ids": ["Pilih minimal satu tugas."]})
    if len(ids) > MAX_BATCH:
        raise InvalidData("Terlalu banyak tugas.", {"task_ids": [f"Maksimal {MAX_BATCH} tugas sekaligus."]})
    duplicates = sorted({t for t in ids if ids.count(t) > 1})
    if duplicates:
        raise InvalidData(
            "Tugas disebut lebih dari sekali.", {"task_ids": {t: ["Disebut lebih dari sekali."] for t in duplicates}}
        )
    now = clock.now()
    batches: dict[str | None, DistributionBatch] = {}
    completed: list[TaskRow] = []
    opened: list[TaskRow] = []
    for task_id in ids:
        try:
            done = completion.complete_task(session, principal, task_id, raw, load_form, precondition=_grouping)
        except NotFound as exc:
            raise _naming(task_id, InvalidData(exc.message, {})) from None
        except EngineError as exc:
            raise _naming(task_id, exc) from None
        row = done.task
        batch = batches.get(row.kecamatan)
        if batch is None:
            batch = batches[row.kecamatan] = DistributionBatch(
                label=form_data.get("batch") or None,
                note=form_data.get("note") or None,
                created_by=principal.name,
                created_at=now,
                kecamatan=row.kecamatan,
            )
        batch.items.append(
            DistributionItem(application_id=row.instance.application.id, task_id=task_id, kecamatan=row.kecamatan)
        )
        completed.append(row)
        opened += done.next_tasks
    ordered = [batches[k] for k in sorted(batches, key=lambda k: k or "")]
    session.add_all(ordered)
    instances.flush(session)
    return ordered, completed, opened


def jakarta_day(day: date) -> tuple[datetime, datetime]:
    """The UTC bounds ``[start, end)`` of a calendar day in Asia/Jakarta."""
    start = datetime.combine(day, time(0), JAKARTA)
    return start, start + timedelta(days=1)


def batches(
    session: Session, kecamatan: str | None = None, limit: int = 50, offset: int = 0, only: int | None = None
) -> list[BatchSummary]:
    """Past batches, newest first, with their counts (one grouped query); ``kecamatan``: only the
    batches with cards for that kecamatan (a Ka. UPTD's)."""
    query = (
        select(
            DistributionBatch.id,
            DistributionBatch.label,
            DistributionBatch.kecamatan,
            DistributionBatch.created_by,
            DistributionBatch.created_at,
            func.count(DistributionItem.id),
            func.sum(case((DistributionItem.arrival == ArrivalState.ARRIVED, 1), else_=0)),
            func.sum(case((DistributionItem.arrival == ArrivalState.MISSING, 1), else_=0)),
        )
        .join(DistributionItem, DistributionItem.batch_id == DistributionBatch.id)
        .group_by(DistributionBatch.id)
        .order_by(DistributionBatch.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if kecamatan is not None:
        query = query.where(DistributionItem.kecamatan == kecamatan)
    if only is not None:
        query = query.where(DistributionBatch.id == only)
    return [
        BatchSummary(id_, label, kec, by, at, int(n), int(arrived or 0), int(missing or 0))
        for id_, label, kec, by, at, n, arrived, missing in session.execute(query)
    ]


def get_batch(session: Session, batch_id: int) -> DistributionBatch:
    batch = session.get(DistributionBatch, batch_id)
    if batch is None:
        raise NotFound("Batch distribusi tidak ditemukan.")
    return batch


def recap_of_batch(session: Session, batch_id: int, kecamatan: str | None = None) -> list[RecapGroup]:
    get_batch(session, batch_id)
    query = (
        select(Application, DistributionItem.kecamatan, TaskRow)
        .join(DistributionItem, DistributionItem.application_id == Application.id)
        .join(TaskRow, TaskRow.id == DistributionItem.task_id)
        .where(DistributionItem.batch_id == batch_id)
    )
    return _groups(session, query, kecamatan)


def recap_of_day(session: Session, day: date, kecamatan: str | None = None) -> list[RecapGroup]:
    """Every card grouped on ``day`` (Asia/Jakarta), in a batch or one by one."""
    start, end = jakarta_day(day)
    query = (
        select(Application, TaskRow.kecamatan, TaskRow)
        .join(TaskRow, TaskRow.instance_id == Application.instance_id)
        .where(
            TaskRow.form_key == GROUPING_FORM,
            TaskRow.state == TaskRowState.COMPLETED,
            TaskRow.completed_at >= start,
            TaskRow.completed_at < end,
        )
    )
    return _groups(session, query, kecamatan)


def _groups(session: Session, query: Any, kecamatan: str | None) -> list[RecapGroup]:
    if kecamatan is not None:
        query = query.where(TaskRow.kecamatan == kecamatan)
    rows = list(session.execute(query))
    districts = {k.code: k for k in session.scalars(select(Kecamatan))}
    officers = signatories(session, (task.completed_by for _, _, task in rows))
    groups: dict[str, RecapGroup] = {}
    for app, code, task in rows:
        code = code or ""
        district = districts.get(code)
        group = groups.get(code)
        if group is None:
            group = groups[code] = RecapGroup(
                kecamatan=code,
                name=district.name if district else code or "Tanpa kecamatan",
                uptd_name=district.uptd_name if district else "",
                uptd_head=district.uptd_head if district else "",
                uptd_head_nip=district.uptd_head_nip if district else "",
            )
        group.entries.append(
            RecapEntry(
                code=app.code,
                child_name=app.child.get("name", ""),
                nik=app.child.get("nik") or "",
                card_number=app.card_number or "",
                grouped_by=task.completed_by,
                grouped_at=task.completed_at,
            )
        )
        officer = officers.get(task.completed_by or "") or (Signatory(task.completed_by) if task.completed_by else None)
        if officer and officer not in group.officers:
            group.officers.append(officer)
    for group in groups.values():
        group.entries.sort(key=lambda e: (e.child_name.casefold(), e.code))
    return [groups[code] for code in sorted(groups)]


def number_recap(session: Session, groups: list[RecapGroup], paper: str, actor: str) -> list[RecapGroup]:
    """Give each kecamatan's page of the recap ``paper`` (e.g. ``batch:12``, ``day:2027-09-06``) its
    letter number: the one it got when first printed, else the next one (the caller commits)."""
    for group in groups:
        group.letter_number = letters.letter_number(session, f"distribution:{paper}:{group.kecamatan}", actor).number
    return groups
