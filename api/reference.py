"""Reference data: region codes and Pekanbaru's kecamatan with their UPTD (staff read, supervisors edit)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema

from engine.kia import reference
from engine.kia.access import require_role
from engine.models import Kecamatan, Region

from .auth import staff_principal
from .extensions import db
from .http import Blueprint, load_json
from .schemas import (
    KecamatanList,
    KecamatanSchema,
    KecamatanUpdate,
    RegionList,
    RegionQuery,
    RegionSchema,
    RegionUpdate,
)

blp = Blueprint(
    "reference",
    __name__,
    url_prefix="/api/v1/reference",
    description="Reference data: region codes, kecamatan and UPTD",
)

WRITE_ERRORS = (400, 401, 403, 415, 422)


def _body(schema: type[Schema]) -> dict[str, Any]:
    """The supervisor's JSON body, loaded by ``schema`` (403 for anyone else, 422 per field)."""
    require_role(staff_principal(), "supervisor")
    return load_json(schema)


def region_dict(row: Region) -> dict[str, str]:
    return {"code": row.code, "name": row.name, "level": row.level}


def kecamatan_dict(row: Kecamatan) -> dict[str, str]:
    return {
        "code": row.code,
        "name": row.name,
        "uptd_name": row.uptd_name,
        "uptd_address": row.uptd_address,
        "uptd_head": row.uptd_head,
        "uptd_head_nip": row.uptd_head_nip,
        "uptd_hours": row.uptd_hours,
    }


@blp.route("/regions")
class RegionCollection(MethodView):
    @blp.arguments(RegionQuery, location="query")
    @blp.response(200, RegionList)
    @blp.errors(401, 403, 422)
    def get(self, args: dict) -> dict:
        """Region codes (staff), optionally of one level or under one parent code."""
        staff_principal()
        rows = reference.regions(db.session, args.get("level"), args.get("parent"))
        return {"items": [region_dict(r) for r in rows]}


@blp.route("/regions/<code>")
class RegionItem(MethodView):
    @blp.response(200, RegionSchema)
    @blp.errors(401, 403, 404)
    def get(self, code: str) -> dict:
        """One region code (staff)."""
        staff_principal()
        return region_dict(reference.get_region(db.session, code))

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": RegionUpdate}}})
    @blp.response(200, RegionSchema)
    @blp.errors(*WRITE_ERRORS)
    def put(self, code: str) -> dict:
        """Add or rename a region code (supervisor); the level follows from the code, the parent must
        exist. NIK and KK numbers are checked against these codes from the next submission on."""
        data = _body(RegionUpdate)
        row, _ = reference.set_region(db.session, code, data["name"])
        db.session.commit()
        return region_dict(row)


@blp.route("/kecamatan")
class KecamatanCollection(MethodView):
    @blp.response(200, KecamatanList)
    @blp.errors(401, 403)
    def get(self) -> dict:
        """Pekanbaru's kecamatan and their UPTD (staff)."""
        staff_principal()
        return {"items": [kecamatan_dict(r) for r in reference.kecamatan_list(db.session)]}


@blp.route("/kecamatan/<code>")
class KecamatanItem(MethodView):
    @blp.response(200, KecamatanSchema)
    @blp.errors(401, 403, 404)
    def get(self, code: str) -> dict:
        """One kecamatan and its UPTD (staff)."""
        staff_principal()
        return kecamatan_dict(reference.get_kecamatan(db.session, code))

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": KecamatanUpdate}}})
    @blp.response(200, KecamatanSchema)
    @blp.errors(*WRITE_ERRORS)
    def put(self, code: str) -> dict:
        """Add a kecamatan or edit its name and UPTD (name, address, head and their NIP) (supervisor). Receipts,
        status pages and recaps show the new values from now on."""
        data = _body(KecamatanUpdate)
        row, _ = reference.set_kecamatan(db.session, code, reference.KecamatanChange(**data))
        db.session.commit()
        return kecamatan_dict(row)
