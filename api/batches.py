"""Distribution batches: the list of past batches (Dafdud, supervisors; a Ka. UPTD their kecamatan's), one
batch with its cards, and the UPTD's confirmation of what arrived (``engine.kia.arrival``)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import select

import forms
from engine.kia import arrival, distribution
from engine.kia.access import Principal, require_role
from engine.kia.models import Kecamatan
from engine.workflow.errors import Forbidden

from .auth import staff_principal
from .extensions import db
from .http import Blueprint
from .schemas import ArrivalRequest, ArrivalResponse, BatchDetail, BatchList, BatchQuery

blp = Blueprint("batches", __name__, url_prefix="/api/v1/batches", description="Distribution batches")
BATCH_ROLES = ("dafdud", "uptd", "supervisor")


def batch_kecamatan(principal: Principal, requested: str | None) -> str | None:
    """The kecamatan whose batches the caller may list: any for Dafdud staff and supervisors, their own
    for a Ka. UPTD."""
    require_role(principal, *BATCH_ROLES)
    if principal.roles & {"dafdud", "supervisor"}:
        return requested
    own = principal.user.kecamatan if principal.user is not None else None
    if requested not in (None, own):
        raise Forbidden("Batch ini milik UPTD kecamatan lain.")
    return own


def summary_dict(batch: distribution.BatchSummary, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": batch.id,
        "label": batch.label,
        "kecamatan": batch.kecamatan,
        "kecamatan_name": names.get(batch.kecamatan or "") if batch.kecamatan else None,
        "created_by": batch.created_by,
        "created_at": batch.created_at,
        "count": batch.count,
        "arrived": batch.arrived,
        "missing": batch.missing,
        "waiting": batch.waiting,
        "state": batch.state.value,
        "recap_url": url_for("documents.distribution", batch=batch.id),
    }


def kecamatan_names() -> dict[str, str]:
    return dict(db.session.execute(select(Kecamatan.code, Kecamatan.name)).all())


@blp.route("")
class BatchCollection(MethodView):
    @blp.arguments(BatchQuery, location="query")
    @blp.response(200, BatchList)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """Past batches, newest first, with how many cards arrived, went missing or are on their way."""
        kecamatan = batch_kecamatan(staff_principal(), args.get("kecamatan"))
        rows = distribution.batches(db.session, kecamatan, args["limit"], args["offset"])
        names = kecamatan_names()
        return {"items": [summary_dict(b, names) for b in rows]}


@blp.route("/<int:batch_id>")
class BatchItem(MethodView):
    @blp.response(200, BatchDetail)
    @blp.errors(401, 403, 404)
    def get(self, batch_id: int) -> dict:
        """One batch with its cards and where each is (on its way, arrived, missing)."""
        principal = staff_principal()
        require_role(principal, *BATCH_ROLES)
        batch = distribution.get_batch(db.session, batch_id)
        arrival.require_batch_access(principal, batch)
        return batch_detail(batch)


def batch_detail(batch: Any) -> dict[str, Any]:
    return {
        **summary_dict(arrival.summary(db.session, batch), kecamatan_names()),
        "cards": [card.__dict__ for card in arrival.cards(db.session, batch)],
    }


@blp.route("/<int:batch_id>/arrival")
class BatchArrival(MethodView):
    @blp.arguments(ArrivalRequest)
    @blp.response(200, ArrivalResponse)
    @blp.errors(401, 403, 404, 409, 422)
    def post(self, args: dict, batch_id: int) -> dict:
        """The Ka. UPTD confirms the batch's cards: ``arrived`` (or ``all_arrived``) and the ``missing`` ones
        with a note each. Each arrived card's parent is told it is ready; a missing card goes back to Dafdud.
        All or nothing."""
        principal = staff_principal()
        require_role(principal, "uptd")
        done = arrival.confirm(
            db.session,
            principal,
            batch_id,
            args["arrived"],
            args["missing"],
            forms.load_form,
            all_arrived=args["all_arrived"],
        )
        db.session.commit()
        return {
            "batch": summary_dict(done.batch, kecamatan_names()),
            "arrived": done.arrived,
            "missing": done.missing,
            "next_tasks": done.next_tasks,
        }
