"""Every officer's own password: the change page linked from the header (also where a temporary password
leads at sign-in), and the page a one-time reset link opens."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.kia import people
from engine.ops import audit
from engine.workflow.errors import InvalidData

from ..extensions import db
from . import session
from .blueprint import blp, principal, staff_page


@blp.route("/akun/kata-sandi", methods=["GET", "POST"])
@staff_page()
def own_password() -> Any:
    user = principal().user
    errors: dict = {}
    if request.method == "POST":
        try:
            people.change_own_password(
                db.session,
                user,
                request.form.get("current", ""),
                request.form.get("new", ""),
                request.form.get("repeated", ""),
            )
        except InvalidData as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            g.audit_target = user.username
            session.sign_in_staff(user)  # every other session ended with the old password; this one goes on
            db.session.commit()
            flash("Kata sandi Anda sudah diganti. Sesi di perangkat lain telah diakhiri.", "ok")
            return redirect(url_for("web.index"))
    return render_template("web/own_password.html", errors=errors, forced=user.must_change_password)


@blp.route("/akun/atur-sandi", methods=["GET", "POST"])
def reset_password() -> Any:
    """A reset link's page (``?t=<token>``; the token stays out of the path, so out of any log)."""
    token = request.values.get("t", "")
    user = people.user_of_reset_token(db.session, token)
    if user is None:
        return render_template("web/reset_password.html", valid=False, errors={}), 404
    errors: dict = {}
    if request.method == "POST":
        try:
            people.choose_password(db.session, user, request.form.get("new", ""), request.form.get("repeated", ""))
        except InvalidData as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            audit.append(
                db.session,
                audit.Action(
                    actor=user.username,
                    action="password_reset_link_used",
                    method=request.method,
                    path=request.path,
                    status=200,
                    target=user.username,
                    client_ip=request.remote_addr,
                ),
            )
            db.session.commit()  # the link's session ended with the old password: used once
            flash("Kata sandi baru disimpan. Silakan masuk dengan kata sandi itu.", "ok")
            return redirect(url_for("web.sign_in"))
    return render_template("web/reset_password.html", valid=True, errors=errors, token=token, user=user)
