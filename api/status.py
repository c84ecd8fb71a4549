"""GET /api/v1/status/{code}: the applicant's view, public with the code, rate limited."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from engine.kia import applications

from . import ratelimit
from .auth import current_principal
from .extensions import db
from .http import Blueprint
from .schemas import StatusSchema

blp = Blueprint("status", __name__, url_prefix="/api/v1/status", description="Applicant status by code")


@blp.route("/<code>")
class Status(MethodView):
    @blp.response(200, StatusSchema)
    @blp.errors(404, 429)
    def get(self, code: str) -> dict:
        """State, current step and the steps so far. Only a masked name; with the applicant's own token
        (code + PIN) the officers' notes and the open correction task are added."""
        ratelimit.limit("status", current_app.config["STATUS_RATE_LIMIT"])
        app = applications.by_code(db.session, code)
        principal = current_principal(required=False)
        full = principal is not None and principal.application_id == app.id
        return applications.status_view(db.session, app, full=full)
