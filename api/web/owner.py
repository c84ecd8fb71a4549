"""The process owner's pages: the modeler (validate, deploy), the versions with what changed (roll back),
and the migration of running applications."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

import forms
from engine.kia.applications import PROCESS_KEY
from engine.workflow import definitions, diagram_diff
from engine.workflow import versions as process_versions
from engine.workflow.errors import DiagramRejected, InvalidData

from ..extensions import db
from ..migrations import run_migration
from ..processes import versions_with_running
from ..schemas import MigrationRequest
from .blueprint import blp, error_page, principal, staff_page


@blp.route("/pemilik/modeler")
@staff_page("owner")
def modeler() -> Any:
    key = request.args.get("proses") or PROCESS_KEY
    version = definitions.get_version(db.session, key, request.args.get("versi", type=int))
    config = {
        "process_key": key,
        "version": version.version,
        "forms": [{"key": k, "title": cls.title} for k, cls in forms.FORMS.items()],
    }
    return render_template(
        "web/modeler.html",
        config=config,
        version=version,
        bpmn_url=url_for("processes.ProcessDiagram", key=key, version=version.version),
        validate_url=url_for("processes.ProcessValidation"),
        deploy_url=url_for("processes.ProcessCollection"),
        versions_url=url_for("web.versions", proses=key),
        version_url=url_for("processes.ProcessVersionDetail", key=key, version=version.version),
        evaluate_url=url_for("decisions.DecisionEvaluation"),
    )


@blp.route("/pemilik/versi")
@staff_page("owner", "supervisor")
def versions() -> Any:
    key = request.args.get("proses") or PROCESS_KEY
    listed = [(v, running, active) for v, running, active in versions_with_running() if v.process_key == key]
    numbers = [v.version for v, _, _ in listed]
    after = request.args.get("ke", type=int) or (numbers[0] if numbers else None)
    before = request.args.get("dari", type=int) or next((n for n in numbers if after and n < after), None)
    changes, problem = [], None
    if before and after and before in numbers and after in numbers:
        by_number = {v.version: v for v, _, _ in listed}
        try:
            changes = diagram_diff.diff(by_number[before].bpmn_xml.encode(), by_number[after].bpmn_xml.encode())
        except DiagramRejected as exc:
            problem = exc.message
    return render_template(
        "web/versions.html",
        key=key,
        listed=listed,
        activations=process_versions.history(db.session, key),
        active_number=next((v.version for v, _, active in listed if active), None),
        before=before,
        after=after,
        changes=changes,
        problem=problem,
        numbers=numbers,
    )


@blp.route("/pemilik/proses/<key>/versi/<int:version>/aktifkan", methods=["POST"])
@staff_page("owner")
def activate_version(key: str, version: int) -> Any:
    """Roll back from the versions page: the version becomes the one new applications start on."""
    who = principal()
    try:
        process_versions.activate(db.session, key, version, request.form.get("reason", ""), who.name)
    except InvalidData as exc:
        db.session.rollback()
        flash(f"Versi {version} tidak diaktifkan: {_first_message(exc)}", "error")
        return redirect(url_for("web.versions", proses=key))
    db.session.commit()
    flash(f"Versi {version} aktif: permohonan baru dimulai pada versi ini.", "ok")
    return redirect(url_for("web.versions", proses=key))


def _first_message(exc: InvalidData) -> str:
    messages = [m for field in exc.fields.values() for m in (field if isinstance(field, list) else [field])]
    return str(messages[0]) if messages else exc.message


@blp.route("/pemilik/proses/<key>/migrasi", methods=["GET", "POST"])
@staff_page("owner")
def migrations(key: str) -> Any:
    """Move running applications to another version: a dry run first, then the move (both report per
    application)."""
    listed = [(v, running, active) for v, running, active in versions_with_running() if v.process_key == key]
    if not listed:
        return error_page(404, f"Proses '{key}' belum di-deploy.")
    numbers = [v.version for v, _, _ in listed]
    active = next(v.version for v, _, is_active in listed if is_active)
    form = {
        "from_version": request.values.get("dari", type=int)
        or next((v.version for v, running, _ in listed if running and v.version != active), numbers[-1]),
        "to_version": request.values.get("ke", type=int) or active,
        "codes": request.form.get("codes", ""),
        "scope": request.form.get("scope", "all"),
    }
    result, errors = None, {}
    if request.method == "POST":
        body = {
            "from_version": form["from_version"],
            "to_version": form["to_version"],
            "applications": "all" if form["scope"] == "all" else form["codes"].replace(",", " ").split(),
            "dry_run": request.form.get("action") != "execute",
        }
        try:
            args = MigrationRequest().load(body)
            result = run_migration(key, args, principal().name)
        except ValidationError as exc:
            errors = exc.normalized_messages()
        except InvalidData as exc:
            errors = exc.fields
        if result and not result["dry_run"]:
            flash(
                f"{result['moved']} dari {result['total']} permohonan dipindahkan ke versi {result['to_version']}.",
                "ok",
            )
    return render_template(
        "web/migrations.html", key=key, listed=listed, numbers=numbers, form=form, result=result, errors=errors
    )
