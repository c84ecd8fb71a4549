"""The applicant's status page (the receipt's QR target): mobile-first, public with the code, rate
limited; with the PIN the applicant sees the officers' notes and completes the correction there."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for

import forms
from engine.kia import applications, documents
from engine.kia.applications import Upload
from engine.reports import estimates

from .. import ratelimit
from ..auth import PIN_SENT, reissue_pin, sign_in_applicant
from ..errors import ApiError
from ..extensions import db
from ..tasks import complete_task
from . import formdata, session
from .blueprint import blp, principal
from .filters import DOCUMENT_KINDS


def _render(
    code: str, values: dict | None = None, errors: dict | None = None, pin_error: str | None = None, status: int = 200
) -> Any:
    ratelimit.limit("status", current_app.config["STATUS_RATE_LIMIT"])
    app = applications.by_code(db.session, code)
    who = principal()
    full = who is not None and who.application_id == app.id
    view = applications.status_view(db.session, app, full=full)
    task_forms = [(t, formdata.fields_of(forms.form_json_schema(t["form_key"]))) for t in view.get("tasks", [])]
    expected = estimates.expected_completion(db.session, app.instance)
    return render_template(
        "web/status.html",
        view=view,
        full=full,
        task_forms=task_forms,
        expected=expected,
        values=values or {},
        errors=errors or {},
        pin_error=pin_error,
    ), status


@blp.route("/status/<code>")
def status(code: str) -> Any:
    return _render(code)


@blp.route("/status/<code>/pin", methods=["POST"])
def status_pin(code: str) -> Any:
    try:
        ratelimit.limit("pin", current_app.config["LOGIN_RATE_LIMIT"])
    except ApiError as exc:
        return _render(code, pin_error=exc.message, status=429)
    try:
        app = sign_in_applicant(code, (request.form.get("pin") or "").strip())
    except ApiError as exc:
        page, status = _render(code, pin_error=exc.message, status=exc.status)
        return page, status, exc.headers or {}
    session.sign_in_applicant(app)
    return redirect(url_for("web.status", code=app.code))


@blp.route("/status/<code>/pin-baru", methods=["POST"])
def status_new_pin(code: str) -> Any:
    """A new PIN to the contact given in the application; the page says only that it was sent."""
    try:
        reissue_pin(code)
    except ApiError as exc:
        page, status = _render(code, pin_error=exc.message, status=exc.status)
        return page, status, exc.headers or {}
    flash(PIN_SENT, "ok")
    return redirect(url_for("web.status", code=code))


@blp.route("/status/<code>/keluar", methods=["POST"])
def status_sign_out(code: str) -> Any:
    from flask import session as flask_session

    flask_session.pop("application_id", None)
    return redirect(url_for("web.status", code=code))


@blp.route("/status/<code>/tugas/<task_id>", methods=["POST"])
def status_task(code: str, task_id: str) -> Any:
    app = applications.by_code(db.session, code)
    who = principal()
    if who is None or who.application_id != app.id:
        return redirect(url_for("web.status", code=app.code))
    row = next((t for t in applications.status_view(db.session, app, full=True)["tasks"] if t["id"] == task_id), None)
    if row is None:
        flash("Tugas ini sudah tidak terbuka.", "error")
        return redirect(url_for("web.status", code=app.code))
    raw = formdata.from_form(forms.form_json_schema(row["form_key"]), request.form)
    max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
    uploads = [
        Upload(kind, request.files[kind].read(max_bytes + 1))
        for kind in DOCUMENT_KINDS
        if row["form_key"] == "correction" and request.files.get(kind) and request.files[kind].filename
    ]
    try:
        applications.reupload(
            db.session, app, uploads, document_dir=current_app.config["DOCUMENT_DIR"], max_bytes=max_bytes
        )
        complete_task(task_id, raw)  # one commit: the documents and the correction together
    except forms.FormValidationError as exc:
        db.session.rollback()
        return _render(app.code, dict(request.form), formdata.flat_errors(exc.fields), status=422)
    except (documents.UnsupportedMediaType, documents.TooLarge) as exc:
        db.session.rollback()
        return _render(app.code, dict(request.form), {"documents": [exc.message], "": [exc.message]}, status=422)
    flash("Perbaikan terkirim. Petugas akan memeriksa kembali permohonan Anda.", "ok")
    return redirect(url_for("web.status", code=app.code))
