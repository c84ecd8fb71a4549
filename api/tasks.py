"""The inbox: list, read, claim, unclaim, hold, resume and complete user tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import lazyload
from sqlalchemy.sql.util import ClauseAdapter

import forms
from engine.kia import applications, completion, corrections, reference
from engine.kia.access import Principal, can_view_task, lanes_of, may_see_population_records, require_task_action
from engine.kia.applications import Attachments, Upload
from engine.kia.completion import Completion
from engine.models import Application, TaskRow, TaskRowState
from engine.workflow import definitions, holds, incidents, instances
from engine.workflow.errors import Forbidden
from engine.workflow.instances import StepFailed

from .auth import current_principal
from .errors import ApiError
from .extensions import db
from .http import Blueprint, json_loads, json_object
from .schemas import CompleteResponse, HoldRequest, TaskDetail, TaskList, TaskListQuery, TaskSchema
from .views import correction_form, history_view, shown_task, task_values, verification_view

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Staff inboxes and task actions")

COMPLETE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "the task's form data (see the form's JSON Schema in the task detail)",
                "additionalProperties": True,
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {"type": "string", "description": "JSON: the task's form data"},
                    "proxy_letter": {
                        "type": "string",
                        "format": "binary",
                        "description": "the hand-over to a proxy (recipient_relationship 'kuasa'): the proxy "
                        "letter, PDF, JPEG or PNG",
                    },
                },
            }
        },
    },
}
MAX_FIELD_NAME = 32  # a file's form field name, as an error names it back


def inbox_filter(
    principal: Principal,
    lane: str | None = None,
    state: str = TaskRowState.OPEN,
    overdue: bool | None = None,
    kecamatan: str | None = None,
    *,
    q: str | None = None,
    since: datetime | None = None,
) -> list[Any]:
    """The conditions on ``tasks`` that make up the caller's inbox. Only columns of the inbox index
    (``ix_tasks_inbox_cover``), so that counting and ordering read the index alone; a search ``q`` (staff
    only: 403 for an applicant) adds its condition (``applications.matching``: a name fragment on the open
    tasks' own words, read from ``ix_tasks_open_search``; a code or a NIK a semi-join on ``applications``).
    ``since``: tasks that arrived after it (the page's "new files" count). The state is written into the
    statement, not bound, so that PostgreSQL plans with the partial index of the open tasks."""
    conditions: list[Any] = [TaskRow.state == bindparam("task_state", state, literal_execute=True)]
    if principal.user is None:
        conditions += [TaskRow.instance_id == principal.instance_id, TaskRow.lane == "applicant"]
    elif "supervisor" not in principal.roles:
        lanes = lanes_of(principal)
        conditions.append(TaskRow.lane.in_(sorted(lanes)))
        scoped = sorted(lanes & principal.lanes.scoped)  # kecamatan-scoped lanes: the officer's kecamatan only
        if scoped:
            conditions.append(or_(TaskRow.lane.not_in(scoped), TaskRow.kecamatan == principal.user.kecamatan))
    if lane:
        conditions.append(TaskRow.lane == lane)
    if overdue is not None:
        conditions.append(TaskRow.overdue.is_(overdue))
    if kecamatan:
        conditions.append(TaskRow.kecamatan == kecamatan)
    if since is not None:
        conditions.append(TaskRow.ready_at > since)
    if q:
        if not principal.is_staff:
            raise Forbidden("Pencarian hanya untuk petugas.")
        conditions.append(applications.matching(q))
    return conditions


# Deterministic orders (the task id last), so that pages never repeat or skip a task.
# Steps without a deadline last (NULLS LAST, which is PostgreSQL's own order of an ascending index, so
# that ``ix_tasks_due_order`` gives a deep page of the whole list without sorting it).
INBOX_SORTS: dict[str, tuple[Any, ...]] = {
    "due": (TaskRow.due_at.asc().nulls_last(), TaskRow.ready_at.asc(), TaskRow.id.asc()),  # deadline pressure
    "ready": (TaskRow.ready_at.asc(), TaskRow.id.asc()),  # arrival, oldest first
    "kecamatan": (
        TaskRow.kecamatan.asc().nulls_last(),
        TaskRow.due_at.asc().nulls_last(),
        TaskRow.ready_at.asc(),
        TaskRow.id.asc(),
    ),
}
INBOX_ORDER = INBOX_SORTS["due"]
SORT_COLUMNS = (TaskRow.due_at, TaskRow.ready_at, TaskRow.kecamatan)  # what the orders above read


def inbox_page(
    principal: Principal,
    lane: str | None = None,
    state: str = TaskRowState.OPEN,
    overdue: bool | None = None,
    kecamatan: str | None = None,
    *,
    q: str | None = None,
    since: datetime | None = None,
    sort: str = "due",
    limit: int = 50,
    offset: int = 0,
    with_total: bool = True,
) -> tuple[list[Any], int | None]:
    """One page of the caller's inbox in the order ``sort`` (``INBOX_SORTS``; most pressing deadline
    first by default): ``(rows of (TaskRow, code, child), total)``. The API and the staff page both call
    it. Without ``q`` the count and the page's ids come from the inbox index alone (no join, no task rows
    read); only the page's rows are then read with their application."""
    conditions = inbox_filter(principal, lane, state, overdue, kecamatan, q=q, since=since)
    order = INBOX_SORTS[sort]
    page_ids = select(TaskRow.id).where(*conditions).order_by(*order).limit(limit).offset(offset)
    if q and with_total:  # a search: the matching open tasks found once, then counted and paged
        found = select(TaskRow.id, *SORT_COLUMNS).where(*conditions).cte("found").prefix_with("MATERIALIZED")
        in_found = ClauseAdapter(found)
        page_of_found = (
            select(found.c.id, func.count().over())
            .order_by(*(in_found.traverse(column) for column in order))
            .limit(limit)
            .offset(offset)
        )
        rows_found = db.session.execute(page_of_found).all()
        total = rows_found[0][1] if rows_found else _count(conditions)  # past the last page: the count alone
        page = TaskRow.id.in_([task_id for task_id, _ in rows_found])
    else:
        total = _count(conditions) if with_total else None
        page = TaskRow.id.in_(page_ids.scalar_subquery())
    rows = db.session.execute(
        select(TaskRow, Application.code, Application.child)
        .join(Application, Application.instance_id == TaskRow.instance_id)
        .where(page)
        .order_by(*order)
        .options(lazyload(TaskRow.instance))
    ).all()  # the page needs no instance (nor its state) per row
    return rows, total


