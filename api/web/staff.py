"""Staff pages: sign-in, the inbox, the task page (claim, release, hold, resume, complete), Dafdud's bulk
grouping and the application page with its diagram and control card."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

import forms
from engine.kia import applications, arrival, corrections, handover
from engine.kia.access import can_act_on_task, lanes_of, may_see_population_records, staff_lanes
from engine.kia.completion import ARRIVAL_FORM
from engine.kia.documents import UploadRefused
from engine.models import Kecamatan, TaskRow, TaskRowState, User
from engine.reports.control_card import control_card, duration_label
from engine.workflow import holds
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData

from ..applications import application_detail
from ..auth import sign_in_staff
from ..errors import ApiError
from ..extensions import db
from ..schemas import HoldRequest, TaskDetail
from ..tasks import (
    INBOX_SORTS,
    attachments_of,
    claim_task,
    complete_task,
    hold_task,
    inbox_page,
    release_task,
    resume_task,
    task_detail,
)
from . import formdata, public, session
from .blueprint import blp, principal, safe_next, staff_page
from .filters import lane_name

PAGE_SIZE = 50  # tasks per inbox page
SORT_LABELS = {"due": "Batas waktu terdekat", "ready": "Waktu masuk (terlama dulu)", "kecamatan": "Kecamatan"}
PAPERS = (("documents.control_card", "Kartu kendali (PDF)"), ("documents.receipt", "Resi (PDF)"))
HANDOVER_RECEIPT = ("documents.handover_receipt", "Tanda terima penyerahan KIA (PDF)")
HANDOVER_UPLOADS = ((handover.PROXY_LETTER, "Surat kuasa (PDF, JPEG atau PNG)"),)
HANDOVER_UPLOADS_TITLE = "Surat kuasa (wajib bila KIA diambil oleh kuasa)"
TASK_KEYS = set(TaskDetail().fields)  # what the task page shows in place; other keys are extras


def home_of(who: Any) -> str:
    roles = who.roles
    if lanes_of(who):
        return url_for("web.inbox")
    if "owner" in roles:
        return url_for("web.modeler")
    return url_for("web.dashboard_page")


@blp.route("/")
def index() -> Any:
    """The officer's own start page; anyone else (an applicant, a visitor) gets the public front door."""
    who = principal()
    if who is None or not who.is_staff:
        return public.front_door()
    return redirect(home_of(who))


@blp.route("/masuk", methods=["GET", "POST"])
def sign_in() -> Any:
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        try:
            user = sign_in_staff(username, request.form.get("password") or "")
        except ApiError as exc:
            return render_template("web/sign_in.html", error=exc.message, username=username), exc.status, exc.headers
        session.sign_in_staff(user)
        db.session.commit()
        if user.must_change_password:
            return redirect(url_for("web.own_password"))
        return redirect(safe_next(request.args.get("next"), url_for("web.index")))
    return render_template("web/sign_in.html", error=None, username=username)


@blp.route("/keluar", methods=["POST"])
def sign_out() -> Any:
    session.sign_out()
    return redirect(url_for("web.sign_in"))


