"""The supervisor's dashboard: open and overdue work, files within and over the standards (per step,
kecamatan and officer; per day or per week), durations against the standards, escalations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request
from sqlalchemy import select

from engine.models import Kecamatan, User
from engine.reports import dashboard, sla
from engine.workflow.clock import clock

from ..extensions import db
from .blueprint import blp, staff_page

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