def _count(conditions: list[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskRow).where(*conditions)) or 0


@blp.route("")
class TaskCollection(MethodView):
    @blp.arguments(TaskListQuery, location="query")
    @blp.response(200, TaskList)
    @blp.errors(401, 403)
    def get(self, args: dict) -> dict:
        """The caller's inbox: open tasks of the lanes they hold (of a lane scoped by kecamatan: their
        kecamatan's only), one page of ``limit`` from ``offset`` with the ``total``. ``q`` (staff only)
        finds an application by its code (with or without dashes), the child's NIK (16 digits, exact) or a
        fragment of the child's or the applicant's name; ``since`` counts the tasks that arrived after a
        moment (``total``)."""
        rows, total = inbox_page(
            current_principal(),
            args.get("lane"),
            args["state"],
            args.get("overdue"),
            args.get("kecamatan"),
            q=args.get("q"),
            since=args.get("since"),
            sort=args["sort"],
            limit=args["limit"],
            offset=args["offset"],
        )
        return {"items": [task_values(row, code, child.get("name")) for row, code, child in rows], "total": total}


def visible_task(task_id: str) -> tuple[Principal, TaskRow]:
    principal = current_principal()
    row = instances.get_task(db.session, task_id)
    if not can_view_task(principal, row):
        raise Forbidden("Tugas ini bukan untuk bagian Anda.")
    return principal, row


