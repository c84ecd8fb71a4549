"""The bell on every staff page (its unread count and the newest notifications), the list of all of
them, marking one read and following it to its task; and the officer's own notice preferences."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for

from engine.kia import notifications, people
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData
from forms.fields import Email
from forms.schemas import Phone

from ..extensions import db
from .blueprint import blp, principal, safe_next, staff_page

BELL_SIZE = 8


def bell() -> dict[str, Any] | None:
    """What the bell shows for the signed-in officer (None for others): two small queries."""
    who = principal()
    if who is None or not who.is_staff:
        return None
    user_id = who.user.id
    return {
        "unread": notifications.unread_count(db.session, user_id),
        "latest": notifications.of_user(db.session, user_id, BELL_SIZE),
    }


def register(app: Flask) -> None:
    app.jinja_env.globals.update(notification_bell=bell, notice_path=notifications.path_of)


@blp.route("/petugas/pemberitahuan")
@staff_page()
def notifications_page() -> Any:
    user = principal().user
    return render_template(
        "web/notifications.html",
        items=notifications.of_user(db.session, user.id, 200),
        unread=notifications.unread_count(db.session, user.id),
        user=user,
    )


@blp.route("/petugas/pemberitahuan/<int:notification_id>/baca", methods=["POST"])
@staff_page()
def read_notification(notification_id: int) -> Any:
    """Mark read, then go to its task (or back where the officer was)."""
    row = notifications.mark_read(db.session, principal().user.id, notification_id, clock.now())
    db.session.commit()
    target = notifications.path_of(row.task_id, row.application_code)
    if request.form.get("open") and target:
        return redirect(target)
    return redirect(safe_next(request.form.get("next"), url_for("web.notifications_page")))


@blp.route("/petugas/pemberitahuan/baca-semua", methods=["POST"])
@staff_page()
def read_all_notifications() -> Any:
    notifications.mark_all_read(db.session, principal().user.id, clock.now())
    db.session.commit()
    return redirect(url_for("web.notifications_page"))


@blp.route("/petugas/pemberitahuan/preferensi", methods=["POST"])
@staff_page()
def notice_preferences() -> Any:
    """The officer's own e-mail address, WhatsApp number and channels (in-app notices are always on)."""
    user = principal().user
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, field in (("email", Email(allow_none=True)), ("phone", Phone(allow_none=True))):
        raw = (request.form.get(name) or "").strip()
        try:
            changes[name] = field.deserialize(raw) if raw else None
        except Exception as error:  # marshmallow's ValidationError, with its Indonesian message
            errors[name] = list(getattr(error, "messages", ["Tidak sah."]))
    changes["notify_email"] = request.form.get("notify_email") == "on"
    changes["notify_whatsapp"] = request.form.get("notify_whatsapp") == "on"
    if not errors:
        try:
            people.set_contact(user, changes)
            db.session.commit()
            flash("Preferensi pemberitahuan disimpan.", "ok")
            return redirect(url_for("web.notifications_page"))
        except InvalidData as invalid:
            db.session.rollback()
            errors = invalid.fields
    for messages in errors.values():
        for message in messages:
            flash(message, "error")
    return redirect(url_for("web.notifications_page"))
