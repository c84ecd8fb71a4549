"""Completing a task: the one use case behind the API, the staff pages, the bulk grouping and the
applicant's correction (web page and WhatsApp).

In order, with one fetch of the task row: the row (404), the caller's own precondition (the bulk
grouping: a grouping task), the caller may see it and act on it (403), it is still open (409), the form
data validates against the form the task names, built in or deployed with the version (422, field by
field), the SOP's rules for the step (verification: a reason to override
disagreeing records; correction: changed personal data goes to the application and may re-route it, and
the answer with every changed field is recorded for the verifier; hand-over: the recipient checked
against the family card, a proxy's letter stored, ``engine.kia.handover``), then the runtime completes
it (409 when claimed by another or lost to a concurrent completion) and returns the tasks it opened. The
caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import corrections, handover, routing, rules, verification
from engine.kia.access import Principal, can_view_task, require_task_action
from engine.kia.applications import Attachments
from engine.kia.models import ArrivalState, DistributionItem, Document, Kecamatan
from engine.workflow import definitions, instances
from engine.workflow.clock import clock
from engine.workflow.errors import Forbidden, InvalidData
from engine.workflow.events import record
from engine.workflow.models import TaskRow

# (form key, raw data) -> the validated data; raises with per-field messages. The forms layer gives it
# (``forms.load_form``): the engine does not import the forms.
FormLoader = Callable[[str, Any], dict[str, Any]]
Precondition = Callable[[TaskRow], None]
# the corrected application (applicant, child) -> validated like a new submission, with ``child_age`` and
# ``warnings``; raises with per-field messages. The forms layer gives it (``forms.application_check``).
ApplicationCheck = Callable[[dict[str, Any]], dict[str, Any]]

PERSONAL_SECTIONS = ("applicant", "child")
ARRIVAL_FORM = "arrival"  # the UPTD's confirmation that a card of a batch arrived (``engine.kia.arrival``)


@dataclass(frozen=True)
class Completion:
    task: TaskRow  # the completed row
    next_tasks: list[TaskRow]  # the rows it opened

    @property
    def status(self) -> str:
        return self.task.instance.status


def complete_task(
    session: Session,
    principal: Principal,
    task_id: str,
    raw: Any,
    load_form: FormLoader,
    *,
    precondition: Precondition | None = None,
    check_application: ApplicationCheck | None = None,
    attachments: Attachments | None = None,
) -> Completion:
    """Complete task ``task_id`` as ``principal`` with the form data ``raw`` (see the module's doc) and
    the files sent with it (``attachments``: only a step whose rule takes a file accepts one)."""
    row = instances.get_task(session, task_id)
    if precondition is not None:
        precondition(row)
    if not can_view_task(principal, row):
        raise Forbidden("Tugas ini bukan untuk bagian Anda.")
    require_task_action(principal, row)
    instances.require_open(row)
    data = validate_form(row, raw, load_form)
    return complete_validated(session, row, data, principal.name, check_application, attachments)


def validate_form(row: TaskRow, raw: Any, load_form: FormLoader) -> dict[str, Any]:
    """``raw`` checked by the form the task's form_key names: a form deployed with the task's version (the
    owner's form-js form, checked by ``owner_forms``: ``InvalidData``), else the built-in form of that key
    (``load_form``). Either way a refusal carries the messages per field (422)."""
    owner_form = definitions.owner_form(row.instance.process_version, row.form_key)
    if owner_form is not None:
        return owner_form.validate(raw)
    return load_form(row.form_key, raw)


def complete_validated(
    session: Session,
    row: TaskRow,
    data: dict[str, Any],
    actor: str,
    check_application: ApplicationCheck | None = None,
    attachments: Attachments | None = None,
) -> Completion:
    """The SOP's rules for the step, then the runtime, with form data already validated (also the retry
    of an incident: the data it was completed with, as the officer who did). A ``StepFailed`` carries
    the task, the data and the actor, so that the caller can record it as an incident."""
    try:
        workflow_data = _apply_step_rules(session, row, data, actor, check_application, attachments)
        return Completion(row, instances.complete(session, row, workflow_data, actor))
    except instances.StepFailed as failure:
        failure.task_id, failure.payload, failure.actor = row.id, data, actor
        raise


def _apply_step_rules(
    session: Session,
    row: TaskRow,
    data: dict[str, Any],
    actor: str,
    check_application: ApplicationCheck | None,
    attachments: Attachments | None,
) -> dict[str, Any]:
    """What the SOP adds to completing this step; returns the data for the workflow."""
    workflow_data = dict(data)
    if row.form_key == handover.FORM:
        return handover.record(session, row, data, actor, attachments)
    if attachments is not None and attachments.uploads:
        raise InvalidData("Berkas tidak diterima.", {u.kind: [handover.UNEXPECTED_FILE] for u in attachments.uploads})
    if row.form_key == "verification":
        verification.require_override(
            session, row.instance.application, data, actor=actor, task_id=row.id, step=row.step, lane=row.lane
        )
    elif row.form_key == "printing":
        card_number = (data.get("card_number") or "").strip()
        if data.get("decision") == "issued" and card_number:
            row.instance.application.card_number = card_number  # on the office's distribution recap
    elif row.form_key == ARRIVAL_FORM:
        _record_arrival(session, row, data, actor)
    elif row.form_key == "correction":
        if check_application is None:
            raise TypeError("a correction is checked like a submission: give check_application")
        app = row.instance.application
        before = {section: dict(getattr(app, section) or {}) for section in PERSONAL_SECTIONS}
        corrected = {
            section: {**getattr(app, section), **(workflow_data.pop(section, None) or {})}
            for section in PERSONAL_SECTIONS
        }
        checked = check_application(corrected)
        rule = rules.for_instance(row.instance, checked["child_age"])
        _apply_correction(session, row, checked, rule)
        corrections.record_answer(session, row, data.get("response") or "", before, checked, actor)
        workflow_data.update(child_age=checked["child_age"], kia_kind=rule.kind, photo_required=rule.photo_required)
    return workflow_data


def _apply_correction(session: Session, row: TaskRow, checked: dict[str, Any], rule: rules.KiaRule) -> None:
    """The corrected application, checked like a submission: its data, KIA kind, NIK warnings and routing
    as they are computed now; the kind and the photo rule by the application's own version's table (a
    child found to be 5 or older needs the photo)."""
    app = row.instance.application
    if rule.photo_required and not session.scalar(
        select(Document.id).where(Document.application_id == app.id, Document.kind == "photo").limit(1)
    ):
        raise InvalidData("Dokumen belum lengkap.", {"photo": [rules.PHOTO_REQUIRED]})
    if session.get(Kecamatan, checked["child"]["kecamatan"]) is None:
        raise InvalidData("Data tidak sah.", {"child": {"kecamatan": ["Kecamatan tidak dikenal."]}})
    app.applicant, app.child = checked["applicant"], checked["child"]
    app.warnings = {**(app.warnings or {}), "nik": checked.get("warnings", [])}
    now = clock.now()
    if rule.kind != app.kia_kind:
        record(session, row.instance, "kind_changed", actor="sistem", at=now, kia_kind=rule.kind)
        app.kia_kind = rule.kind
    route = routing.domicile(session, app.child)
    if route.kecamatan != row.instance.kecamatan:
        row.instance.kecamatan = route.kecamatan
        record(session, row.instance, "routed", actor="sistem", at=now, kecamatan=route.kecamatan, source=route.source)


def _record_arrival(session: Session, row: TaskRow, data: dict[str, Any], actor: str) -> None:
    """The card's line in its latest batch takes the arrival step's outcome (a card sent again after it
    went missing arrives on the same line)."""
    item = session.scalar(
        select(DistributionItem)
        .where(DistributionItem.application_id == row.instance.application.id)
        .order_by(DistributionItem.id.desc())
        .limit(1)
    )
    if item is not None:
        item.arrival = ArrivalState(data["decision"]).value
        item.arrival_at = clock.now()
        item.arrival_by = actor
        item.arrival_note = (data.get("note") or "").strip() or None