@blp.route("/<task_id>")
class TaskItem(MethodView):
    @blp.response(200, TaskDetail)
    @blp.errors(401, 403, 404)
    def get(self, task_id: str) -> dict:
        """One task with its form's JSON Schema and the application data it shows."""
        return task_detail(task_id)


def task_detail(task_id: str) -> dict[str, Any]:
    """A task as the caller may see it: the task, its form's JSON Schema, the application and history."""
    principal, row = visible_task(task_id)
    app = row.instance.application
    records = may_see_population_records(principal, app)
    shown: dict[str, Any] = applications.status_view(db.session, app, full=True)
    if principal.is_staff:
        shown.update(
            applicant=app.applicant,
            child=app.child,
            warnings=app.warnings,
            documents=[{"id": d.id, "kind": d.kind, "media_type": d.media_type} for d in app.documents],
        )
    detail = {
        **shown_task(row),
        **task_form(row),
        "application": shown,
        "history": [
            {
                "kind": e["kind"],
                "step": e["step"],
                "actor": e["actor"],
                "at": e["at"].isoformat(),
                **({"summary": e["summary"]} if e["summary"] else {}),
            }
            for e in history_view(db.session, row.instance_id, records)
        ],
    }
    if row.form_key == "verification":
        if records:
            detail["verification"] = verification_view(db.session, app)
        if principal.is_staff:
            detail["correction_answer"] = corrections.latest_answer(db.session, row)
    elif row.form_key == "correction":
        detail["correction"] = correction_form(db.session, app)
    return detail


def task_form(row: TaskRow) -> dict[str, Any]:
    """The form a task names, for a client to draw: a form deployed with the task's version (``form`` its
    form-js JSON, ``form_schema`` its JSON Schema), or a built-in one (both its JSON Schema, as before)."""
    owner = definitions.owner_form(row.instance.process_version, row.form_key)
    if owner is not None:
        return {"form_type": "owner", "form": dict(owner.document), "form_schema": owner.json_schema(row.title)}
    schema = forms.form_json_schema(row.form_key)
    return {"form_type": "builtin", "form": schema, "form_schema": schema}


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, task_id: str) -> TaskRow:
        """Claim an open task of one's lane."""
        return claim_task(task_id)


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @blp.response(200, TaskSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, task_id: str) -> TaskRow:
        """Release a claimed task (the claimant, or a supervisor)."""
        return release_task(task_id)


@blp.route("/<task_id>/hold")
class Hold(MethodView):
    @blp.arguments(HoldRequest)
    @blp.response(200, TaskSchema)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, args: dict, task_id: str) -> TaskRow:
        """Put an open task of one's lane on hold for an office problem ("tunda", e.g. no blank cards):
        its time standard's clock stops (no escalation) until it is resumed, and it cannot be completed
        meanwhile. The applicant is not told. 409 when already held or claimed by another."""
        return hold_task(task_id, args["reason"])


@blp.route("/<task_id>/resume")
class Resume(MethodView):
    @blp.response(200, TaskSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, task_id: str) -> TaskRow:
        """Resume a held task: its deadline (and its escalations) move by the held time, counted in the
        step's basis (working time for a working-time standard). 409 when it is not held."""
        return resume_task(task_id)


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @blp.doc(requestBody=COMPLETE_BODY)
    @blp.response(200, CompleteResponse)
    @blp.errors(400, 401, 403, 404, 409, 413, 415, 422)
    def post(self, task_id: str) -> dict:
        """Complete a task with its form data (JSON, or multipart with the data as JSON in ``data`` and the
        step's files: the hand-over's ``proxy_letter``); returns the tasks it opened. 409 if no longer open."""
        raw, attachments = completion_body()
        done = complete_task(task_id, raw, attachments)
        return {
            "completed": done.task,
            "next_tasks": done.next_tasks,
            "status": done.status,
        }


