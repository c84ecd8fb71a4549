"""SOP step 5 begins: a batch of cards arrives at the UPTD.

The Ka. UPTD (or their staff) confirms each card of a batch (``confirm``): every card that came, or all
still on their way at once, and the missing ones with a note. Each confirmation completes the card's
arrival step (form ``arrival``) through the one completion use case, so the diagram decides what follows:
an arrived card's parent is told it is ready to collect; a missing card goes back to Dafdud as a problem
step with its own time standard, and comes back to the UPTD's arrival step when sent again. The card's
line in its batch records the outcome (``completion``, also when the arrival step is completed on its
own task page).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import completion
from engine.kia.access import Principal
from engine.kia.completion import ARRIVAL_FORM, FormLoader
from engine.kia.distribution import BatchSummary, batches, get_batch
from engine.kia.models import Application, ArrivalState, DistributionBatch, DistributionItem
from engine.workflow import instances
from engine.workflow.errors import Conflict, EngineError, Forbidden, InvalidData
from engine.workflow.models import TaskRow, TaskRowState

MISSING_FORM = "missing_card"
NOTE_REQUIRED = "Tulis catatan untuk KIA yang tidak ada (mis. tidak ada dalam amplop)."


@dataclass(frozen=True)
class BatchCard:
    """One card of a batch as the UPTD sees it."""

    code: str
    child_name: str
    card_number: str
    arrival: str | None
    arrival_at: Any
    arrival_by: str | None
    arrival_note: str | None
    task_id: str | None  # the card's open arrival step, if it has one


@dataclass(frozen=True)
class Confirmed:
    batch: BatchSummary
    arrived: list[str]  # application codes
    missing: list[str]
    next_tasks: list[TaskRow]


def batch_of(session: Session, row: TaskRow) -> int | None:
    """The batch the card of arrival step ``row`` was last sent in (its task page links to it)."""
    return session.scalar(
        select(DistributionItem.batch_id)
        .where(DistributionItem.application_id == row.instance.application.id)
        .order_by(DistributionItem.id.desc())
        .limit(1)
    )


def require_batch_access(principal: Principal, batch: DistributionBatch) -> None:
    """Dafdud staff and supervisors see every batch; a Ka. UPTD only their own kecamatan's."""
    roles = principal.roles
    if roles & {"dafdud", "supervisor"}:
        return
    if "uptd" in roles and principal.user is not None and batch.kecamatan == principal.user.kecamatan:
        return
    raise Forbidden("Batch ini milik UPTD kecamatan lain.")


def summary(session: Session, batch: DistributionBatch) -> BatchSummary:
    [found] = [b for b in batches(session, limit=1, offset=0, only=batch.id)]
    return found


def cards(session: Session, batch: DistributionBatch) -> list[BatchCard]:
    """The batch's cards by the child's name, each with its open arrival step."""
    rows = session.execute(
        select(DistributionItem, Application)
        .join(Application, Application.id == DistributionItem.application_id)
        .where(DistributionItem.batch_id == batch.id)
    ).all()
    open_steps = dict(
        session.execute(
            select(TaskRow.instance_id, TaskRow.id).where(
                TaskRow.instance_id.in_({app.instance_id for _, app in rows}),
                TaskRow.form_key == ARRIVAL_FORM,
                TaskRow.state == TaskRowState.OPEN,
            )
        ).all()
    )
    found = [
        BatchCard(
            code=app.code,
            child_name=(app.child or {}).get("name", ""),
            card_number=app.card_number or "",
            arrival=item.arrival,
            arrival_at=item.arrival_at,
            arrival_by=item.arrival_by,
            arrival_note=item.arrival_note,
            task_id=open_steps.get(app.instance_id),
        )
        for item, app in rows
    ]
    return sorted(found, key=lambda c: (c.child_name.casefold(), c.code))


def confirm(
    session: Session,
    principal: Principal,
    batch_id: int,
    arrived: Collection[str],
    missing: Mapping[str, str],
    load_form: FormLoader,
    *,
    all_arrived: bool = False,
) -> Confirmed:
    """Confirm the cards of batch ``batch_id``: ``arrived`` (application codes; with ``all_arrived``,
    every card still waiting that is not in ``missing``) came, ``missing`` (code -> note) did not.

    All or nothing, checked before anything is completed: unknown codes, a code in both lists, a missing
    card without a note (422); a card already confirmed (409); then each card's arrival step through the
    completion use case (403 another kecamatan's, 409 no longer open). The caller commits, or rolls back
    on an error."""
    batch = get_batch(session, batch_id)
    require_batch_access(principal, batch)
    by_code = {card.code: card for card in cards(session, batch)}
    missing = {code: (note or "").strip() for code, note in missing.items()}
    chosen = set(arrived)
    if all_arrived:
        chosen |= {c.code for c in by_code.values() if c.task_id and c.code not in missing}
    errors: dict[str, list[str]] = {}
    for code in sorted(chosen | set(missing)):
        if code not in by_code:
            errors[code] = ["Tidak ada dalam batch ini."]
        elif code in chosen and code in missing:
            errors[code] = ["Dipilih sebagai tiba dan sebagai tidak ada sekaligus."]
        elif code in missing and not missing[code]:
            errors[code] = [NOTE_REQUIRED]
    if errors:
        raise InvalidData("Konfirmasi kedatangan tidak sah.", {"cards": errors})
    if not chosen and not missing:
        raise InvalidData("Pilih minimal satu KIA.", {"cards": ["Pilih minimal satu KIA."]})
    done = [code for code in sorted(chosen | set(missing)) if by_code[code].task_id is None]
    if done:
        conflict = Conflict("KIA ini sudah dikonfirmasi atau tidak menunggu konfirmasi: " + ", ".join(done) + ".")
        conflict.fields = {"cards": {code: ["Sudah dikonfirmasi."] for code in done}}
        raise conflict
    opened: list[TaskRow] = []
    for code in sorted(chosen | set(missing)):
        raw = (
            {"decision": ArrivalState.MISSING.value, "note": missing[code]}
            if code in missing
            else {"decision": "arrived"}
        )
        task_id = by_code[code].task_id
        assert task_id is not None
        try:
            result = completion.complete_task(session, principal, task_id, raw, load_form)
        except EngineError as exc:
            exc.message = f"KIA {code}: {exc.message}"
            exc.fields = {"cards": {code: [exc.message]}}
            raise
        opened += result.next_tasks
    instances.flush(session)
    return Confirmed(summary(session, batch), sorted(chosen), sorted(missing), opened)
