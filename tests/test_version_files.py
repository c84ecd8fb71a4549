"""Forms and decision tables deployed with a diagram: stored with the version (immutable, in its content
hash), returned by GET of the version, picked up beside the bundled diagram, handed to the Definition."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import provisioning
from api.extensions import db
from engine.models import ProcessVersion, VersionFile
from engine.workflow import definitions

from .diagrams import BUNDLED, bundled, with_quality_check
from .helpers import token

NOTE = "Formulir persetujuan dan tabel keputusan disertakan."
FORM = {
    "id": "persetujuan_kasi",
    "type": "default",
    "schemaVersion": 16,
    "components": [
        {
            "id": "Field_keputusan",
            "key": "keputusan",
            "label": "Keputusan",
            "type": "select",
            "validate": {"required": True},
            "values": [{"label": "Setuju", "value": "setuju"}, {"label": "Tolak", "value": "tolak"}],
        }
    ],
}
DMN = (BUNDLED.parent / "kia_rules.dmn").read_bytes()  # the table the diagram's business-rule task calls
VARIANT = DMN.replace(b"0 &lt;= ? &lt; 5", b"0 &lt;= ? &lt; 4")


def upload(
    client: FlaskClient,
    xml: bytes,
    forms: list[bytes] = (),  # type: ignore[assignment]
    decisions: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    note: str | None = NOTE,
    path: str = "/api/v1/processes",
):  # noqa: ANN201
    data: dict = {"file": (io.BytesIO(xml), "kia.bpmn")}
    data["form"] = [(io.BytesIO(raw), f"form{i}.form.json") for i, raw in enumerate(forms)]
    data["decision"] = [(io.BytesIO(raw), name) for name, raw in decisions]
    if note is not None:
        data["note"] = note
    return client.post(path, data=data, content_type="multipart/form-data", headers=token(client, "owner1"))


def encoded(form: dict) -> bytes:
    return json.dumps(form, indent=2).encode()


def test_a_version_keeps_its_forms_and_decision_tables(client: FlaskClient, app: Flask) -> None:
    response = upload(client, with_quality_check(), [encoded(FORM)], [("kia_rules.dmn", DMN)])
    assert response.status_code == 201, response.get_json()
    deployed = response.get_json()
    assert deployed["version"] == 2

    owner = token(client, "owner1")
    detail = client.get("/api/v1/processes/kia_whatsapp/versions/2", headers=owner)
    assert detail.status_code == 200, detail.get_json()
    body = detail.get_json()
    assert body["forms"] == [FORM]
    assert body["decisions"] == [{"name": "kia_rules.dmn", "xml": DMN.decode()}]
    assert (body["version"], body["active"], body["content_hash"]) == (2, True, deployed["content_hash"])
    assert client.get("/api/v1/processes/kia_whatsapp/versions/1", headers=owner).get_json()["forms"] == []
    assert client.get("/api/v1/processes/kia_whatsapp/versions/9", headers=owner).status_code == 404
    assert client.get("/api/v1/processes/kia_whatsapp/versions/2").status_code == 401

    # the same diagram and files (the form's JSON written differently) is the same version ...
    same = upload(client, with_quality_check(), [json.dumps(FORM, sort_keys=True).encode()], [("kia_rules.dmn", DMN)])
    assert (same.status_code, same.get_json()["version"]) == (200, 2)
    # ... another form, another decision table or no form is another version
    changed = {**FORM, "components": [{**FORM["components"][0], "label": "Keputusan Kasi"}]}
    hashes = {deployed["content_hash"]}
    for forms, decisions in (
        ([encoded(changed)], [("kia_rules.dmn", DMN)]),
        ([encoded(FORM)], [("kia_rules.dmn", VARIANT)]),
        ([], []),  # without tables it keeps the active version's (the variant)
    ):
        again = upload(client, with_quality_check(), forms, decisions)
        assert again.status_code == 201, again.get_json()
        hashes.add(again.get_json()["content_hash"])
    assert len(hashes) == 4
    # the form without tables is version 4 again: the tables kept from the active version 5 are the same
    kept = upload(client, with_quality_check(), [encoded(FORM)], [])
    assert (kept.status_code, kept.get_json()["version"]) == (200, 4)

    with app.app_context():
        version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.version == 2))
        definitions._DEFINITIONS.clear()  # as a fresh worker would: the definition from the stored rows
        definition = definitions.definition_of(version)
        assert definition.forms == {"persetujuan_kasi": FORM}
        assert definition.decisions == {"kia_rules.dmn": DMN}
        bare = db.session.scalar(select(ProcessVersion).where(ProcessVersion.version == 5))
        assert definitions.definition_of(bare).forms == {}
        assert definitions.definition_of(bare).decisions == {"kia_rules.dmn": VARIANT}


def test_unusable_files_are_refused_with_their_problems_and_nothing_is_deployed(client: FlaskClient) -> None:
    not_dmn = b"<definitions xmlns='urn:other'/>"
    entity = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><definitions/>'
    cases = [
        ([b"{bukan json"], [], "bukan JSON yang sah"),
        ([b"[1, 2]"], [], "harus berupa objek JSON formulir"),
        ([encoded({**FORM, "id": ""})], [], "id formulir wajib diisi"),
        ([encoded({**FORM, "id": "1 salah"})], [], "id formulir wajib diisi"),
        ([encoded(FORM), encoded(FORM)], [], "dua formulir memakai id 'persetujuan_kasi'"),
        ([], [("a.dmn", b"<definitions")], "XML tidak sah"),
        ([], [("a.dmn", not_dmn)], "bukan dokumen DMN"),
        ([], [("a.dmn", entity)], "DTD dan entitas XML tidak diizinkan"),
        ([], [("a.dmn", DMN), ("a.dmn", DMN)], "dua tabel keputusan memakai nama berkas 'a.dmn'"),
    ]
    for forms, decisions, message in cases:
        response = upload(client, bundled(), forms, decisions)
        assert response.status_code == 422, response.get_json()
        fields = response.get_json()["error"]["fields"]
        assert any(message in m for messages in fields.values() for m in messages), (message, fields)
        # the validate endpoint reports the same problems without deploying
        checked = upload(client, bundled(), forms, decisions, path="/api/v1/processes/validate").get_json()
        assert not checked["valid"] and any(message in p["message"] for p in checked["problems"])
    owner = token(client, "owner1")
    assert [v["version"] for v in client.get("/api/v1/processes", headers=owner).get_json()["items"]] == [1]


def test_files_sent_as_text_parts_and_the_single_file_deploy_still_work(client: FlaskClient) -> None:
    owner = token(client, "owner1")
    data = {"file": (io.BytesIO(with_quality_check()), "kia.bpmn"), "form": json.dumps(FORM), "note": NOTE}
    response = client.post("/api/v1/processes", data=data, content_type="multipart/form-data", headers=owner)
    assert response.status_code == 201, response.get_json()
    assert client.get("/api/v1/processes/kia_whatsapp/versions/2", headers=owner).get_json()["forms"] == [FORM]
    raw = client.post(
        "/api/v1/processes?note=Tanpa+berkas",
        data=with_quality_check(),  # the same diagram without its form: another version
        content_type="application/xml",
        headers=owner,
    )
    assert raw.status_code == 201, raw.get_json()
    third = client.get("/api/v1/processes/kia_whatsapp/versions/3", headers=owner).get_json()
    assert third["forms"] == []
    assert third["decisions"] == [{"name": "kia_rules.dmn", "xml": DMN.decode()}]  # kept: none were sent


def test_the_bundled_deploy_picks_up_the_files_beside_the_diagram(app: Flask, tmp_path: Path) -> None:
    diagram = tmp_path / BUNDLED.name
    shutil.copy(BUNDLED, diagram)
    (tmp_path / "persetujuan_kasi.form.json").write_bytes(encoded(FORM))
    (tmp_path / "kia_rules.dmn").write_bytes(DMN)
    (tmp_path / "catatan.txt").write_text("bukan bagian dari versi")
    with app.app_context():
        version = provisioning.deploy_bundled(diagram)
        assert version.version == 2
        stored = db.session.scalars(select(VersionFile).where(VersionFile.process_version_id == version.id)).all()
        assert sorted((f.kind, f.name) for f in stored) == [("decision", "kia_rules.dmn"), ("form", "persetujuan_kasi")]
        assert provisioning.deploy_bundled(diagram).id == version.id  # unchanged files: no new version
