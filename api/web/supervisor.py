"""The supervisor's dashboard: open and overdue work, durations against the standards, escalations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request
from sqlalchemy import select

from engine.models import Kecamatan
from engine.reports import dashboard, sla
from engine.workflow.clock import clock

from ..extensions import db
from .blueprint import blp, staff_page

CHART_DAYS = (7, 14, 30)


@blp.route("/dasbor")
@staff_page("supervisor", "owner")
def dashboard_page() -> Any:
    days = request.args.get("hari", type=int)
    days = days if days in CHART_DAYS else 14
    today = clock.now().astimezone(dashboard.JAKARTA).date()
    names = {k.code: k.name for k in db.session.scalars(select(Kecamatan))}
    return render_template(
        "web/dashboard.html",
        by_step=dashboard.open_by_step(db.session),
        by_kecamatan=dashboard.open_by_kecamatan(db.session, names),
        durations=dashboard.durations(db.session, days=days),
        escalations=dashboard.escalations_on(db.session),
        sla=sla.sla_report(db.session, today - timedelta(days=days - 1), today),
        days=days,
        choices=CHART_DAYS,
    )
