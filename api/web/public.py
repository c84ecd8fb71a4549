"""The applicant's pages: the front door (``/`` for anyone without a staff session: what KIA is, that it is
free, how to apply by WhatsApp, a box for the application code), the code box at ``/status``, and the status
page (the receipt's QR target): mobile-first, public with the code, rate limited; with the PIN the applicant
sees the officers' notes, completes the correction there and opens the receipt."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for

import forms
from engine.kia import applications, corrections, documents
from engine.kia.applications import Upload
from engine.kia.security import normalize_code
from engine.reports import estimates
from engine.workflow.errors import InvalidData, NotFound

from .. import ratelimit
from ..auth import PIN_SENT, reissue_pin, sign_in_applicant
from ..errors import ApiError
from ..extensions import db
from ..tasks import complete_task
from ..views import correction_form
from . import formdata, session
from .blueprint import blp, principal
from .filters import DOCUMENT_KINDS

CODE_FORMAT = (
    "Kode permohonan terdiri dari 12 huruf dan angka, mis. ABCD-EFGH-JKMN (tanda hubung boleh diketik atau tidak)."
)
CODE_UNKNOWN = "Kode permohonan tidak ditemukan. Periksa kembali kode pada resi atau pesan WhatsApp Anda."


def whatsapp_link(number: str) -> str | None:
    """``0811 7600 1234`` -> ``https://wa.me/6281176001234`` (the chat link); None without a number."""
    digits = re.sub(r"\D", "", number)
    if not digits:
        return None
    return f"https://wa.me/62{digits[1:]}" if digits.startswith("0") else f"https://wa.me/{digits}"


def front_door() -> Any:
    """The public page at ``/``: nothing personal on it, only the service and the code box."""
    number = current_app.config["WHATSAPP_PUBLIC_NUMBER"]
    return render_template("web/home.html", whatsapp=number, whatsapp_url=whatsapp_link(number), code="", error=None)


def _lookup_page(code: str, error: str | None, status: int) -> Any:
    return render_template("web/lookup.html", code=code, error=error), status


@blp.route("/status", strict_slashes=False)
def status_lookup() -> Any:
    """The code box; a code typed in it (any case, with or without dashes or spaces) opens its status page."""
    raw = request.args.get("kode")
    if raw is None:
        return _lookup_page("", None, 200)
    code = normalize_code(raw.strip())
    if code is None:
        return _lookup_page(raw.strip()[:40], CODE_FORMAT, 422)
    return redirect(url_for("web.status", code=code))


def _render(
    code: str, values: dict | None = None, errors: dict | None = None, pin_error: str | None = None, status: int = 200
) -> Any:
    ratelimit.limit("status", current_app.config["STATUS_RATE_LIMIT"])
    try:
        app = applications.by_code(db.session, code)
    except NotFound:
        return _lookup_page(code[:40], CODE_UNKNOWN if normalize_code(code) else CODE_FORMAT, 404)
    who = principal()
    full = who is not None and who.application_id == app.id
    view = applications.status_view(db.session, app, full=full)
    version = app.instance.process_version
    task_forms = [(t, formdata.task_fields(version, t["form_key"])) for t in view.get("tasks", [])]
    expected = estimates.expected_completion(db.session, app.instance)
    # the correction opens with the officer's request and what the applicant entered (never the records)
    correcting = full and any(t["form_key"] == "correction" for t, _ in task_forms)
    prefill = correction_form(db.session, app) if correcting else None
    if prefill is not None and values is None:
        values = {k: v for k, v in corrections.entry_fields(prefill["values"]).items() if v not in (None, "")}
    return render_template(
        "web/status.html",
        view=view,
        full=full,
        task_forms=task_forms,
        expected=expected,
        values=values or {},
        errors=errors or {},
        pin_error=pin_error,
        request_info=prefill["request"] if prefill else None,
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
    raw = formdata.task_data(app.instance.process_version, row["form_key"], request.form)
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
    except (forms.FormValidationError, InvalidData) as exc:  # InvalidData: an owner's form, a missing photo
        db.session.rollback()
        return _render(app.code, formdata.posted(request.form), formdata.flat_errors(exc.fields), status=422)
    except (documents.UnsupportedMediaType, documents.TooLarge) as exc:
        db.session.rollback()
        message = {"documents": [exc.message], "": [exc.message]}
        return _render(app.code, formdata.posted(request.form), message, status=422)
    flash("Perbaikan terkirim. Petugas akan memeriksa kembali permohonan Anda.", "ok")
    return redirect(url_for("web.status", code=app.code))
