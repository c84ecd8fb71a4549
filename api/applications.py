"""Applications: submit (the applicant channel), read in full (staff), fetch documents."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import current_app, request, send_file, url_for
from flask.views import MethodView

import forms
from engine.kia import applications, reference
from engine.kia.access import may_see_population_records, require_application
from engine.kia.applications import Upload
from engine.kia.documents import path_of
from engine.kia.security import display_code
from engine.models import Document
from engine.reports import deliveries
from engine.reports.control_card import control_card, process_versions
from engine.workflow import incidents, instances
from engine.workflow.errors import NotFound

from . import ratelimit
from .auth import current_principal
from .errors import ApiError
from .extensions import db
from .http import Blueprint
from .schemas import ApplicationCreated, ApplicationDetail, ControlCard
from .views import history_view, task_values, verification_view

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications", description="KIA applications")

MULTIPART_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["data", "kk", "akta"],
                "properties": {
                    "data": {"type": "string", "description": "JSON: {applicant: {...}, child: {...}}"},
                    "kk": {"type": "string", "format": "binary", "description": "family card (PDF/JPEG/PNG)"},
                    "akta": {"type": "string", "format": "binary", "description": "birth certificate"},
                    "photo": {"type": "string", "format": "binary", "description": "2x3 photo, child of 5 or more"},
                },
            }
        }
    },
}


TOO_MANY_SUBMISSIONS = "Terlalu banyak permohonan dari alamat ini dalam satu jam; coba lagi nanti."


@blp.route("")
class ApplicationCollection(MethodView):
    @blp.doc(requestBody=MULTIPART_BODY)
    @blp.response(201, ApplicationCreated)
    @blp.errors(400, 409, 413, 415, 422, 429)
    def post(self) -> dict:
        """Submit an application: starts an instance and completes the applicant's submission step."""
        ratelimit.limit(
            "submit", current_app.config["SUBMIT_RATE_LIMIT"], window=timedelta(hours=1), message=TOO_MANY_SUBMISSIONS
        )
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, "unsupported_media_type", "Kirim sebagai multipart/form-data.")
        try:
            raw = json.loads(request.form.get("data", ""))
        except (ValueError, RecursionError):
            raise ApiError(
                422, "invalid_data", "Data permohonan tidak sah.", {"data": ["Bagian 'data' harus berisi JSON."]}
            ) from None
        if not isinstance(raw, dict):
            raise ApiError(
                422, "invalid_data", "Data permohonan tidak sah.", {"data": ["Bagian 'data' harus berupa objek JSON."]}
            )
        data = forms.validate_application(raw, known_regions=reference.known_region_codes(db.session))
        applications.refuse_duplicate(db.session, data["child"].get("nik"))
        uploads = [
            Upload(kind, request.files[kind].read(current_app.config["MAX_UPLOAD_BYTES"] + 1))
            for kind in ("kk", "akta", "photo")
            if kind in request.files
        ]
        app, pin = applications.submit(
            db.session,
            data,
            uploads,
            document_dir=current_app.config["DOCUMENT_DIR"],
            max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
            channel=request.args.get("channel", "web")[:16],
        )
        db.session.commit()
        return {
            "code": app.code,
            "display_code": display_code(app.code),
            "pin": pin,
            "status_url": status_url(app.code),
            "kia_kind": app.kia_kind,
            "warnings": data.get("warnings", []),
        }


def status_url(code: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/status/{code}"


@blp.route("/<code>")
class ApplicationItem(MethodView):
    @blp.response(200, ApplicationDetail)
    @blp.errors(401, 403, 404)
    def get(self, code: str) -> dict:
        """The full application with its documents and history (the control card), for staff."""
        return application_detail(code)


def application_detail(code: str) -> dict[str, Any]:
    """The application as the caller may see it (401/403/404 as for the endpoint): the applicant sees
    what they entered; the routing source, the verification against the population records and what
    the history holds of them only for staff ``may_see_population_records`` allows."""
    principal = current_principal()
    app = applications.by_code(db.session, code)
    require_application(principal, app)
    instance = app.instance
    records = may_see_population_records(principal, app)
    return {
        "code": app.code,
        "status": instance.status,
        "status_label": applications.status_label(instance),
        "kia_kind": app.kia_kind,
        "channel": app.channel,
        "kecamatan": instance.kecamatan,
        "process_version": instance.process_version.version,
        "applicant": app.applicant,
        "child": app.child,
        "warnings": app.warnings,
        "created_at": app.created_at,
        "completed_at": instance.completed_at,
        "documents": [
            {
                "id": d.id,
                "kind": d.kind,
                "media_type": d.media_type,
                "sha256": d.sha256,
                "size": d.size,
                "uploaded_at": d.uploaded_at,
                "url": url_for("applications.document", code=app.code, document_id=d.id),
            }
            for d in app.documents
        ],
        "tasks": [
            task_values(r, app.code, app.child.get("name")) for r in instances.open_tasks_of(db.session, instance.id)
        ],
        "history": history_view(db.session, instance.id, records),
        "routing": applications.routing_of(db.session, app) if records else None,
        "verification": verification_view(db.session, app) if records else None,
        "incidents": [incidents.as_dict(i) for i in incidents.open_of(db.session, instance.id)],
        "whatsapp_consent_at": app.whatsapp_consent_at,
        "whatsapp_unreachable_at": app.whatsapp_unreachable_at,
        "notices": deliveries.notices_of(db.session, instance.id),
    }


@blp.route("/<code>/control-card")
class ControlCardItem(MethodView):
    @blp.response(200, ControlCard)
    @blp.errors(401, 403, 404)
    def get(self, code: str) -> dict:
        """The control card: every hand-over in order with its standard, deadline, time taken and
        escalations (same access as the application itself)."""
        principal = current_principal()
        app = applications.by_code(db.session, code)
        require_application(principal, app)
        items = control_card(db.session, app.instance, may_see_population_records(principal, app))
        return {
            "code": app.code,
            "status": app.instance.status,
            "process": process_versions(db.session, app.instance),
            "items": items,
        }


DOCUMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@blp.route("/<code>/documents/<int:document_id>", endpoint="document")
@blp.response(200, content_type="application/octet-stream")
@blp.errors(401, 403, 404)
def document(code: str, document_id: int):  # noqa: ANN201
    """One uploaded document, for staff of the lanes (and kecamatan) that handle the application."""
    principal = current_principal()
    app = applications.by_code(db.session, code)
    require_application(principal, app)
    doc = db.session.get(Document, document_id)
    if doc is None or doc.application_id != app.id:
        raise NotFound("Dokumen tidak ditemukan.")
    path = path_of(current_app.config["DOCUMENT_DIR"], doc.sha256)
    if not path.exists():
        raise NotFound("Berkas dokumen tidak ditemukan di penyimpanan.")
    response = send_file(
        path, mimetype=doc.media_type, download_name=f"{app.code}-{doc.kind}", max_age=0, conditional=False
    )
    response.headers["Cache-Control"] = "no-store"  # a family card or birth certificate: kept in no cache
    # previewed inside the staff's verification page (a PDF in an iframe, which Chromium's viewer cannot
    # show sandboxed): framed by this service's own pages only, and still running nothing of its own
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    return response