def claim_task(task_id: str) -> TaskRow:
    """The caller claims an open task of their lane (committed)."""
    principal, row = visible_task(task_id)
    require_task_action(principal, row)
    row = instances.claim(db.session, task_id, principal.name)
    db.session.commit()
    return row


def release_task(task_id: str) -> TaskRow:
    """The claimant (or a supervisor) releases a task (committed)."""
    principal, row = visible_task(task_id)
    force = "supervisor" in principal.roles
    if not force:
        require_task_action(principal, row)
    row = instances.unclaim(db.session, task_id, principal.name, force=force)
    db.session.commit()
    return row


def hold_task(task_id: str, reason: str) -> TaskRow:
    """The caller puts a task of their lane on hold (committed)."""
    principal, row = _actionable(task_id)
    row = holds.hold(db.session, row, principal.name, reason)
    db.session.commit()
    return row


def resume_task(task_id: str) -> TaskRow:
    """The caller resumes a held task of their lane (committed)."""
    principal, row = _actionable(task_id)
    row = holds.resume(db.session, row, principal.name)
    db.session.commit()
    return row


def _actionable(task_id: str) -> tuple[Principal, TaskRow]:
    """A task the caller, an officer, may act on (403 for an applicant and for another lane or kecamatan)."""
    principal, row = visible_task(task_id)
    if not principal.is_staff:
        raise Forbidden("Hanya petugas yang dapat menunda atau melanjutkan tugas.")
    require_task_action(principal, row)
    return principal, row


def completion_body() -> tuple[dict[str, Any], Attachments | None]:
    """A completion's form data and files: a JSON object, or multipart with the JSON in ``data`` and the
    files (each read up to one byte past the upload limit, which the documents' check then refuses)."""
    if request.mimetype != "multipart/form-data":
        return json_object(), None
    raw = json_loads(request.form.get("data") or "null")
    if not isinstance(raw, dict):
        raise ApiError(400, "bad_request", "Bagian 'data' harus berupa objek JSON.")
    return raw, attachments_of(request.files.items(multi=True))


def attachments_of(files: Any) -> Attachments:
    """Uploaded files (form field name, file) as a completion's attachments; empty file inputs left out."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    uploads = tuple(Upload(name[:MAX_FIELD_NAME], upload.read(limit + 1)) for name, upload in files if upload.filename)
    return Attachments(uploads, current_app.config["DOCUMENT_DIR"], limit)


def complete_task(task_id: str, raw: dict[str, Any], attachments: Attachments | None = None) -> Completion:
    """Complete a task as the caller with its form data ``raw`` and files (committed): the one use case."""
    principal = current_principal()
    return _completing(
        lambda check: completion.complete_task(
            db.session, principal, task_id, raw, forms.load_form, check_application=check, attachments=attachments
        ),
        principal.name,
        "completed",
    )


def retry_completion(row: TaskRow, data: dict[str, Any], actor: str, retried_by: str) -> Completion:
    """Complete ``row`` again with the data it failed with, as ``actor`` (an incident's retry; committed)."""
    return _completing(
        lambda check: completion.complete_validated(db.session, row, data, actor, check), retried_by, "retried"
    )


def _completing(run: Callable[[completion.ApplicationCheck], Completion], resolved_by: str, how: str) -> Completion:
    """Run a completion and commit. When the diagram fails at run time (``StepFailed``), nothing of the
    step is kept: the failure is recorded as an incident in a transaction of its own and ``StepFailed``
    (409, naming the incident) goes on to the caller. A completion that succeeds resolves the task's open
    incident."""
    check = forms.application_check(lambda: reference.known_region_codes(db.session))
    try:
        done = run(check)
    except StepFailed as failure:
        db.session.rollback()
        if failure.task_id is not None:
            row = instances.get_task(db.session, failure.task_id)
            incidents.record_task_failure(db.session, row, failure.payload or {}, failure.actor or resolved_by, failure)
            db.session.commit()
        raise
    for incident in incidents.open_task_incidents(db.session, done.task.id):
        incidents.resolve(db.session, incident, resolved_by, how)
    db.session.commit()
    return done
