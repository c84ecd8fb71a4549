"""GET /api/v1/incidents, POST /api/v1/incidents/{id}/retry: steps that failed at run time.

An incident is a step whose expression or service handler failed: the workflow stayed as it was before
the step. Process owners and supervisors see where and why, fix the cause (the data, or a new version of
the diagram) and retry; a retry that succeeds resolves the incident.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from engine.kia.access import require_role
from engine.models import Incident, TaskRow, Timer
from engine.workflow import incidents, instances
from engine.workflow.incidents import IncidentKind, IncidentState
from engine.workflow.instances import StepFailed

from .auth import staff_principal
from .extensions import db
from .http import Blueprint
from .tasks import retry_completion

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents", description="Steps that failed at run time")

ROLES = ("owner", "supervisor")


class IncidentSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in IncidentKind]})
    state = fields.String(required=True, metadata={"enum": [s.value for s in IncidentState]})
    application_code = fields.String(required=True)
    process_version = fields.Integer()
    step = fields.String(allow_none=True, metadata={"description": "the step being completed or timed"})
    element = fields.String(allow_none=True, metadata={"description": "the diagram element that failed"})
    error = fields.String(required=True)
    task_id = fields.String(allow_none=True)
    timer_id = fields.String(allow_none=True)
    actor = fields.String(metadata={"description": "who completed the step when it failed"})
    attempts = fields.Integer()
    created_at = fields.DateTime()
    last_failed_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class IncidentList(Schema):
    items = fields.List(fields.Nested(IncidentSchema), required=True)


class RetryRequest(Schema):
    version = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "description": "first put the application on this version of its process (a fixed diagram with "
            "the same elements); otherwise it stays on its own"
        },
    )


class IncidentQuery(Schema):
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved", "all"]))


@blp.route("")
class IncidentsView(MethodView):
    @blp.arguments(IncidentQuery, location="query")
    @blp.response(200, IncidentList)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """The incidents, newest failure first (open ones by default; process owner, supervisor)."""
        require_role(staff_principal(), *ROLES)
        state = None if args["state"] == "all" else args["state"]
        return {"items": [incidents.as_dict(i) for i in incidents.listing(db.session, state)]}


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@blp.arguments(RetryRequest, required=False)
@blp.response(200, IncidentSchema)
@blp.errors(401, 403, 404, 409, 422)
def retry(args: dict, incident_id: int) -> dict:
    """Do the failed step again: complete the task with the data it was completed with (as the officer
    who did), or fire the timer. Resolved when it succeeds; 409 when it fails again (the incident stays
    open with the new error). Process owner, supervisor."""
    principal = staff_principal()
    require_role(principal, *ROLES)
    incident = incidents.get(db.session, incident_id)
    if incident.state == IncidentState.RESOLVED:
        return incidents.as_dict(incident)
    if args.get("version"):  # kept only if the retry succeeds (a failure rolls back)
        instances.move_to_version(db.session, incident.instance, args["version"], principal.name)
    if incident.kind == IncidentKind.TASK:
        _retry_task(incident, principal.name)
    else:
        _retry_timer(incident, principal.name)
    return incidents.as_dict(db.session.get(Incident, incident_id))


def _retry_task(incident: Incident, retried_by: str) -> None:
    row = db.session.get(TaskRow, incident.task_id) if incident.task_id else None
    if row is None or row.state != "open":  # the step was done or cancelled meanwhile
        incidents.resolve(db.session, incident, retried_by, "obsolete")
        db.session.commit()
        return
    retry_completion(row, dict(incident.payload), incident.actor, retried_by)


def _retry_timer(incident: Incident, retried_by: str) -> None:
    incident_id = incident.id
    try:
        incidents.retry_timer(db.session, incident, retried_by)
    except StepFailed as failure:
        db.session.rollback()
        incident = incidents.get(db.session, incident_id)
        incidents.record_timer_failure(db.session, db.session.get(Timer, incident.timer_id), failure)
        db.session.commit()
        raise
    db.session.commit()
