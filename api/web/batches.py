"""The card's last mile on the web: Dafdud's grouping page (the cards ready for grouping by kecamatan,
select all per kecamatan, one batch per kecamatan), the list of past batches with their recap and state,
and one batch's cards (where the Ka. UPTD confirms what arrived)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

import forms
from engine.kia import arrival, distribution
from engine.kia.access import can_act_on_task
from engine.models import Application, Instance, Kecamatan, TaskRow, TaskRowState
from engine.workflow.errors import EngineError

from ..extensions import db
from . import formdata
from .blueprint import blp, error_page, principal, staff_page

GROUP_LIMIT = 200  # tasks one bulk grouping may complete
SHOWN_LIMIT = 500  # cards the grouping page lists
BATCH_STATES = {
    distribution.BatchState.SENT: "Dikirim, belum dikonfirmasi UPTD",
    distribution.BatchState.PARTLY_CONFIRMED: "Sebagian sudah dikonfirmasi UPTD",
    distribution.BatchState.ARRIVED: "Diterima lengkap di UPTD",
    distribution.BatchState.INCOMPLETE: "Diterima, ada KIA yang tidak sampai",
}
ARRIVALS = {None: "Dalam pengiriman", "arrived": "Tiba di UPTD", "missing": "Tidak ada dalam kiriman"}


def kecamatan_names() -> dict[str, str]:
    return dict(db.session.execute(select(Kecamatan.code, Kecamatan.name)).all())


@blp.route("/petugas/pengelompokan")
@staff_page("dafdud", "supervisor")
def grouping_page() -> Any:
    """Cards printed and waiting to be grouped, by kecamatan (by name), the oldest first in each."""
    who = principal()
    rows = db.session.execute(
        select(TaskRow, Application.code, Application.child, Application.card_number)
        .join(Instance, Instance.id == TaskRow.instance_id)
        .join(Application, Application.instance_id == Instance.id)
        .where(TaskRow.form_key == distribution.GROUPING_FORM, TaskRow.state == TaskRowState.OPEN)
        .order_by(TaskRow.ready_at, TaskRow.id)
        .limit(SHOWN_LIMIT)
    ).all()
    names = kecamatan_names()
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row, code, child, card_number in rows:
        groups[row.kecamatan or ""].append(
            {
                "row": row,
                "code": code,
                "child_name": (child or {}).get("name", ""),
                "card_number": card_number or "",
                "actionable": can_act_on_task(who, row),
            }
        )
    ordered = sorted(groups.items(), key=lambda item: names.get(item[0], item[0] or "~").casefold())
    return render_template(
        "web/grouping.html",
        groups=[(code, names.get(code, code or "Tanpa kecamatan"), cards) for code, cards in ordered],
        total=len(rows),
        recent=distribution.batches(db.session, limit=10),
        names=names,
        states=BATCH_STATES,
        can_group="dafdud" in who.roles,
    )


@blp.route("/petugas/kelompokkan", methods=["POST"])
@staff_page("dafdud")
def group_cards() -> Any:
    """Dafdud: complete the chosen grouping tasks at once, one batch per kecamatan."""
    back = url_for("web.grouping_page") if request.form.get("from") == "pengelompokan" else None
    back = back or url_for("web.inbox", lane="dafdud")
    ids = request.form.getlist("task_id")[:GROUP_LIMIT]
    if not ids:
        flash("Pilih minimal satu KIA untuk dikelompokkan.", "error")
        return redirect(back)
    try:
        raw = formdata.from_form(forms.form_json_schema(distribution.GROUPING_FORM), request.form)
        batches, completed, _ = distribution.group_in_batch(db.session, principal(), ids, raw, forms.load_form)
        db.session.commit()
    except (EngineError, forms.FormValidationError) as exc:
        db.session.rollback()
        flash(f"Tidak ada yang dikelompokkan: {getattr(exc, 'message', exc)}", "error")
        return redirect(back)
    names = kecamatan_names()
    label = batches[0].label or "-"
    made = ", ".join(
        f"batch {b.id} ({names.get(b.kecamatan or '', 'tanpa kecamatan')}, {len(b.items)} KIA)" for b in batches
    )
    flash(f"{len(completed)} KIA dikelompokkan \u201c{label}\u201d: {made}.", "ok")
    if "documents.distribution" in current_app.view_functions:
        for batch in batches:
            flash(url_for("documents.distribution", batch=batch.id), "recap")
    return redirect(back)


@blp.route("/petugas/batch")
@staff_page("dafdud", "uptd", "supervisor")
def batches_page() -> Any:
    """Past batches, newest first (a Ka. UPTD: their own kecamatan's)."""
    who = principal()
    own = None if who.roles & {"dafdud", "supervisor"} else who.user.kecamatan
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    rows = distribution.batches(db.session, own, limit=51, offset=(page - 1) * 50)
    return render_template(
        "web/batches.html",
        batches=rows[:50],
        more=len(rows) > 50,
        page=page,
        names=kecamatan_names(),
        states=BATCH_STATES,
    )


@blp.route("/petugas/batch/<int:batch_id>")
@staff_page("dafdud", "uptd", "supervisor")
def batch_page(batch_id: int) -> Any:
    """One batch's cards and where each is; the Ka. UPTD of its kecamatan confirms what arrived."""
    who = principal()
    try:
        batch = distribution.get_batch(db.session, batch_id)
        arrival.require_batch_access(who, batch)
    except EngineError as exc:
        return error_page(404 if exc.code == "not_found" else 403, exc.message)
    cards = arrival.cards(db.session, batch)
    return render_template(
        "web/batch.html",
        batch=arrival.summary(db.session, batch),
        cards=cards,
        names=kecamatan_names(),
        states=BATCH_STATES,
        arrivals=ARRIVALS,
        can_confirm="uptd" in who.roles and any(c.task_id for c in cards),
    )


@blp.route("/petugas/batch/<int:batch_id>/kedatangan", methods=["POST"])
@staff_page("uptd")
def confirm_arrival(batch_id: int) -> Any:
    """The Ka. UPTD confirms the ticked cards as arrived and the ones marked missing, with their notes (a
    card marked missing counts as missing even when "select all" ticked it)."""
    missing = {code: request.form.get(f"note_{code}", "") for code in request.form.getlist("missing")[:500]}
    arrived = [code for code in request.form.getlist("arrived")[:500] if code not in missing]
    try:
        done = arrival.confirm(db.session, principal(), batch_id, arrived, missing, forms.load_form)
        db.session.commit()
    except EngineError as exc:
        db.session.rollback()
        problems = (
            "; ".join(
                f"{code}: {' '.join(messages)}"
                for code, messages in (getattr(exc, "fields", {}).get("cards") or {}).items()
            )
            if isinstance((getattr(exc, "fields", None) or {}).get("cards"), dict)
            else ""
        )
        flash(f"Belum ada yang dikonfirmasi: {exc.message}{' (' + problems + ')' if problems else ''}", "error")
        return redirect(url_for("web.batch_page", batch_id=batch_id))
    flash(
        f"{len(done.arrived)} KIA dikonfirmasi tiba (orang tua diberi tahu: KIA siap diambil); "
        f"{len(done.missing)} KIA dilaporkan tidak ada ke Staf Bidang Dafdud.",
        "ok",
    )
    return redirect(url_for("web.batch_page", batch_id=batch_id))
