"""Completing a task: the one use case behind the API, the staff pages, the bulk grouping and the
applicant's correction (web page and WhatsApp).

In order, with one fetch of the task row: the row (404), the caller's own precondition (the bulk
grouping: a grouping task), the caller may see it and act on it (403), it is still open (409), the form
data validates (422, field by field), the SOP's rules for the step (verification: a reason to override
disagreeing records; correction: changed personal data goes to the application and may re-route it),
then the runtime completes it (409 when claimed by another or lost to a concurrent completion) and
returns the tasks it opened. The caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.kia import routing, verification
from engine.kia.access import Principal, can_view_task, require_task_action
from engine.workflow import instances
from engine.workflow.clock import clock
from engine.workflow.errors import Forbidden
from engine.workflow.events import record
from engine.workflow.models import TaskRow

# (form key, raw data) -> the validated data; raises with per-field messages. The forms layer gives it
# (``forms.load_form``): the engine does not import the forms.
FormLoader = Callable[[str, Any], dict[str, Any]]
Precondition = Callable[[TaskRow], None]

PERSONAL_SECTIONS = ("applicant", "child")
ROUTING_FIELDS = frozenset({"kecamatan", "kk_number", "nik"})


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
) -> Completion:
    """Complete task ``task_id`` as ``principal`` with the form data ``raw`` (see the module's doc)."""
    row = instances.get_task(session, task_id)
    if precondition is not None:
        precondition(row)
    if not can_view_task(principal, row):
        raise Forbidden("Tugas ini bukan untuk lane Anda.")
    require_task_action(principal, row)
    instances.require_open(row)
    data = load_form(row.form_key, raw)
    workflow_data = _apply_step_rules(session, row, data, principal.name)
    return Completion(row, instances.complete(session, row, workflow_data, principal.name))


def _apply_step_rules(session: Session, row: TaskRow, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """What the SOP adds to completing this step; returns the data for the workflow."""
    workflow_data = dict(data)
    if row.form_key == "verification":
        verification.require_override(
            session, row.instance.application, data, actor=actor, task_id=row.id, step=row.step, lane=row.lane
        )
    elif row.form_key == "correction":
        app = row.instance.application
        for section in PERSONAL_SECTIONS:
            changes = workflow_data.pop(section, None) or {}
            if changes:
                setattr(app, section, {**getattr(app, section), **changes})
        if set(data.get("child") or {}) & ROUTING_FIELDS:
            route = routing.domicile(session, app.child)
            if route.kecamatan != row.instance.kecamatan:
                row.instance.kecamatan = route.kecamatan
                record(
                    session,
                    row.instance,
                    "routed",
                    actor="sistem",
                    at=clock.now(),
                    kecamatan=route.kecamatan,
                    source=route.source,
                )
    return workflow_data
