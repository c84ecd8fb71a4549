"""The caller's notifications (escalations, undelivered notes): the bell of every staff page."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from engine.kia import notifications
from engine.models import Notification
from engine.workflow.clock import clock

from .auth import staff_principal
from .extensions import db
from .http import Blueprint

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="Notifications to the signed-in officer"
)


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    application_code = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    task_url = fields.String(allow_none=True, metadata={"description": "the task's page, else the application's"})
    level = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationList(Schema):
    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationSchema))


class NotificationQuery(Schema):
    unread_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


def notification_dict(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "application_code": row.application_code,
        "task_id": row.task_id,
        "task_url": notifications.path_of(row.task_id, row.application_code),
        "level": row.level,
        "created_at": row.created_at,
        "read_at": row.read_at,
    }


@blp.route("")
class NotificationCollection(MethodView):
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationList)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """The caller's notifications, newest first, with the number still unread."""
        user = staff_principal().user
        rows = notifications.of_user(db.session, user.id, args["limit"], args["unread_only"])
        return {
            "unread": notifications.unread_count(db.session, user.id),
            "items": [notification_dict(r) for r in rows],
        }


@blp.route("/<int:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationSchema)
    @blp.errors(401, 403, 404)
    def post(self, notification_id: int) -> dict:
        """Mark one of the caller's notifications read."""
        user = staff_principal().user
        row = notifications.mark_read(db.session, user.id, notification_id, clock.now())
        db.session.commit()
        return notification_dict(row)
