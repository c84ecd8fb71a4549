"""The supervisor's pages: the dashboard (open and overdue work, files within and over the standards
per step, kecamatan and officer, per day or per week; durations against the standards, escalations),
the cards not collected at the UPTDs, staff accounts, the working-time calendar and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import holidays
from flask import current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.kia import collection, people
from engine.kia.security import display_code, normalize_code
from engine.models import Application, Document, Kecamatan, TaskRow, User
from engine.ops import audit
from engine.reports import dashboard, sla
from engine.workflow import deadlines, worktime
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from handlers.pdf.render import tanggal

from ..errors import message_of
from ..extensions import db
from .actions import action_choices, action_label
from .blueprint import blp, error_page, principal, staff_page

CHART_DAYS = (7, 14, 30, 90)
GROUPINGS = {"hari": "day", "minggu": "week"}  # the page's ?per= -> the report's period


@blp.route("/dasbor")
@staff_page("supervisor", "owner")
def dashboard_page() -> Any:
    days = request.args.get("hari", type=int)
    days = days if days in CHART_DAYS else 14
    per = request.args.get("per") if request.args.get("per") in GROUPINGS else ("minggu" if days > 30 else "hari")
    today = clock.now().astimezone(dashboard.JAKARTA).date()
    first = today - timedelta(days=days - 1)
    names = {k.code: k.name for k in db.session.scalars(select(Kecamatan))}
    officers = {username: name for username, name in db.session.execute(select(User.username, User.full_name))}
    return render_template(
        "web/dashboard.html",
        by_step=dashboard.open_by_step(db.session),
        by_kecamatan=dashboard.open_by_kecamatan(db.session, names),
        standards=dashboard.standard_report(db.session, first, today, GROUPINGS[per], names, officers),
        escalations=dashboard.escalations_on(db.session),
        sla=sla.sla_report(db.session, first, today),
        days=days,
        per=per,
        groupings=GROUPINGS,
        choices=CHART_DAYS,
    )


@blp.route("/supervisor/belum-diambil")
@staff_page("supervisor")
def uncollected_page() -> Any:
    """Cards waiting at the UPTD for their parent ``?hari=`` (default ``KIA_UNCOLLECTED_DAYS``) days or
    longer, the longest waiting first, by kecamatan if chosen."""
    names = _kecamatan_names()
    days = request.args.get("hari", type=int)
    days = days if days is not None and 1 <= days <= 365 else collection.uncollected_days()
    kecamatan = request.args.get("kecamatan") or None
    kecamatan = kecamatan if kecamatan in names else None
    return render_template(
        "web/uncollected.html",
        items=collection.uncollected(db.session, clock.now(), days, kecamatan),
        days=days,
        kecamatan=kecamatan,
        names=names,
        reminder_days=collection.reminder_days(),
    )


# --- staff accounts -----------------------------------------------------------------------------------


def _kecamatan_names() -> dict[str, str]:
    return {k.code: k.name for k in db.session.scalars(select(Kecamatan).order_by(Kecamatan.name))}


def _account_form() -> dict[str, Any]:
    return {
        "username": (request.form.get("username") or "").strip()[:64],
        "full_name": (request.form.get("full_name") or "").strip()[:200],
        "roles": request.form.getlist("roles"),
        "kecamatan": request.form.get("kecamatan") or None,
    }


@blp.route("/supervisor/akun", methods=["GET", "POST"])
@staff_page("supervisor")
def staff_accounts() -> Any:
    """Every account, and the form that adds one (with a temporary password shown once)."""
    form: dict[str, Any] = {"username": "", "full_name": "", "roles": [], "kecamatan": None}
    errors: dict = {}
    shown = None
    if request.method == "POST":
        form = _account_form()
        g.audit_target = form["username"]
        password = people.new_temporary_password()
        try:
            user = people.create(
                db.session,
                form["username"],
                form["full_name"],
                form["roles"],
                form["kecamatan"],
                password,
                must_change_password=True,
            )
        except InvalidData as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            shown = {"user": user, "password": password, "kind": "new"}
            form = {"username": "", "full_name": "", "roles": [], "kecamatan": None}
    return render_template(
        "web/staff_accounts.html",
        users=people.staff_list(db.session),
        kecamatan=_kecamatan_names(),
        form=form,
        errors=errors,
        shown=shown,
    ), (422 if errors else 200)


@blp.route("/supervisor/akun/<username>", methods=["GET", "POST"])
@staff_page("supervisor")
def staff_account(username: str) -> Any:
    """One account: name, roles and kecamatan; deactivate or activate; reset the password."""
    user = people.by_username(db.session, username)
    errors: dict = {}
    form = _form_of(user)
    if request.method == "POST":
        form = _account_form()
        try:
            people.change_access(db.session, user, form["full_name"], form["roles"], form["kecamatan"])
        except InvalidData as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash(f"Akun {user.full_name} disimpan.", "ok")
            return redirect(url_for("web.staff_account", username=user.username))
    return _account_page(user, form, errors)


def _account_page(user: Any, form: dict, errors: dict, shown: dict | None = None) -> Any:
    return render_template(
        "web/staff_account.html", user=user, kecamatan=_kecamatan_names(), form=form, errors=errors, shown=shown
    ), (422 if errors else 200)


def _form_of(user: Any) -> dict:
    return {"full_name": user.full_name, "roles": sorted(user.role_set), "kecamatan": user.kecamatan}


@blp.route("/supervisor/akun/<username>/status", methods=["POST"])
@staff_page("supervisor")
def staff_account_status(username: str) -> Any:
    """Deactivate (every session ends at once) or activate again."""
    user = people.by_username(db.session, username)
    if request.form.get("active") == "1":
        people.activate(user)
        message = f"Akun {user.full_name} aktif kembali."
    else:
        if user.id == principal().user.id:
            flash("Anda tidak dapat menonaktifkan akun Anda sendiri.", "error")
            return redirect(url_for("web.staff_account", username=user.username))
        people.deactivate(db.session, user)
        message = f"Akun {user.full_name} dinonaktifkan; semua sesinya diakhiri."
    db.session.commit()
    flash(message, "ok")
    return redirect(url_for("web.staff_account", username=user.username))


@blp.route("/supervisor/akun/<username>/reset", methods=["POST"])
@staff_page("supervisor")
def staff_account_reset(username: str) -> Any:
    """A temporary password or a one-time link, shown once on the answer (never stored, never mailed
    from here); the old password and every session end now."""
    user = people.by_username(db.session, username)
    if request.form.get("how") == "link":
        token = people.reset_link_token(db.session, user)
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        shown = {"kind": "link", "link": base + url_for("web.reset_password", t=token)}
    else:
        shown = {"kind": "password", "password": people.temporary_password(db.session, user)}
    db.session.commit()
    return _account_page(user, _form_of(user), {}, shown)


# --- working-time calendar ----------------------------------------------------------------------------

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def long_date(day: date) -> str:
    """``Jumat, 3 September 2027``."""
    return f"{DAY_NAMES[day.weekday()]}, {tanggal(day)}"


def _moved_text(moved: list[deadlines.Moved]) -> str:
    if not moved:
        return "Tidak ada batas waktu tugas terbuka yang berubah."
    return f"Batas waktu {len(moved)} tugas terbuka dihitung ulang."


@blp.route("/supervisor/kalender", methods=["GET", "POST"])
@staff_page("supervisor")
def calendar_page() -> Any:
    """The closed days of a year (national holidays, cuti bersama, office closures) and weekend service
    days; a day from today on can be closed or opened with a reason."""
    today = deadlines.today()
    year = request.args.get("tahun", type=int) or today.year
    year = year if 2000 <= year <= 2099 else today.year
    form = {"date": "", "open": "0", "reason": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        form["reason"] = form["reason"][:200]
        day = _parse_date(form["date"])
        if day is None:
            errors["date"] = ["Pilih tanggal (hari/bulan/tahun)."]
        if not form["reason"]:
            errors["reason"] = ["Tuliskan alasannya (mis. banjir, rapat kerja, layanan hari Sabtu)."]
        if not errors and day is not None:
            g.audit_target = day.isoformat()
            try:
                _, moved = deadlines.change_day(db.session, day, form["open"] == "1", form["reason"], principal().name)
            except InvalidData as exc:
                db.session.rollback()
                errors = exc.fields
            else:
                db.session.commit()
                state = "buka" if form["open"] == "1" else "tutup"
                flash(f"Kantor {state} pada {long_date(day)}. {_moved_text(moved)}", "ok")
                return redirect(url_for("web.calendar_page", tahun=day.year))
    names = people.full_names(db.session, [r.changed_by for r in worktime.list_overrides(db.session)])
    return render_template(
        "web/calendar.html",
        year=year,
        today=today,
        days=_calendar_days(year, names),
        form=form,
        errors=errors,
        long_date=long_date,
    ), (422 if errors else 200)


@blp.route("/supervisor/kalender/<day>/hapus", methods=["POST"])
@staff_page("supervisor")
def calendar_reset(day: str) -> Any:
    parsed = _parse_date(day)
    if parsed is None:
        return error_page(404, "Tanggal tidak dikenal.")
    try:
        moved = deadlines.reset_day(db.session, parsed, principal().name)
    except (InvalidData, NotFound) as exc:
        db.session.rollback()
        flash(message_of(exc) if isinstance(exc, NotFound) else PAST_REFUSED, "error")
        return redirect(url_for("web.calendar_page", tahun=parsed.year))
    db.session.commit()
    flash(f"{long_date(parsed)} kembali ke kalender biasa. {_moved_text(moved)}", "ok")
    return redirect(url_for("web.calendar_page", tahun=parsed.year))


PAST_REFUSED = deadlines.PAST_DAY


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


def _calendar_days(year: int, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every day of ``year`` that differs from an ordinary week: holidays, cuti bersama, overrides."""
    public = holidays.country_holidays("ID", categories=("public",), years=year, language="id")
    leave = holidays.country_holidays("ID", categories=("government",), years=year, language="id")
    overrides = {r.day: r for r in worktime.list_overrides(db.session, date(year, 1, 1), date(year, 12, 31))}
    days = []
    for day in sorted(set(public) | set(leave) | set(overrides)):
        row = overrides.get(day)
        source = "Libur nasional" if day in public else "Cuti bersama" if day in leave else None
        holiday_name = public.get(day) or leave.get(day)
        if row is None:
            entry = {"closed": True, "kind": source, "reason": holiday_name, "by": None, "at": None}
        else:
            kind = "Penutupan kantor" if not row.open else "Kantor buka (layanan hari libur)"
            entry = {
                "closed": not row.open,
                "kind": kind + (f" · {source}: {holiday_name}" if source else ""),
                "reason": row.reason or "–",
                "by": names.get(row.changed_by or "", row.changed_by or "Sistem"),
                "at": row.changed_at,
            }
        days.append({"day": day, "override": row is not None, **entry})
    return days


