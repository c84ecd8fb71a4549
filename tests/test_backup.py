"""`kia backup` and `kia restore`: a round trip on SQLite and PostgreSQL with applications in every
state keeps every instance runnable to the end and every document downloadable; bad files are refused
with nothing changed."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.extensions import db
from engine.models import Event, Instance
from engine.workflow import instances

from .helpers import HANDOVER, PDF_BYTES, PNG_BYTES, applicant_headers, application_data, submit, token

STAFF_FORMS = {  # form key: who completes it, with what
    "verification": ("admin1", {"decision": "complete"}),
    "printing": ("operator1", {"decision": "issued"}),
    "grouping": ("dafdud1", {"batch": "2026-11-28"}),
    "arrival": ("uptd_binawidya", {"decision": "arrived"}),
    "handover": ("uptd_binawidya", HANDOVER),
}


def _submit(client: FlaskClient, n: int) -> dict:
    files = {"kk": PDF_BYTES + f"% kk {n}\n".encode(), "akta": PDF_BYTES + f"% akta {n}\n".encode()}
    response = submit(client, application_data(nik=f"147108500523{n + 1:04d}"), files)  # one child each
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _detail(client: FlaskClient, code: str) -> dict:
    response = client.get(f"/api/v1/applications/{code}", headers=token(client, "supervisor1"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _step(client: FlaskClient, created: dict, data: dict | None = None) -> str:
    """Complete the application's one open task (staff or the applicant's correction); the new status."""
    [task] = _detail(client, created["code"])["tasks"]
    if task["lane"] == "applicant":
        headers = applicant_headers(client, created)
        data = data or {"response": "Sudah diperbaiki."}
    else:
        user, form = STAFF_FORMS[task["form_key"]]
        headers, data = token(client, user), data or form
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["status"]


def _to_end(client: FlaskClient, created: dict) -> None:
    for _ in range(10):
        if _detail(client, created["code"])["status"] == "selesai":
            return
        _step(client, created)
    raise AssertionError(f"{created['code']} did not finish")


def _snapshot(client: FlaskClient, app: Flask, codes: list[str]) -> dict:
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(Event))
        db.session.rollback()
    details = {code: _detail(client, code) for code in codes}
    return {
        "events": events,
        "status": {code: d["status"] for code, d in details.items()},
        "tasks": {code: [(t["id"], t["step"]) for t in d["tasks"]] for code, d in details.items()},
        "documents": {code: [(doc["url"], doc["sha256"]) for doc in d["documents"]] for code, d in details.items()},
    }


def _run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_round_trip_keeps_every_instance_runnable_and_every_document(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    created = [_submit(client, n) for n in range(5)]
    # 0 waits for verification; 1 for printing; 2 for grouping; 3 is back with the applicant; 4 finished
    _step(client, created[1])
    for _ in range(2):
        _step(client, created[2])
    _step(client, created[3], {"decision": "incomplete", "note": "Foto KK buram, mohon unggah ulang."})
    _to_end(client, created[4])
    codes = [c["code"] for c in created]
    before = _snapshot(client, app, codes)
    assert list(before["status"].values()) == ["diajukan", "diverifikasi", "dicetak", "perlu_perbaikan", "selesai"]

    file = tmp_path / "kia-backup.tar.gz"
    code, output = _run(app, "backup", str(file))
    assert code == 0, output
    on_disk = [p for p in Path(app.config["DOCUMENT_DIR"]).glob("??/*") if p.is_file()]  # earlier tests' too
    assert f"{len(on_disk)} dokumen" in output, output
    with tarfile.open(file) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        in_backup = {name.rsplit("/", 1)[-1] for name in tar.getnames() if name.startswith("documents/")}
    kind = "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"
    assert (manifest["documents"], manifest["database"]) == (len(on_disk), kind)
    ours = {sha256 for documents in before["documents"].values() for _, sha256 in documents}
    assert len(ours) == 10 and ours <= in_backup

    # the disaster: work goes on after the backup, then documents are lost and the database is changed
    _to_end(client, created[0])
    _submit(client, 99)
    shutil.rmtree(app.config["DOCUMENT_DIR"])

    code, output = _run(app, "restore", "--yes", str(file))
    assert code == 0, output
    assert f"{len(on_disk)} dokumen" in output, output
    assert _snapshot(client, app, codes) == before

    with app.app_context():  # every instance deserializes through the engine
        rows = list(db.session.scalars(select(Instance)))
        assert len(rows) == 5
        for row in rows:
            instances.load(db.session, row)
        db.session.rollback()
    supervisor = token(client, "supervisor1")
    for code_, documents in before["documents"].items():
        for url, sha256 in documents:
            response = client.get(url, headers=supervisor)
            assert response.status_code == 200, (code_, url)
            assert hashlib.sha256(response.data).hexdigest() == sha256
    for c in created:  # and every one runs to the end
        _to_end(client, c)
    assert set(_snapshot(client, app, codes)["status"].values()) == {"selesai"}


def _corrupt(tmp_path: Path, good: Path, kind: str) -> Path:
    bad = tmp_path / f"{kind}.tar.gz"
    if kind == "random":
        bad.write_bytes(PNG_BYTES * 50)
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        with tarfile.open(good) as src, tarfile.open(bad, "w:gz") as dst:
            for member in src:
                content = src.extractfile(member).read()
                if kind == "no-manifest" and member.name == "manifest.json":
                    continue
                if kind == "tampered-document" and member.name.startswith("documents/"):
                    content = content + b"x"
                if kind == "other-database" and member.name == "manifest.json":
                    manifest = json.loads(content)
                    manifest["database"] = "sqlite" if manifest["database"] == "postgresql" else "postgresql"
                    content = json.dumps(manifest).encode()
                if kind == "broken-database" and member.name.startswith("database."):
                    content = b"not a database at all" * 100
                member.size = len(content)
                dst.addfile(member, io.BytesIO(content))
    return bad


@pytest.mark.parametrize(
    "kind, message",
    [
        ("random", "bukan cadangan KIA yang utuh"),
        ("truncated", "bukan cadangan KIA yang utuh"),
        ("no-manifest", "manifest.json tidak ada"),
        ("tampered-document", "tidak cocok dengan namanya"),
        ("other-database", "pulihkan ke basis data yang sejenis"),
        ("broken-database", "rusak atau bukan basis data layanan KIA"),
    ],
)
def test_bad_file_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient, tmp_path: Path, kind: str, message: str
) -> None:
    first = _submit(client, 1)
    good = tmp_path / "good.tar.gz"
    assert _run(app, "backup", str(good))[0] == 0
    second = _submit(client, 2)
    before = _snapshot(client, app, [first["code"], second["code"]])

    code, output = _run(app, "restore", "--yes", str(_corrupt(tmp_path, good, kind)))
    assert code != 0
    assert message in output and "Basis data tidak diubah" in output, output
    assert _snapshot(client, app, [first["code"], second["code"]]) == before


def test_restore_asks_before_replacing(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    _submit(client, 1)
    file = tmp_path / "b.tar.gz"
    assert _run(app, "backup", str(file))[0] == 0
    result = app.test_cli_runner().invoke(args=["restore", str(file)], input="n\n")
    assert result.exit_code != 0 and "Lanjutkan?" in result.output
