"""The working-time calendar's overrides: extra closing days and weekend service days (supervisors)."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView

from engine.kia.access import require_role
from engine.models import CalendarOverride
from engine.workflow import deadlines, worktime

from .auth import staff_principal
from .errors import ApiError
from .extensions import db
from .http import Blueprint, load_json
from .schemas import CalendarOverrideList, CalendarOverrideSchema, DateRangeQuery

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar", description="Working-time calendar overrides")


def override_dict(row: CalendarOverride) -> dict:
    return {
        "date": row.day,
        "open": row.open,
        "reason": row.reason,
        "changed_by": row.changed_by,
        "changed_at": row.changed_at,
    }


def _supervisor() -> str:
    principal = staff_principal()
    require_role(principal, "supervisor")
    return principal.name


@blp.route("/overrides")
class OverrideCollection(MethodView):
    @blp.arguments(DateRangeQuery, location="query")
    @blp.response(200, CalendarOverrideList)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """Every override, optionally within ``from``..``to`` (staff)."""
        staff_principal()
        rows = worktime.list_overrides(db.session, args.get("from_"), args.get("to"))
        return {"items": [override_dict(r) for r in rows]}

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": CalendarOverrideSchema}}})
    @blp.response(201, CalendarOverrideSchema)
    @blp.errors(400, 401, 403, 415, 422)
    def post(self) -> dict:
        """Open or close one day, today or later (replaces an earlier override of that day); applies to
        every deadline computed from now on, in every process, and the deadlines of open steps not yet
        due are recomputed (supervisor). A past day is refused (422)."""
        actor = _supervisor()
        data = load_json(CalendarOverrideSchema)
        row, _ = deadlines.change_day(db.session, data["date"], data["open"], data["reason"], actor)
        db.session.commit()
        return override_dict(row)


@blp.route("/overrides/<day>")
class OverrideItem(MethodView):
    @blp.response(204)
    @blp.errors(400, 401, 403, 404, 422)
    def delete(self, day: str) -> None:
        """Return a day, today or later, to the regular calendar; open steps' deadlines are recomputed
        (supervisor)."""
        actor = _supervisor()
        deadlines.reset_day(db.session, parse_day(day), actor)
        db.session.commit()


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_date", "Tanggal tidak sah.", {"date": ["Format tanggal: YYYY-MM-DD."]}) from None