# --- audit log ----------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
ACTOR_NAMES = {
    "pemohon": "Pemohon",
    "unknown": "Nama pengguna tidak dikenal",
    "cli": "Baris perintah",
    "system": "Sistem",
}


@blp.route("/supervisor/audit")
@staff_page("supervisor")
def audit_page() -> Any:
    """The audit log, newest first: by officer, application code, action and days (WIB), 50 a page."""
    args = {
        k: " ".join((request.args.get(k) or "").split())[:64] for k in ("pengguna", "kode", "aksi", "dari", "sampai")
    }
    errors: dict[str, str] = {}
    since, until = _parse_date(args["dari"]), _parse_date(args["sampai"])
    if args["dari"] and since is None:
        errors["dari"] = "Tanggal awal tidak sah."
    if args["sampai"] and until is None:
        errors["sampai"] = "Tanggal akhir tidak sah."
    if since and until and since > until:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    targets = None
    if args["kode"]:
        targets = _application_targets(args["kode"])
        if targets is None:
            errors["kode"] = "Kode permohonan tidak dikenal."
    page = max(1, request.args.get("halaman", type=int) or 1)
    rows, total = [], 0
    if not errors:
        rows, total = audit.entries(
            db.session,
            since=datetime.combine(since, time.min, deadlines.JAKARTA) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, deadlines.JAKARTA) if until else None,
            actor=args["pengguna"] or None,
            action=args["aksi"] or None,
            targets=targets,
            limit=AUDIT_PAGE_SIZE,
            offset=(page - 1) * AUDIT_PAGE_SIZE,
            newest_first=True,
        )
    last = max(1, -(-total // AUDIT_PAGE_SIZE))
    kept = {k: v for k, v in args.items() if v}
    return render_template(
        "web/audit.html",
        args=args,
        errors=errors,
        entries=_readable(rows),
        total=total,
        page=page,
        last=last,
        first_shown=(page - 1) * AUDIT_PAGE_SIZE + 1,
        page_url=lambda n: url_for("web.audit_page", **kept, halaman=n),
        users=people.staff_list(db.session),
        actions=action_choices(),
    ), (422 if errors else 200)


def _application_targets(text: str) -> set[str] | None:
    """What an application's entries name as their target: its code, its tasks and its documents."""
    code = normalize_code(text)
    app = db.session.scalar(select(Application).where(Application.code == code)) if code else None
    if app is None:
        return None
    tasks = db.session.scalars(select(TaskRow.id).where(TaskRow.instance_id == app.instance_id))
    docs = db.session.scalars(select(Document.id).where(Document.application_id == app.id))
    return {app.code, *tasks, *(str(d) for d in docs)}


def _readable(rows: list[Any]) -> list[dict[str, Any]]:
    """Entries as a person reads them: names, labels, codes with dashes, the task's step and application."""
    names = people.full_names(db.session, {r.actor for r in rows} | {r.target for r in rows if r.target})
    task_ids = [r.target for r in rows if r.target and len(r.target) == 36]
    tasks = (
        {
            t.id: (t.title, code)
            for t, code in db.session.execute(
                select(TaskRow, Application.code)
                .join(Application, Application.instance_id == TaskRow.instance_id)
                .where(TaskRow.id.in_(task_ids))
            )
        }
        if task_ids
        else {}
    )
    out = []
    for r in rows:
        target = r.target or ""
        if target in tasks:
            shown = f"{tasks[target][0]} · {display_code(tasks[target][1])}"
        elif len(target) == 36 and target.count("-") == 4:
            shown = "Tugas (sudah tidak ada)"  # a task id the projection no longer holds
        elif normalize_code(target) and len(target) == 12:
            shown = display_code(target)
        elif target in names:
            shown = names[target]
        elif (day := _parse_date(target)) is not None:
            shown = long_date(day)
        else:
            shown = target or "–"
        out.append(
            {
                "at": r.at,
                "actor": names.get(r.actor) or ACTOR_NAMES.get(r.actor, r.actor),
                "action": action_label(r.action, r.method),
                "target": shown,
                "result": "Berhasil" if r.status < 400 else "Ditolak" if r.status < 500 else "Gagal",
                "ok": r.status < 400,
                "client_ip": r.client_ip or "–",
            }
        )
    return out
