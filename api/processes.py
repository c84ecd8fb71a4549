"""Process versions: list, upload (lint + deploy), read a version's diagram back."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from sqlalchemy import func, select

from engine.kia.access import require_role
from engine.models import Instance, ProcessVersion
from engine.workflow import definitions

from . import diagrams
from .auth import current_principal, staff_principal
from .errors import ApiError
from .extensions import db
from .http import Blueprint
from .schemas import ProcessList, ProcessVersionSchema, ValidationResult, VersionQuery

blp = Blueprint("processes", __name__, url_prefix="/api/v1/processes", description="Process versions")

UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string", "description": "a BPMN 2.0 file"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}


def version_dict(version: ProcessVersion, running: int = 0, created: bool | None = None) -> dict:
    out = {
        "process_key": version.process_key,
        "version": version.version,
        "content_hash": version.content_hash,
        "deployed_at": version.deployed_at,
        "deployed_by": version.deployed_by,
        "running_instances": running,
    }
    if created is not None:
        out["created"] = created
    return out


def versions_with_running() -> list[tuple[ProcessVersion, int]]:
    """Every deployed version, newest first per process, with its number of running applications."""
    running = dict(
        db.session.execute(
            select(Instance.process_version_id, func.count())
            .where(Instance.completed_at.is_(None))
            .group_by(Instance.process_version_id)
        ).all()
    )
    versions = db.session.scalars(
        select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc())
    )
    return [(v, running.get(v.id, 0)) for v in versions]


@blp.route("")
class ProcessCollection(MethodView):
    @blp.response(200, ProcessList)
    @blp.errors(401, 403)
    def get(self) -> dict:
        """Every deployed version with the number of applications still running on it (staff)."""
        staff_principal()
        return {"items": [version_dict(v, running) for v, running in versions_with_running()]}

    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(201, ProcessVersionSchema)
    @blp.alt_response(200, schema=ProcessVersionSchema, description="the same content was already deployed")
    @blp.errors(401, 403, 413, 415, 422)
    def post(self) -> tuple[dict, int]:
        """Upload a diagram: lint it, dry-run every path, and deploy it as the next version (process owners
        only). A refused diagram changes nothing; the deployed version keeps serving."""
        require_role(current_principal(), "owner")
        xml = _uploaded_xml()
        version, created = diagrams.deploy(db.session, xml, current_principal().name)
        db.session.commit()
        return version_dict(version, created=created), 201 if created else 200


@blp.route("/validate")
class ProcessValidation(MethodView):
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(200, ValidationResult)
    @blp.errors(401, 403, 413, 415)
    def post(self) -> dict:
        """Lint a diagram and dry-run every path without deploying it: every problem with the element it
        names, and each path walked with its outcome (process owners)."""
        require_role(current_principal(), "owner")
        return diagrams.checked_dict(diagrams.check(_uploaded_xml()))


def _uploaded_xml() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "bad_request", "Unggah berkas BPMN pada bagian 'file'.")
        xml = upload.read(definitions.MAX_DIAGRAM_BYTES + 1)
    elif request.mimetype in {"application/xml", "text/xml", "application/bpmn+xml"}:
        xml = request.get_data(cache=False)
    else:
        raise ApiError(415, "unsupported_media_type", "Kirim diagram sebagai application/xml atau multipart.")
    if len(xml) > definitions.MAX_DIAGRAM_BYTES:
        raise ApiError(413, "too_large", "Diagram terlalu besar.")
    return xml


@blp.route("/<key>/bpmn")
class ProcessDiagram(MethodView):
    @blp.arguments(VersionQuery, location="query")
    @blp.response(200, content_type="application/xml")
    @blp.errors(401, 403, 404)
    def get(self, args: dict, key: str) -> Response:
        """The diagram of one version (the latest without ``version``), for staff."""
        staff_principal()
        version = definitions.get_version(db.session, key, args.get("version"))
        return Response(version.bpmn_xml, mimetype="application/xml")
