"""Reference data: region codes and kecamatan/UPTD in the database, edited by supervisors (API and CLI),
and used by the NIK and KK checks at submission."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from engine.workflow.clock import clock

from .helpers import application_data, submit, token


def test_seeded_by_the_schema_migration(client: FlaskClient) -> None:
    admin = token(client, "admin1")
    regions = client.get("/api/v1/reference/regions", headers=admin).get_json()["items"]
    by_level = {level: [r for r in regions if r["level"] == level] for level in ("province", "regency", "district")}
    assert len(by_level["province"]) == 38
    assert {"code": "14.71", "name": "Kota Pekanbaru", "level": "regency"} in by_level["regency"]
    assert [r["code"] for r in by_level["district"]] == [f"14.71.{n:02d}" for n in range(1, 16)]
    riau = client.get("/api/v1/reference/regions", headers=admin, query_string={"parent": "14", "level": "regency"})
    assert len(riau.get_json()["items"]) == 12
    one = client.get("/api/v1/reference/kecamatan/14.71.08", headers=admin)
    assert one.get_json() == {
        "code": "14.71.08",
        "name": "Binawidya",
        "uptd_name": "UPTD Disdukcapil Kecamatan Binawidya",
        "uptd_address": "Kantor Camat Binawidya, Kota Pekanbaru",
        "uptd_head": "",
        "uptd_head_nip": "",
        "uptd_hours": "Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.30 WIB",
    }
    assert len(client.get("/api/v1/reference/kecamatan", headers=admin).get_json()["items"]) == 15
    assert client.get("/api/v1/reference/regions/14.71.99", headers=admin).status_code == 404
    assert client.get("/api/v1/reference/kecamatan", headers={}).status_code == 401


def test_supervisor_edits_a_uptd_and_the_receipt_data_follow(client: FlaskClient) -> None:
    since = (clock.now() - timedelta(seconds=1)).isoformat()  # the audit log outlives each test
    supervisor, admin = token(client, "supervisor1"), token(client, "admin1")
    body = {"uptd_head": "Drs. H. Ahmad Fauzi", "uptd_address": "Jl. Garuda Sakti Km 2, Binawidya"}
    assert client.put("/api/v1/reference/kecamatan/14.71.08", json=body, headers=admin).status_code == 403
    response = client.put("/api/v1/reference/kecamatan/14.71.08", json=body, headers=supervisor)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["uptd_head"] == "Drs. H. Ahmad Fauzi"
    assert response.get_json()["name"] == "Binawidya"  # untouched
    created = submit(client).get_json()
    status = client.get(f"/api/v1/status/{created['code']}").get_json()
    assert status["pickup"]["address"] == "Jl. Garuda Sakti Km 2, Binawidya"
    audit = client.get(
        "/api/v1/audit", headers=supervisor, query_string={"actor": "supervisor1", "from": since}
    ).get_json()
    assert any(
        e["method"] == "PUT" and e["path"] == "/api/v1/reference/kecamatan/14.71.08" and e["status"] == 200
        for e in audit["items"]
    )


def test_invalid_edits_get_indonesian_field_messages(client: FlaskClient) -> None:
    supervisor = token(client, "supervisor1")
    cases = [
        ("/api/v1/reference/regions/14.7", {"name": "X"}, "code"),
        ("/api/v1/reference/regions/14.72.01", {"name": "X"}, "code"),  # parent 14.72 does not exist
        ("/api/v1/reference/regions/14.72", {"name": ""}, "name"),
        ("/api/v1/reference/regions/14.72", {}, "name"),
        ("/api/v1/reference/kecamatan/14.72.01", {"name": "X"}, "code"),  # not in Pekanbaru
        ("/api/v1/reference/kecamatan/14.71.16", {"uptd_head": "X"}, "name"),  # new one without a name
        ("/api/v1/reference/kecamatan/14.71.08", {"uptd_name": "x" * 201}, "uptd_name"),
        ("/api/v1/reference/kecamatan/14.71.08", {"uptd_head_nip": "19690512"}, "uptd_head_nip"),
    ]
    for path, body, field in cases:
        response = client.put(path, json=body, headers=supervisor)
        assert response.status_code == 422, (path, response.get_json())
        assert field in response.get_json()["error"]["fields"], (path, response.get_json())
    assert client.put("/api/v1/reference/regions/14.72", data="x", headers=supervisor).status_code == 415


def test_submission_checks_nik_and_kk_against_the_database_codes(client: FlaskClient) -> None:
    supervisor = token(client, "supervisor1")
    data = application_data(nik="1472085005230001", kk_number="1472081506230002")  # a new city of Riau
    refused = submit(client, data)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "child": {
            "nik": ["Kode kabupaten/kota pada NIK tidak dikenal."],
            "kk_number": ["Kode kabupaten/kota pada nomor KK tidak dikenal."],
        }
    }
    added = client.put("/api/v1/reference/regions/14.72", json={"name": "Kota Contoh"}, headers=supervisor)
    assert added.status_code == 200 and added.get_json()["level"] == "regency"
    accepted = submit(client, data)
    assert accepted.status_code == 201, accepted.get_json()


def test_cli_lists_and_edits(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reference", "set-kecamatan", "14.71.03", "--uptd-head", "Hj. Rina Marlina"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["reference", "kecamatan"]).output
    assert "14.71.03  Sail" in listing and "Hj. Rina Marlina" in listing
    result = runner.invoke(args=["reference", "set-region", "14.74", "Kota Contoh"])
    assert result.exit_code == 0 and "14.74 (regency) ditambahkan" in result.output
    assert "14.74" in runner.invoke(args=["reference", "regions", "--parent", "14"]).output
    bad = runner.invoke(args=["reference", "set-region", "1474", "X"])
    assert bad.exit_code != 0 and "Kode wilayah tidak sah" in bad.output