@blp.route("/petugas/tugas")
@staff_page()
def inbox() -> Any:
    who = principal()
    loaded_at = clock.now()  # before the queries: a task arriving meanwhile counts as new, never as missed
    filters = {
        "lane": request.args.get("lane") or None,
        "kecamatan": request.args.get("kecamatan") or None,
        "overdue": "1" if request.args.get("overdue") else None,
        "q": " ".join((request.args.get("q") or "").split())[:100] or None,
        "sort": request.args.get("sort") if request.args.get("sort") in INBOX_SORTS else None,
    }
    page = _page_number(request.args.get("page"))

    def fetch(number: int) -> tuple[list[Any], int]:
        rows, total = inbox_page(
            who,
            filters["lane"],
            TaskRowState.OPEN,
            True if filters["overdue"] else None,
            filters["kecamatan"],
            q=filters["q"],
            sort=filters["sort"] or "due",
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        return rows, total or 0

    rows, total = fetch(page)
    last = max(1, -(-total // PAGE_SIZE))
    if page > last:  # past the end (the inbox shrank, or a hand-typed number): the last page
        page = last
        rows, total = fetch(page)
    mine = lanes_of(who)
    lanes = [lane for lane in staff_lanes(who.lanes) if lane in mine or "supervisor" in who.roles]
    kecamatan_names = {k.code: k.name for k in db.session.scalars(select(Kecamatan).order_by(Kecamatan.code))}
    tasks = [
        {"row": row, "code": code, "child_name": child.get("name"), "actionable": can_act_on_task(who, row)}
        for row, code, child in rows
    ]
    groupable = [t for t in tasks if t["row"].form_key == "grouping" and t["actionable"]]
    kept = {k: v for k, v in filters.items() if v}

    def page_url(number: int) -> str:
        return url_for("web.inbox", **kept, **({"page": number} if number > 1 else {}))

    poll = {k: v for k, v in kept.items() if k in {"lane", "kecamatan", "overdue", "q"}}
    return render_template(
        "web/inbox.html",
        tasks=tasks,
        lanes=lanes,
        lane=filters["lane"],
        kecamatan=filters["kecamatan"],
        overdue=filters["overdue"],
        q=filters["q"] or "",
        sort=filters["sort"] or "due",
        sorts=SORT_LABELS,
        kecamatan_names=kecamatan_names,
        groupable=groupable,
        who=who,
        total=total,
        page=page,
        last=last,
        first_shown=(page - 1) * PAGE_SIZE + 1 if tasks else 0,
        last_shown=(page - 1) * PAGE_SIZE + len(tasks),
        page_url=page_url,
        new_tasks_url=url_for("tasks.TaskCollection", **poll, since=loaded_at.isoformat(), limit=1),
        reload_url=url_for("web.inbox", **{k: v for k, v in kept.items() if k != "page"}),
    )


def _page_number(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or 1)), 1_000_000)
    except ValueError:
        return 1


def next_task_for(who: Any, lane: str) -> TaskRow | None:
    """The next open task of ``lane`` the officer may take up (free or already theirs, not on hold), in
    inbox order."""
    rows, _ = inbox_page(who, lane, limit=PAGE_SIZE, with_total=False)
    return next(
        (
            row
            for row, _, _ in rows
            if can_act_on_task(who, row) and row.claimed_by in (None, who.name) and row.held_at is None
        ),
        None,
    )


def _render_task(
    task_id: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    hold_errors: list[str] | None = None,
) -> Any:
    who = principal()
    detail = task_detail(task_id)
    row = db.session.get_one(TaskRow, task_id)
    actionable = detail["state"] == TaskRowState.OPEN and can_act_on_task(who, row)
    extras = {k: v for k, v in detail.items() if k not in TASK_KEYS}
    held = None
    if row.held_at is not None:
        holder = db.session.scalar(select(User).where(User.username == row.held_by))
        held = {
            "at": row.held_at,
            "by": holder.full_name if holder else row.held_by,
            "reason": row.hold_reason,
            "so_far": duration_label(holds.current_hold(row)),
        }
    return render_template(
        "web/task.html",
        evidence=_evidence(detail) if detail["form_key"] == "verification" else None,
        answer=detail.get("correction_answer"),
        task=detail,
        app=detail["application"],
        fields=formdata.task_fields(row.instance.process_version, row.form_key),
        values=values or {},
        errors=errors or {},
        actionable=actionable,
        who=who,
        extras=extras,
        mine=detail["claimed_by"] == who.name,
        free=detail["claimed_by"] is None,
        labels=_field_titles(),
        held=held,
        hold_errors=hold_errors or [],
        hold_reason=(values or {}).get("reason", "") if hold_errors else "",
        handover=_handover_form(row) if detail["form_key"] == handover.FORM else None,
        batch=arrival.batch_of(db.session, row) if detail["form_key"] == ARRIVAL_FORM else None,
    ), status


def _handover_form(row: TaskRow) -> dict[str, Any]:
    """What the hand-over form adds on its page: the card number printed, the proxy letter's upload."""
    return {
        "card_number": row.instance.application.card_number,
        "uploads": HANDOVER_UPLOADS,
        "uploads_title": HANDOVER_UPLOADS_TITLE,
    }


def _evidence(detail: dict[str, Any]) -> dict[str, Any]:
    """The verification page's evidence: the entry field by field with the population record beside a
    field that disagrees (when the officer may see the records), the fields the applicant changed in the
    answer that brought the file back, and the documents (the newest of each kind to preview, older ones
    as links)."""
    shown = detail["application"]
    comparison = detail.get("verification") or {}
    checks = {corrections.COMPARED_FIELDS[f["field"]]: f for f in comparison.get("fields", [])}
    changed = {c["field"]: c for c in (detail.get("correction_answer") or {}).get("changes", [])}
    sections = []
    for section, title in (("child", "Anak"), ("applicant", "Pemohon")):
        rows = []
        for key, value in (shown.get(section) or {}).items():
            name = f"{section}.{key}"
            check = checks.get(name)
            record = check.get("record") if check else None
            rows.append(
                {
                    "field": name,
                    "label": corrections.label(name),
                    "text": corrections.display_value(name, value),
                    "result": check["result"] if check else None,
                    "record": corrections.display_value(name, record) if record is not None else None,
                    "changed": changed.get(name),
                }
            )
        sections.append({"title": title, "rows": rows})
    documents = shown.get("documents") or []
    newest = {d["kind"]: d["id"] for d in documents}  # ordered by id: the newest of a kind wins
    code = detail["application_code"]
    return {
        "sections": sections,
        "documents": [
            {
                **d,
                "url": url_for("applications.document", code=code, document_id=d["id"]),
                "current": newest[d["kind"]] == d["id"],
                "image": d["media_type"].startswith("image/"),
            }
            for d in documents
        ],
    }


def _field_titles() -> dict[str, dict[str, str]]:
    schema = forms.form_json_schema(forms.ApplicationForm)["properties"]
    return {
        section: {k: v.get("title", k) for k, v in schema[section]["properties"].items()}
        for section in ("applicant", "child")
    }


@blp.route("/petugas/tugas/<task_id>")
@staff_page()
def task(task_id: str) -> Any:
    return _render_task(task_id)


@blp.route("/petugas/tugas/<task_id>/ambil", methods=["POST"])
@staff_page()
def claim(task_id: str) -> Any:
    claim_task(task_id)
    flash("Tugas diambil; Anda yang mengerjakannya sekarang.", "ok")
    return redirect(url_for("web.task", task_id=task_id))


@blp.route("/petugas/tugas/<task_id>/lepas", methods=["POST"])
@staff_page()
def release(task_id: str) -> Any:
    release_task(task_id)
    flash("Tugas dilepas dan kembali ke kotak masuk.", "ok")
    return redirect(url_for("web.inbox"))


@blp.route("/petugas/tugas/<task_id>/tunda", methods=["POST"])
@staff_page()
def hold(task_id: str) -> Any:
    """Put the task on hold for an office problem (its reason asked, as the API asks it)."""
    try:
        reason = HoldRequest().load({"reason": request.form.get("reason") or ""})["reason"]
    except ValidationError as exc:
        messages = exc.normalized_messages().get("reason", [])
        return _render_task(task_id, {"reason": request.form.get("reason") or ""}, status=422, hold_errors=messages)
    row = hold_task(task_id, reason)
    flash(f"Tugas \u201c{row.title}\u201d ditunda: {row.hold_reason}. Waktunya berhenti sampai dilanjutkan.", "ok")
    return redirect(url_for("web.task", task_id=task_id))


@blp.route("/petugas/tugas/<task_id>/lanjutkan", methods=["POST"])
@staff_page()
def resume(task_id: str) -> Any:
    row = resume_task(task_id)
    flash(f"Tugas \u201c{row.title}\u201d dilanjutkan; batas waktunya bergeser sesuai lama ditunda.", "ok")
    return redirect(url_for("web.task", task_id=task_id))


@blp.route("/petugas/tugas/<task_id>/selesaikan", methods=["POST"])
@staff_page()
def complete(task_id: str) -> Any:
    task_detail(task_id)  # 404 and 403 as the page itself
    row = db.session.get_one(TaskRow, task_id)
    raw = formdata.task_data(row.instance.process_version, row.form_key, request.form)
    try:
        row = complete_task(task_id, raw, attachments_of(request.files.items(multi=True))).task
    except (forms.FormValidationError, InvalidData, UploadRefused) as exc:
        # InvalidData: an override without its reason, a recipient not in the KK; UploadRefused: a letter
        # that is no PDF, JPEG or PNG, or too large
        db.session.rollback()
        return _render_task(task_id, formdata.posted(request.form), formdata.flat_errors(exc.fields), 422)
    flash(f"Tugas \u201c{row.title}\u201d untuk {row.instance.business_key} selesai.", "ok")
    if row.form_key == handover.FORM and not request.form.get("next"):  # the tanda terima, to print now
        flash("KIA sudah diserahkan: cetak tanda terima penyerahan untuk ditandatangani petugas dan penerima.", "ok")
        return redirect(url_for("web.application", code=row.instance.business_key, _anchor="control-card"))
    if request.form.get("next"):
        following = next_task_for(principal(), row.lane)
        if following is not None:
            return redirect(url_for("web.task", task_id=following.id))
        flash(f"Tidak ada tugas terbuka lagi di bagian {lane_name(row.lane)}.", "ok")
        return redirect(url_for("web.inbox", lane=row.lane))
    return redirect(url_for("web.inbox"))


@blp.route("/petugas/permohonan/<code>")
@staff_page()
def application(code: str) -> Any:
    detail = application_detail(code)  # the API's view, with its access check
    app_row = applications.by_code(db.session, code)
    instance = app_row.instance
    rows = list(
        db.session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id).order_by(TaskRow.ready_at))
    )
    events = detail["history"]
    marks = {
        "done": sorted({e["step"] for e in events if e["step"] and e["kind"] in {"completed", "milestone"}}),
        "current": sorted({r.step for r in rows if r.state == TaskRowState.OPEN}),
        "overdue": sorted({r.step for r in rows if r.overdue or r.escalations}),
    }
    kec = db.session.get(Kecamatan, detail["kecamatan"] or "")
    papers = [(endpoint, label) for endpoint, label in PAPERS if endpoint in current_app.view_functions]
    if handover.of_application(db.session, app_row) is not None:
        papers.append(HANDOVER_RECEIPT)
    return render_template(
        "web/application.html",
        app=detail,
        card=control_card(db.session, instance, may_see_population_records(principal(), app_row)),
        marks=marks,
        kec=kec,
        papers=papers,
        labels=_field_titles(),
        bpmn_url=url_for(
            "processes.ProcessDiagram", key=instance.process_version.process_key, version=detail["process_version"]
        ),
    )
