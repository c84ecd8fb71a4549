"""SOP step 4 in batches: a Dafdud officer completes many grouping tasks at once."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

import forms
from engine.kia import distribution
from engine.kia.models import DistributionBatch

from .auth import current_principal
from .extensions import db
from .http import Blueprint
from .schemas import BulkCompleteRequest, BulkCompleteResponse

blp = Blueprint("distribution", __name__, url_prefix="/api/v1/tasks", description="Distribution batches")


@blp.route("/bulk-complete")
class BulkComplete(MethodView):
    @blp.arguments(BulkCompleteRequest)
    @blp.response(200, BulkCompleteResponse)
    @blp.errors(401, 403, 409, 422)
    def post(self, args: dict) -> dict:
        """Complete many open grouping tasks at once and record one distribution batch per kecamatan, linked
        to its applications. All or nothing: the first failing task is named in the error (403 not your lane,
        409 no longer open or claimed by another, 422 not a grouping task or unknown)."""
        principal = current_principal()
        raw = {k: args[k] for k in ("batch", "note") if k in args}
        batches, completed, opened = distribution.group_in_batch(
            db.session, principal, args["task_ids"], raw, forms.load_form
        )
        db.session.commit()
        return {"batches": [batch_dict(b) for b in batches], "completed": completed, "next_tasks": opened}


def batch_dict(batch: DistributionBatch) -> dict:
    groups = distribution.recap_of_batch(db.session, batch.id)
    return {
        "id": batch.id,
        "label": batch.label,
        "kecamatan": batch.kecamatan,
        "kecamatan_name": groups[0].name if batch.kecamatan and groups else None,
        "created_by": batch.created_by,
        "created_at": batch.created_at,
        "count": len(batch.items),
        "groups": [{"kecamatan": g.kecamatan, "name": g.name, "count": g.count} for g in groups],
        "recap_url": url_for("documents.distribution", batch=batch.id),
    }
