"""The audit log: every staff request is recorded (who, what, when, from where) after it is answered;
supervisors read it at GET /api/v1/audit. Sign-in attempts (staff and PIN, API and pages) are recorded by
``api.auth`` as they happen: under the account they name (an unknown name as ``unknown``, so typed-in
personal data never lands in the log) or, for a PIN, under ``pemohon`` with the application code."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, g, request
from flask.views import MethodView

from engine.kia.access import require_role
from engine.ops import audit

from .auth import staff_principal
from .extensions import db
from .http import Blueprint
from .schemas import AuditList, AuditQuery

log = logging.getLogger(__name__)

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log of staff actions")

SIGN_IN_ENDPOINT = "auth.Token"
TARGET_ARGS = ("code", "task_id", "key", "document_id", "username", "day")


@blp.route("")
class AuditLog(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditList)
    @blp.errors(401, 403)
    def get(self, args: dict) -> dict:
        """Staff actions in a time window (``from`` inclusive, ``to`` exclusive), optionally of one
        actor, oldest first. Supervisors only."""
        require_role(staff_principal(), "supervisor")
        rows, total = audit.entries(
            db.session,
            since=args.get("since"),
            until=args.get("until"),
            actor=args.get("actor"),
            limit=args["limit"],
            offset=args["offset"],
        )
        return {"items": rows, "total": total}


def _actor() -> tuple[str, str] | None:
    """(actor, action) when this request is a staff action (sign-ins are audited by ``api.auth``)."""
    principal = g.get("principal")
    if principal is not None and principal.is_staff and request.endpoint != SIGN_IN_ENDPOINT:
        return principal.name, request.endpoint or "unknown"
    return None


def record_request(response: Response) -> Response:
    if request.method == "OPTIONS":
        return response
    # everything inside the try, the actor too: after a failed request the session was rolled back and
    # reading the principal's name may need the database, which may be down; the answer stands regardless
    try:
        who = _actor()
        if who is None:
            return response
        target = g.get("audit_target") or next(  # a page may name what its form acted on
            (str(request.view_args[k]) for k in TARGET_ARGS if request.view_args and k in request.view_args), None
        )
        audit.append(
            db.session,
            audit.Action(
                actor=who[0],
                action=who[1],
                method=request.method,
                path=request.path,
                status=response.status_code,
                target=target,
                client_ip=request.remote_addr,
            ),
        )
        db.session.commit()
    except Exception as exc:  # the database may be down: the answer stands, the loss is logged
        with contextlib.suppress(Exception):
            db.session.rollback()
        log.error("audit entry not written: %s", type(exc).__name__)
    return response


def register(app: Flask) -> None:
    app.after_request(record_request)
