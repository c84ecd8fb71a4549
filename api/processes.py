"""Process versions: list, upload (lint + deploy a diagram with its forms and decision tables and a change
note), activate (roll back), read a version (its files) and its diagram back."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from marshmallow import ValidationError
from sqlalchemy import func, select

from engine.kia.access import require_role
from engine.models import Instance, ProcessVersion
from engine.workflow import definitions, version_files, versions
from engine.workflow.errors import DiagramRejected
from forms.fields import NOTE_MAX_LENGTH, String

from . import diagrams
from .auth import current_principal, staff_principal
from .errors import ApiError
from .extensions import db
from .http import Blueprint
from .schemas import (
    ActivationRequest,
    ActivationSchema,
    ProcessList,
    ProcessVersionSchema,
    ValidationResult,
    VersionDetailSchema,
    VersionQuery,
)

blp = Blueprint("processes", __name__, url_prefix="/api/v1/processes", description="Process versions")

FILE_PARTS = {
    "form": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "zero or more form-js JSON documents, each with an `id` (a user task's form_key names it)",
    },
    "decision": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "zero or more DMN decision tables (XML), named by their file names",
    },
}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string", "description": "a BPMN 2.0 file"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}, **FILE_PARTS},
            }
        },
    },
}
DEPLOY_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "note"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "a BPMN 2.0 file"},
                    "note": {"type": "string", "maxLength": NOTE_MAX_LENGTH, "description": "what changed and why"},
                    **FILE_PARTS,
                },
            }
        },
        "application/xml": {
            "schema": {
                "type": "string",
                "description": "a BPMN 2.0 file; the change note in the `note` query parameter",
            }
        },
    },
}
NOTE_REQUIRED = "Catatan perubahan wajib diisi: tuliskan apa yang diubah dan alasannya."


def version_dict(
    version: ProcessVersion, running: int = 0, created: bool | None = None, active: bool | None = None
) -> dict:
    out = {
        "process_key": version.process_key,
        "version": version.version,
        "content_hash": version.content_hash,
        "deployed_at": version.deployed_at,
        "deployed_by": version.deployed_by,
        "note": version.note,
        "running_instances": running,
    }
    if created is not None:
        out["created"] = created
    if active is not None:
        out["active"] = active
    return out


def versions_with_running() -> list[tuple[ProcessVersion, int, bool]]:
    """Every deployed version, newest first per process, with its number of running applications and
    whether it is the active one."""
    running = dict(
        db.session.execute(
            select(Instance.process_version_id, func.count())
            .where(Instance.completed_at.is_(None))
            .group_by(Instance.process_version_id)
        ).all()
    )
    listed = list(
        db.session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc()))
    )
    active = {versions.active_version(db.session, key).id for key in {v.process_key for v in listed}}
    return [(v, running.get(v.id, 0), v.id in active) for v in listed]


@blp.route("")
class ProcessCollection(MethodView):
    @blp.response(200, ProcessList)
    @blp.errors(401, 403)
    def get(self) -> dict:
        """Every deployed version with the number of applications still running on it (staff)."""
        staff_principal()
        return {"items": [version_dict(v, running, active=active) for v, running, active in versions_with_running()]}

    @blp.doc(requestBody=DEPLOY_BODY)
    @blp.response(201, ProcessVersionSchema)
    @blp.alt_response(
        200,
        schema=ProcessVersionSchema,
        description="the same content was already deployed: that version, unchanged (activate it to go back)",
    )
    @blp.errors(401, 403, 413, 415, 422)
    def post(self) -> tuple[dict, int]:
        """Upload a diagram with its forms and decision tables (multipart parts ``form``, ``decision``) and
        a change note: lint them, dry-run every path, and deploy them as the next version, which new
        applications then start on (process owners only). A refused upload changes nothing; the deployed
        version keeps serving. Without a note: 422."""
        require_role(current_principal(), "owner")
        xml = _uploaded_xml()
        files = _uploaded_files()
        note = _change_note(required=False)
        if not note:  # a broken diagram is told its problems first, then the missing note
            checked = diagrams.check(xml, files, db.session)
            if checked.problems:
                raise DiagramRejected(checked.problems)
            raise ApiError(422, "invalid_data", NOTE_REQUIRED, {"note": [NOTE_REQUIRED]})
        version, created = diagrams.deploy(db.session, xml, current_principal().name, files, note=note)
        db.session.commit()
        active = versions.active_version(db.session, version.process_key).id == version.id
        return version_dict(version, created=created, active=active), 201 if created else 200


@blp.route("/<key>/versions/<int:version>/activate")
class VersionActivation(MethodView):
    @blp.arguments(ActivationRequest)
    @blp.response(200, ActivationSchema)
    @blp.errors(401, 403, 404, 415, 422)
    def post(self, args: dict, key: str, version: int) -> dict:
        """Make this version the one new applications start on (roll back), with a reason (process
        owners). Applications already running stay on their version. Recorded in the history and the
        audit log; 422 when it is already the active version."""
        principal = current_principal()
        require_role(principal, "owner")
        activation, previous = versions.activate(db.session, key, version, args["reason"], principal.name)
        db.session.commit()
        return {
            "process_key": key,
            "version": version,
            "previous_version": previous.version,
            "reason": activation.reason,
            "actor": activation.actor,
            "at": activation.at,
        }


@blp.route("/validate")
class ProcessValidation(MethodView):
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(200, ValidationResult)
    @blp.errors(401, 403, 413, 415)
    def post(self) -> dict:
        """Lint a diagram (with its forms and decision tables) and dry-run every path without deploying it:
        every problem with the element it names, and each path walked with its outcome (process owners)."""
        require_role(current_principal(), "owner")
        xml = _uploaded_xml()
        try:
            files = _uploaded_files()
        except DiagramRejected as exc:
            return diagrams.checked_dict(diagrams.Checked(None, list(exc.problems)))
        return diagrams.checked_dict(diagrams.check(xml, files, db.session))


def _change_note(required: bool = True) -> str:
    """The deploy's change note: a form field (multipart) or the ``note`` query parameter; 422 without
    (unless not ``required``: then empty)."""
    raw = request.form.get("note") if request.mimetype == "multipart/form-data" else request.args.get("note")
    try:
        note = String(max_length=NOTE_MAX_LENGTH).deserialize(raw or "")
    except ValidationError as exc:
        raise ApiError(422, "invalid_data", "Catatan perubahan tidak sah.", {"note": exc.messages}) from None
    if not note and required:
        raise ApiError(422, "invalid_data", NOTE_REQUIRED, {"note": [NOTE_REQUIRED]})
    return note


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


def _uploaded_files() -> version_files.VersionFiles:
    """The forms and decision tables uploaded beside the diagram (multipart parts ``form`` and
    ``decision``, as files or as text); ``DiagramRejected`` when one is not usable."""
    if request.mimetype != "multipart/form-data":
        return version_files.NO_FILES
    limits = {"form": version_files.MAX_FORM_BYTES, "decision": version_files.MAX_DECISION_BYTES}
    parts: dict[str, list[tuple[str, bytes]]] = {"form": [], "decision": []}
    for part, limit in limits.items():
        for upload in request.files.getlist(part):
            parts[part].append((upload.filename or "", upload.read(limit + 1)))
        parts[part] += [("", text.encode("utf-8")) for text in request.form.getlist(part)]
    return version_files.read([raw for _, raw in parts["form"]], parts["decision"])


@blp.route("/<key>/versions/<int:version>")
class ProcessVersionDetail(MethodView):
    @blp.response(200, VersionDetailSchema)
    @blp.errors(401, 403, 404)
    def get(self, key: str, version: int) -> dict:
        """One version with the forms (form-js JSON) and decision tables (DMN XML) deployed with it (staff);
        its diagram is ``GET .../bpmn?version=``."""
        staff_principal()
        found = definitions.get_version(db.session, key, version)
        running = db.session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(Instance.process_version_id == found.id, Instance.completed_at.is_(None))
        )
        active = versions.active_version(db.session, key).id == found.id
        files = version_files.from_rows(found.files)
        return {
            **version_dict(found, running or 0, active=active),
            "forms": list(files.forms.values()),
            "decisions": [{"name": name, "xml": xml.decode("utf-8")} for name, xml in files.decisions.items()],
        }


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
