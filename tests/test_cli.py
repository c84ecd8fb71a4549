"""The ``kia`` command through Click's runner, on the test database."""

from __future__ import annotations

from flask import Flask

from api.extensions import db
from engine.models import ProcessVersion, User
from engine.workflow import definitions

from .helpers import ROOT

DIAGRAM = ROOT / "bpmn" / "kia_whatsapp.bpmn"


def test_users_add_reads_the_password_from_stdin(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "add",
            "kepala.sail",
            "--role",
            "uptd",
            "--kecamatan",
            "14.71.03",
            "--full-name",
            "Kepala UPTD Sail",
            "--password-stdin",
        ],
        input="kata-sandi-panjang\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.query(User).filter_by(username="kepala.sail").one()
        assert (user.roles, user.kecamatan, user.initials) == ("uptd", "14.71.03", "KUS")
        assert "kata-sandi-panjang" not in user.password_hash
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "kepala.sail", "password": "kata-sandi-panjang"})
    assert response.status_code == 200


def test_users_add_refuses_unknown_roles_and_uptd_without_kecamatan(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "add", "x", "--role", "raja", "--password-stdin"], input="12345678\n")
    assert result.exit_code != 0 and "Peran tidak dikenal" in result.output
    result = runner.invoke(args=["users", "add", "x", "--role", "uptd", "--password-stdin"], input="12345678\n")
    assert result.exit_code != 0 and "kecamatan" in result.output


def test_deploy_refuses_a_bad_diagram_and_accepts_a_changed_one(app: Flask, tmp_path) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    no_note = runner.invoke(args=["deploy", str(DIAGRAM)])
    assert no_note.exit_code != 0 and "--note" in no_note.output
    same = runner.invoke(args=["deploy", str(DIAGRAM), "--note", "sama"])
    assert same.exit_code == 0 and "sudah ada sebagai versi 1" in same.output
    bad = tmp_path / "bad.bpmn"
    bad.write_text(DIAGRAM.read_text().replace('value="PT1H"', 'value="sejam"'))
    result = runner.invoke(args=["deploy", str(bad), "--note", "standar waktu"])
    assert result.exit_code != 0 and "verify_application" in result.output
    good = tmp_path / "good.bpmn"
    good.write_text(DIAGRAM.read_text().replace('value="PT5M"', 'value="PT10M"'))
    result = runner.invoke(args=["deploy", str(good), "--note", "Pengingat pemohon 10 menit"])
    assert result.exit_code == 0 and "versi 2" in result.output
    with app.app_context():
        assert db.session.query(ProcessVersion).count() == 2
        assert definitions.get_version(db.session, "kia_whatsapp").note == "Pengingat pemohon 10 menit"


def test_demo_creates_accounts_that_can_sign_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0 and "demo-kia-2026" in result.output
    client = app.test_client()
    for username in ("admin", "operator", "dafdud", "uptd.binawidya", "pemilik", "supervisor"):
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo-kia-2026"})
        assert response.status_code == 200, username
