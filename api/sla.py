"""Supervisor reports: GET /api/v1/reports/sla (per step, count, median and 90th percentile duration, share
within standard) and GET /api/v1/reports/uncollected (cards waiting at the UPTD for their parent too long)."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from engine.kia import collection
from engine.kia.access import require_role
from engine.reports import sla
from engine.workflow.clock import clock
from engine.workflow.worktime import calendar

from .auth import staff_principal
from .extensions import db
from .http import Blueprint
from .schemas import DateRangeQuery, SlaReport, UncollectedQuery, UncollectedReport

blp = Blueprint("sla", __name__, url_prefix="/api/v1/reports", description="Supervisor reports")

DEFAULT_DAYS = 30


@blp.route("/sla")
class SlaReportView(MethodView):
    @blp.arguments(DateRangeQuery, location="query")
    @blp.response(200, SlaReport)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """Steps completed from ``from`` to ``to`` (inclusive days, Asia/Jakarta; default the last 30
        days): count, median and 90th percentile (nearest rank) duration in the step's basis, and the
        share completed within the standard (supervisor)."""
        require_role(staff_principal(), "supervisor")
        end = args.get("to") or clock.now().astimezone(calendar().tz).date()
        start = args.get("from_") or end - timedelta(days=DEFAULT_DAYS - 1)
        return {"from_": start, "to": end, "items": sla.sla_report(db.session, start, end)}


@blp.route("/uncollected")
class UncollectedView(MethodView):
    @blp.arguments(UncollectedQuery, location="query")
    @blp.response(200, UncollectedReport)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """Cards at the UPTD whose parent was told ``days`` (default ``KIA_UNCOLLECTED_DAYS``, 30) calendar
        days ago or longer and has not collected them, the longest waiting first (supervisor)."""
        require_role(staff_principal(), "supervisor")
        days = args.get("days") or collection.uncollected_days()
        items = collection.uncollected(db.session, clock.now(), days, args.get("kecamatan"))
        return {"days": days, "items": items}
