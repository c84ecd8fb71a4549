"""Hostile input, table-driven: every case gets a clear 4xx with the documented error body and changes
nothing (process versions, instances, applications, documents, tasks, events, outbox, conversations,
the files on disk, every instance's lock version).

Three tables: diagrams deployed through the API, uploads with the submission, JSON bodies (every field of
each task form, the token request, the signed WhatsApp webhook). Each table's test tries every row and
reports all failures at once; the number of hostile inputs tried is written to
``test-artifacts/hostile-input.json``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.extensions import db
from engine.models import (
    Application,
    Conversation,
    Document,
    Event,
    InboundMessage,
    Instance,
    MessageStatus,
    Outbox,
    ProcessVersion,
    TaskRow,
    Timer,
)
from engine.workflow import definitions
from handlers.whatsapp.fake_graph import FakeGraph

from .helpers import (
    HANDOVER,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    ROOT,
    applicant_headers,
    application_data,
    inbox,
    submit,
    token,
)
from .whatsapp_helpers import APP_SECRET, Phone, configure, message_payload, text_part

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")
ARTIFACT = ROOT / "test-artifacts" / "hostile-input.json"
COUNTED_MODELS = (
    ProcessVersion,
    Instance,
    Application,
    Document,
    TaskRow,
    Event,
    Timer,
    Outbox,
    Conversation,
    InboundMessage,
    MessageStatus,
)
TRIED: dict[str, int] = {}


# --- the "nothing changed" and "clear 4xx" checks -------------------------------------------------


def snapshot(app: Flask) -> dict[str, Any]:
    """Row counts, every task's state and claimant, every instance's lock version, the files on disk."""
    with app.app_context():
        state: dict[str, Any] = {
            m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED_MODELS
        }
        state["tasks"] = sorted(db.session.execute(select(TaskRow.id, TaskRow.state, TaskRow.claimed_by)).all())
        state["locks"] = sorted(db.session.execute(select(Instance.id, Instance.lock_version, Instance.status)).all())
        state["applications"] = sorted(
            (a.code, json.dumps([a.applicant, a.child], sort_keys=True))
            for a in db.session.scalars(select(Application))
        )
    directory = Path(app.config["DOCUMENT_DIR"])
    state["files"] = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    return state


def refusal_problem(response: Any, allowed: set[int]) -> str | None:
    """None when ``response`` is one of the ``allowed`` 4xx answers with the documented error body."""
    if response.status_code not in allowed:
        return f"status {response.status_code} (expected {sorted(allowed)}): {response.get_data()[:300]!r}"
    if response.status_code == 200:
        return None
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
        and error["message"]
    ):
        return f"not the documented error body: {response.get_data()[:300]!r}"
    if "fields" in error and not isinstance(error["fields"], dict):
        return f"fields is not an object: {error['fields']!r}"
    if response.status_code == 422 and not error.get("fields"):
        return f"422 without field messages: {error!r}"
    return None


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[FlaskClient], Any]
    allowed: frozenset[int]


def run_table(table: str, app: Flask, client: FlaskClient, cases: list[Case]) -> None:
    """Send every case; each must be refused with the documented body and leave ``snapshot`` unchanged."""
    failures = []
    for case in cases:
        before = snapshot(app)
        response = case.send(client)
        problem = refusal_problem(response, set(case.allowed))
        after = snapshot(app)
        if problem is None and after != before:
            changed = sorted(k for k in before if before[k] != after[k])
            problem = f"changed {changed}"
        if problem:
            failures.append(f"{case.name}: {problem}")
    TRIED[table] = len(cases)
    _write_counts()
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures)


def _write_counts() -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    previous = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    counts = {**previous.get("tables", {}), **TRIED}
    ARTIFACT.write_text(json.dumps({"tables": counts, "total": sum(counts.values())}, indent=2) + "\n")


# --- 1. diagrams ------------------------------------------------------------------------------------

BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + f"]>\n<bpmn:definitions {BPMN_NS}><bpmn:documentation>&lol9;</bpmn:documentation>"
    "</bpmn:definitions>"
)


def _with_doctype(doctype: str, entity_use: str = "") -> str:
    """The bundled diagram with a DOCTYPE and an entity used in the process documentation."""
    body = DIAGRAM.split("?>", 1)[1]
    if entity_use:
        body = body.replace("<bpmn:documentation>", f"<bpmn:documentation>{entity_use}", 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + body


def _replace(old: str, new: str) -> str:
    assert old in DIAGRAM, old
    return DIAGRAM.replace(old, new, 1)


def _nested(depth: int) -> str:
    inner = "<bpmn:extensionElements>" * depth + "</bpmn:extensionElements>" * depth
    return _replace(
        '<bpmn:serviceTask id="svc_send_receipt" name="Kirim resi melalui WhatsApp">',
        '<bpmn:serviceTask id="svc_send_receipt" name="Kirim resi melalui WhatsApp">' + inner,
    )


def _script_task() -> str:
    xml = _replace(
        '<bpmn:serviceTask id="svc_send_receipt"', '<bpmn:scriptTask id="svc_send_receipt" scriptFormat="python"'
    )
    return xml.replace(
        "</spiffworkflow:serviceTaskOperator>\n      </bpmn:extensionElements>\n"
        "      <bpmn:incoming>flow_complete</bpmn:incoming>\n"
        "      <bpmn:outgoing>flow_receipt_sent</bpmn:outgoing>\n    </bpmn:serviceTask>",
        "</spiffworkflow:serviceTaskOperator>\n      </bpmn:extensionElements>\n"
        "      <bpmn:incoming>flow_complete</bpmn:incoming>\n"
        "      <bpmn:outgoing>flow_receipt_sent</bpmn:outgoing>\n"
        '      <bpmn:script>import os; os.system("id")</bpmn:script>\n    </bpmn:scriptTask>',
        1,
    )


DIAGRAMS: list[tuple[str, bytes | str, set[int]]] = [
    (
        "XXE file:///etc/passwd",
        _with_doctype('<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', "&xxe;"),
        {422},
    ),
    (
        "XXE external DTD over the network",
        _with_doctype('<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">\n'),
        {422},
    ),
    (
        "XXE parameter entity",
        _with_doctype('<!DOCTYPE bpmn:definitions [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'),
        {422},
    ),
    ("billion laughs", BILLION_LAUGHS, {422}),
    (
        "XXE in UTF-16 (hides the DOCTYPE from a byte search)",
        _with_doctype('<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', "&xxe;")
        .replace('encoding="UTF-8"', 'encoding="UTF-16"')
        .encode("utf-16"),
        {422},
    ),
    ("the bundled diagram in UTF-16", DIAGRAM.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"), {422}),
    (
        "huge file (over the limit)",
        DIAGRAM.replace("<bpmn:documentation>", "<bpmn:documentation>" + "x" * definitions.MAX_DIAGRAM_BYTES, 1),
        {413},
    ),
    ("deep nesting (10,000 levels)", _nested(10_000), {422}),
    ("deep nesting without a root (100,000 levels)", "<a>" * 100_000 + "</a>" * 100_000, {422}),
    ("script task", _script_task(), {422}),
    (
        "spiffworkflow preScript",
        _replace(
            '<spiffworkflow:serviceTaskOperator id="send_receipt" resultVariable="">',
            "<spiffworkflow:preScript>import os</spiffworkflow:preScript>"
            '<spiffworkflow:serviceTaskOperator id="send_receipt" resultVariable="">',
        ),
        {422},
    ),
    ("dunder in a condition", _replace('decision == "complete"', "().__class__.__bases__"), {422}),
    ("dunder subclasses walk", _replace('decision == "complete"', "().__class__.__base__.__subclasses__()"), {422}),
    ("import in a condition", _replace('decision == "complete"', "__import__('os').system('id')"), {422}),
    ("dunder in a timer", _replace(">deadline()<", ">deadline.__globals__<"), {422}),
    ("huge repetition in a condition", _replace('decision == "complete"', "'x' * 10 ** 10"), {422}),
    ("huge power in a condition", _replace('decision == "complete"', "9 ** 9 ** 9 > 1"), {422}),
    ("lambda in a condition", _replace('decision == "complete"', "(lambda: 1)()"), {422}),
    ("not XML", "das ist kein XML", {422}),
    ("empty body", b"", {422}),
    ("binary garbage", bytes(range(256)) * 8, {422}),
    ("invalid UTF-8", DIAGRAM.encode("utf-8").replace(b"Penerbitan KIA", b"Penerbitan \xff\xfe KIA", 1), {422}),
    ("NUL byte", DIAGRAM.replace("Penerbitan KIA", "Penerbitan \x00 KIA", 1), {422}),
    ("truncated", DIAGRAM[: len(DIAGRAM) // 2], {422}),
    ("wrong root: not BPMN", "<not-bpmn/>", {422}),
    ("wrong root: a bare process", f'<bpmn:process {BPMN_NS} id="p" isExecutable="true"/>', {422}),
    ("wrong root: HTML", "<html><body><script>alert(1)</script></body></html>", {422}),
    ("no executable process", _replace('isExecutable="true"', 'isExecutable="false"'), {422}),
    ("lint: unknown form", _replace('value="verification"', 'value="tidak_ada"'), {422}),
    ("lint: lane named as a service role", _replace('<bpmn:lane id="dafdud"', '<bpmn:lane id="owner"'), {422}),
    ("lint: lane id no role name", _replace('<bpmn:lane id="dafdud"', '<bpmn:lane id="Gudang-1"'), {422}),
    ("lint: bad time standard", _replace('value="PT1H"', 'value="satu jam"'), {422}),
    (
        "lint: unknown handler",
        _replace('id="send_receipt" resultVariable=""', 'id="hapus_semua" resultVariable=""'),
        {422},
    ),
    ("lint: reserved id", _replace('<bpmn:startEvent id="start_application"', '<bpmn:startEvent id="Start"'), {422}),
    ("parser: flow to nowhere", _replace('targetRef="verify_application"', 'targetRef="ke_mana_mana"'), {422}),
]


def _deploy(content: bytes | str, content_type: str = "application/xml") -> Callable[[FlaskClient], Any]:
    data = content.encode("utf-8") if isinstance(content, str) else content

    def send(client: FlaskClient) -> Any:
        owner = token(client, "owner1")
        if content_type == "multipart/form-data":
            return client.post(
                "/api/v1/processes",
                headers=owner,
                content_type=content_type,
                data={"file": (io.BytesIO(data), "diagram.bpmn"), "note": "uji"},
            )
        return client.post("/api/v1/processes?note=uji", headers=owner, data=data, content_type=content_type)

    return send


def diagram_cases() -> list[Case]:
    cases = [Case(name, _deploy(xml), frozenset(allowed)) for name, xml, allowed in DIAGRAMS]
    cases += [
        Case(f"{name} (multipart)", _deploy(xml, "multipart/form-data"), frozenset(allowed))
        for name, xml, allowed in DIAGRAMS[:8]
    ]
    cases += [
        Case("diagram as text/plain", _deploy(DIAGRAM, "text/plain"), frozenset({415})),
        Case("diagram as JSON", _deploy(json.dumps({"xml": DIAGRAM}), "application/json"), frozenset({415})),
        Case(
            "multipart without the file part",
            lambda c: c.post(
                "/api/v1/processes",
                headers=token(c, "owner1"),
                content_type="multipart/form-data",
                data={"datei": (io.BytesIO(DIAGRAM.encode()), "d.bpmn")},
            ),
            frozenset({400}),
        ),
    ]
    return cases


def test_hostile_diagrams_are_refused_and_the_deployed_version_keeps_serving(client: FlaskClient, app: Flask) -> None:
    run_table("diagrams", app, client, diagram_cases())
    listed = client.get("/api/v1/processes", headers=token(client, "owner1")).get_json()["items"]
    assert [v["version"] for v in listed] == [1]
    created = submit(client)
    assert created.status_code == 201, created.get_json()
    admin = token(client, "admin1")
    assert [t["application_code"] for t in inbox(client, admin)] == [created.get_json()["code"]]
    assert "root:" not in json.dumps(listed)


# --- 2. uploads -------------------------------------------------------------------------------------


REAL_PNG, REAL_JPEG = PNG_BYTES, JPEG_BYTES
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run"


def _multipart(parts: dict[str, Any]) -> Callable[[FlaskClient], Any]:
    def send(client: FlaskClient) -> Any:
        data = {}
        for name, value in parts.items():
            if isinstance(value, tuple):
                data[name] = (io.BytesIO(value[1]), value[0])
            else:
                data[name] = value
        return client.post("/api/v1/applications", data=data, content_type="multipart/form-data")

    return send


def _raw(body: bytes, content_type: str) -> Callable[[FlaskClient], Any]:
    return lambda client: client.post("/api/v1/applications", data=body, content_type=content_type)


VALID_DATA = json.dumps(application_data())


def _with_files(**files: tuple[str, bytes] | None) -> dict[str, Any]:
    parts: dict[str, Any] = {"data": VALID_DATA, "kk": ("kk.pdf", PDF_BYTES), "akta": ("akta.png", REAL_PNG)}
    for name, value in files.items():
        if value is None:
            parts.pop(name)
        else:
            parts[name] = value
    return parts


def _broken_multipart(cut: int) -> Callable[[FlaskClient], Any]:
    boundary = "----kiaboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{VALID_DATA}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="kk"; filename="kk.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF_BYTES
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="akta"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + REAL_PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return _raw(
        body[:cut] if cut else body.replace(b"--" + boundary.encode() + b"--", b"--" + b"x" * 5),
        f"multipart/form-data; boundary={boundary}",
    )


def upload_cases(max_upload: int, max_request: int) -> list[Case]:
    rows: list[tuple[str, Callable[[FlaskClient], Any], set[int]]] = [
        ("ELF executable named kk.pdf", _multipart(_with_files(kk=("kk.pdf", ELF))), {415}),
        ("Windows executable named akta.pdf", _multipart(_with_files(akta=("akta.pdf", WINDOWS_EXE))), {415}),
        ("HTML named kk.jpg", _multipart(_with_files(kk=("kk.jpg", b"<html><script>alert(1)</script></html>"))), {415}),
        (
            "SVG with a script named akta.png",
            _multipart(
                _with_files(
                    akta=("akta.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
                )
            ),
            {415},
        ),
        ("PNG header + garbage", _multipart(_with_files(akta=("akta.png", PNG_BYTES[:8] + b"\xde\xad" * 100))), {415}),
        ("PNG header + zeros", _multipart(_with_files(akta=("akta.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64))), {415}),
        ("PNG cut in half", _multipart(_with_files(akta=("akta.png", REAL_PNG[: len(REAL_PNG) // 2]))), {415}),
        (
            "PNG with a wrong chunk CRC",
            _multipart(_with_files(akta=("akta.png", REAL_PNG[:29] + bytes([REAL_PNG[29] ^ 0xFF]) + REAL_PNG[30:]))),
            {415},
        ),
        (
            "JPEG header + garbage",
            _multipart(_with_files(akta=("akta.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64))),
            {415},
        ),
        ("JPEG cut short", _multipart(_with_files(akta=("akta.jpg", REAL_JPEG[:40]))), {415}),
        (
            "PDF header + HTML (no end of file marker)",
            _multipart(_with_files(kk=("kk.pdf", b"%PDF-1.4\n<html><script>alert(1)</script></html>"))),
            {415},
        ),
        ("GIF", _multipart(_with_files(akta=("akta.gif", b"GIF89a" + b"\x00" * 32))), {415}),
        ("empty kk", _multipart(_with_files(kk=("kk.pdf", b""))), {415, 422}),
        ("empty akta", _multipart(_with_files(akta=("akta.png", b""))), {415, 422}),
        (
            "kk over KIA_MAX_UPLOAD_BYTES",
            _multipart(_with_files(kk=("kk.pdf", b"%PDF-1.4\n" + b"0" * max_upload + b"\n%%EOF\n"))),
            {413},
        ),
        (
            "body over MAX_CONTENT_LENGTH",
            _multipart(_with_files(kk=("kk.pdf", b"%PDF-1.4\n" + b"0" * max_request + b"\n%%EOF\n"))),
            {413},
        ),
        ("missing kk", _multipart(_with_files(kk=None)), {422}),
        ("missing akta", _multipart(_with_files(akta=None)), {422}),
        ("missing data", _multipart({"kk": ("kk.pdf", PDF_BYTES), "akta": ("a.png", REAL_PNG)}), {422}),
        ("only data", _multipart({"data": VALID_DATA}), {422}),
        ("nothing at all", _multipart({}), {422}),
        ("data is not JSON", _multipart(_with_files(data="nama=Siti")), {422}),
        ("data is a JSON array", _multipart(_with_files(data="[1, 2]")), {422}),
        ("data is a JSON string", _multipart(_with_files(data='"halo"')), {422}),
        ("data is null", _multipart(_with_files(data="null")), {422}),
        ("data sent as a file", _multipart(_with_files(data=("data.json", VALID_DATA.encode()))), {422}),
        ("data nested 100,000 deep", _multipart(_with_files(data="[" * 100_000 + "]" * 100_000)), {422}),
        ("data with a lone surrogate", _multipart(_with_files(data=VALID_DATA.replace("Siti", "\\ud800"))), {422}),
        (
            "data in Latin-1 bytes",
            _multipart(_with_files(data=("", VALID_DATA.replace("Siti", "S\xeeti").encode("latin-1")))),
            {422},
        ),
        ("truncated multipart (boundary cut)", _broken_multipart(300), {400, 422}),
        ("multipart without its closing boundary", _broken_multipart(0), {400, 422}),
        ("multipart without a boundary parameter", _raw(b"--x\r\n\r\n", "multipart/form-data"), {400, 415, 422}),
        ("JSON instead of multipart", _raw(VALID_DATA.encode(), "application/json"), {415}),
        ("form-urlencoded", _raw(b"data=%7B%7D", "application/x-www-form-urlencoded"), {415}),
        ("no content type", lambda c: c.post("/api/v1/applications", data=b"abc"), {415}),
    ]
    return [Case(name, send, frozenset(allowed)) for name, send, allowed in rows]


def test_hostile_uploads_are_refused(client: FlaskClient, app: Flask) -> None:
    cases = upload_cases(app.config["MAX_UPLOAD_BYTES"], app.config["MAX_CONTENT_LENGTH"])
    run_table("uploads", app, client, cases)
    ok = _multipart(_with_files(kk=("kk.jpg", REAL_JPEG)))(client)  # the real thing still passes
    assert ok.status_code == 201, ok.get_json()


# --- 3. JSON bodies ---------------------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, Any]] = [
    ("integer", 123),
    ("float", 1.5),
    ("true", True),
    ("null", None),
    ("array", ["complete"]),
    ("object", {"$ne": ""}),
    ("huge integer", 10**30),
    ("negative", -1),
]
ODD_TEXT: list[tuple[str, str]] = [
    ("1 MB string", "x" * 1_000_000),
    ("NUL", "Siti\x00Rahmawati"),
    ("lone surrogate", "Siti \ud800"),
    ("reversed surrogates", "\udfff\ud800"),
    ("RTL override", "Siti \u202efdp.exe"),
    ("bidi isolate", "\u2067Siti\u2069"),
    ("escape character", "\x1b[31mSiti"),
]
NAME_ONLY_ODD: list[tuple[str, str]] = [
    ("zero-width only", "\u200b\u200b"),
    ("zero-width inside", "Si\u200bti"),
    ("emoji", "Siti \U0001f600"),
    ("stacked combining marks", "S" + "\u0301" * 30 + "iti"),
    ("digits", "Siti 123"),
    ("markup", "<script>alert(1)</script>"),
]


@dataclass
class Stage:
    """One application waiting at a task, with the headers of someone allowed to complete it."""

    code: str
    task_id: str
    headers: dict[str, str]


def _stages(client: FlaskClient) -> dict[str, Stage]:
    """Applications waiting at verification, printing, grouping, arrival at the UPTD, hand-over and
    correction."""
    admin, operator = token(client, "admin1"), token(client, "operator1")
    dafdud, uptd = token(client, "dafdud1"), token(client, "uptd_binawidya")
    steps = [
        (admin, {"decision": "complete"}),
        (operator, {"decision": "issued"}),
        (dafdud, {"batch": "B1"}),
        (uptd, {"decision": "arrived"}),
    ]
    stages: dict[str, Stage] = {}
    for depth, (form_key, headers) in enumerate(
        (("verification", admin), ("printing", operator), ("grouping", dafdud), ("arrival", uptd), ("handover", uptd))
    ):
        code = submit(client).get_json()["code"]
        for step_headers, body in steps[:depth]:
            [task] = [t for t in inbox(client, step_headers) if t["application_code"] == code]
            response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=step_headers, json=body)
            assert response.status_code == 200, response.get_json()
        [task] = [t for t in inbox(client, headers) if t["application_code"] == code]
        assert task["form_key"] == form_key
        stages[form_key] = Stage(code, task["id"], headers)
    created = submit(client).get_json()
    [task] = [t for t in inbox(client, admin) if t["application_code"] == created["code"]]
    client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "incomplete", "note": "Foto KK buram."}
    )
    applicant = applicant_headers(client, created)
    [task] = [t for t in inbox(client, applicant)]
    stages["correction"] = Stage(created["code"], task["id"], applicant)
    return stages


VALID_BODIES: dict[str, dict[str, Any]] = {
    "verification": {"decision": "incomplete", "note": "Foto KK buram.", "override_reason": "Sudah dicek."},
    "printing": {"decision": "problem", "note": "Data bermasalah.", "card_number": "KIA-001"},
    "grouping": {"batch": "B1", "note": "Senin pagi"},
    "arrival": {"decision": "missing", "note": "Tidak ada dalam amplop."},
    "handover": {**HANDOVER, "note": "Diambil ibu"},
    "correction": {
        "response": "Sudah diperbaiki.",
        "applicant": {"name": "Siti Rahmawati"},
        "child": {"name": "Aisyah Putri Ramadhani"},
    },
}
NAME_FIELDS = {("handover", "recipient_name"), ("correction", "applicant.name"), ("correction", "child.name")}
NESTED_FIELDS = {
    "correction": [
        "applicant.name",
        "applicant.phone",
        "applicant.email",
        "applicant.relationship",
        "child.name",
        "child.nik",
        "child.birth_date",
        "child.birth_place",
        "child.sex",
        "child.kk_number",
        "child.akta_number",
        "child.address",
        "child.kecamatan",
    ]
}


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    target = out
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return out


def _post_json(
    url: str,
    body: Any,
    headers: Callable[[], dict[str, str]] | None = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> Callable[[FlaskClient], Any]:
    def send(client: FlaskClient) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        return client.post(url, data=data, content_type=content_type, headers=headers() if headers else {})

    return send


def _whole_body_cases(
    name: str, url: str, headers: Callable[[], dict[str, str]] | None, object_status: set[int]
) -> list[Case]:
    deep = "[" * 100_000 + "]" * 100_000
    bodies: list[tuple[str, bytes, str, set[int]]] = [
        ("array body", b"[]", "application/json", {400, 422}),
        ("array of objects", b'[{"decision": "complete"}]', "application/json", {400, 422}),
        ("string body", b'"complete"', "application/json", {400, 422}),
        ("number body", b"1e999", "application/json", {400, 422}),
        ("null body", b"null", "application/json", {400, 422}),
        ("empty body", b"", "application/json", {400, 422}),
        ("not JSON", b"decision=complete", "application/json", {400}),
        ("JSON with a trailing comma", b'{"decision": "complete",}', "application/json", {400}),
        ("NaN", b'{"decision": NaN}', "application/json", {400, 422}),
        ("integer with 5,000 digits", b'{"decision": ' + b"9" * 5000 + b"}", "application/json", {400, 422}),
        ("array nested 100,000 deep", deep.encode(), "application/json", {400, 422}),
        ("object nested 100,000 deep", (b'{"a":' * 100_000) + b"1" + b"}" * 100_000, "application/json", {400, 422}),
        ("object nested 50 deep", (b'{"a":' * 50) + b"1" + b"}" * 50, "application/json", object_status),
        ("invalid UTF-8", b'{"decision": "\xff\xfe"}', "application/json", {400}),
        ("UTF-16", json.dumps({"decision": "complete"}).encode("utf-16"), "application/json", {400, 422}),
        ("form-urlencoded", b"decision=complete", "application/x-www-form-urlencoded", {400, 415, 422}),
        ("text/plain JSON", b'{"decision": "complete"}', "text/plain", {400, 415, 422}),
    ]
    return [
        Case(f"{name}: {label}", _post_json(url, None, headers, raw, ctype), frozenset(allowed))
        for label, raw, ctype, allowed in bodies
    ]


def task_cases(stages: dict[str, Stage]) -> list[Case]:
    cases = []
    for form_key, valid in VALID_BODIES.items():
        stage = stages[form_key]
        url = f"/api/v1/tasks/{stage.task_id}/complete"

        def headers(s: Stage = stage) -> dict[str, str]:
            return s.headers

        fields = [k for k in valid if not isinstance(valid[k], dict)] + NESTED_FIELDS.get(form_key, [])
        for field in fields:
            values = [*WRONG_TYPES, *ODD_TEXT]
            if (form_key, field) in NAME_FIELDS:
                values += NAME_ONLY_ODD
            for label, value in values:
                cases.append(
                    Case(
                        f"{form_key}.{field} = {label}",
                        _post_json(url, _set(valid, field, value), headers),
                        frozenset({422}),
                    )
                )
        cases.append(
            Case(
                f"{form_key}: unknown field __class__",
                _post_json(url, {**valid, "__class__": 1}, headers),
                frozenset({422}),
            )
        )
        if form_key != "grouping":  # every grouping field is optional
            cases.append(Case(f"{form_key}: empty object", _post_json(url, {}, headers), frozenset({422})))
        cases += _whole_body_cases(form_key, url, headers, {422})
    for section in ("applicant", "child"):
        for label, value in (("array", []), ("string", "x"), ("number", 5)):
            body = {**VALID_BODIES["correction"], section: value}
            cases.append(
                Case(
                    f"correction.{section} = {label}",
                    _post_json(
                        f"/api/v1/tasks/{stages['correction'].task_id}/complete",
                        body,
                        lambda: stages["correction"].headers,
                    ),
                    frozenset({422}),
                )
            )
    return cases


def test_hostile_task_completions_are_refused(client: FlaskClient, app: Flask) -> None:
    stages = _stages(client)
    run_table("task completion", app, client, task_cases(stages))
    for form_key, stage in stages.items():  # every task still completes with good data afterwards
        body = {**VALID_BODIES[form_key]}
        if form_key == "correction":
            body.pop("applicant")
        response = client.post(f"/api/v1/tasks/{stage.task_id}/complete", headers=stage.headers, json=body)
        assert response.status_code == 200, (form_key, response.get_json())


def token_cases() -> list[Case]:
    url = "/api/v1/auth/token"
    valid = {"username": "admin1", "password": "salah-sekali"}
    applicant = {"code": "ABCD2345EFGH", "pin": "123456"}
    cases = []
    for base, fields in ((valid, ("username", "password")), (applicant, ("code", "pin"))):
        for field in fields:
            for label, value in [*WRONG_TYPES, *ODD_TEXT]:
                cases.append(
                    Case(
                        f"token.{field} = {label}", _post_json(url, {**base, field: value}), frozenset({400, 401, 422})
                    )
                )
    cases += _whole_body_cases("token", url, None, {400, 422})
    return cases


def test_hostile_token_requests_are_refused(client: FlaskClient, app: Flask) -> None:
    run_table("token", app, client, token_cases())
    assert (
        client.post("/api/v1/auth/token", json={"username": "admin1", "password": "rahasia-uji-123"}).status_code == 200
    )


def _signed(payload: Any = None, raw: bytes | None = None) -> Callable[[FlaskClient], Any]:
    from handlers.whatsapp.webhook import sign

    def send(client: FlaskClient) -> Any:
        body = raw if raw is not None else json.dumps(payload).encode()
        return client.post(
            "/webhooks/whatsapp",
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": sign(APP_SECRET, body)},
        )

    return send


def _value(**value: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def _message(**overrides: Any) -> dict[str, Any]:
    payload = message_payload(text_part("Halo"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0].update(overrides)
    return payload


def webhook_cases() -> list[Case]:
    """Signed deliveries that are not what Meta sends: 400 when the body is no JSON object, otherwise the
    malformed parts are skipped (200, nothing processed; Meta would repeat a 4xx delivery for days)."""
    skipped = frozenset({200})
    structure: list[tuple[str, Any]] = [
        ("entry = number", {"entry": 5}),
        ("entry = string", {"entry": "abc"}),
        ("entry = object", {"entry": {}}),
        ("entry item = number", {"entry": [5]}),
        ("changes = number", {"entry": [{"changes": 5}]}),
        ("changes = string", {"entry": [{"changes": "x"}]}),
        ("change = list", {"entry": [{"changes": [[1]]}]}),
        ("value = list", {"entry": [{"changes": [{"value": []}]}]}),
        ("messages = number", _value(messages=5)),
        ("messages = string", _value(messages="Halo")),
        ("messages = object", _value(messages={"id": "x"})),
        ("contacts = number", _value(contacts=5, messages=[])),
        ("statuses = number", _value(statuses=5)),
        ("statuses = string", _value(statuses="sent")),
        ("status errors = number", _value(statuses=[{"id": "wamid.X", "status": "failed", "errors": 5}])),
        ("status errors = object", _value(statuses=[{"id": "wamid.X", "status": "failed", "errors": {"a": 1}}])),
        ("status errors = strings", _value(statuses=[{"id": "wamid.X", "status": "failed", "errors": ["x"]}])),
        ("status id = number", _value(statuses=[{"id": 5, "status": "sent"}])),
        ("status id 1 MB", _value(statuses=[{"id": "w" * 1_000_000, "status": "sent"}])),
        ("message id = number", _message(id=5)),
        ("message id = list", _message(id=["a"])),
        ("message id 1 MB", _message(id="w" * 1_000_000)),
        ("message id with NUL", _message(id="wamid.\x00")),
        (
            "message from = number",
            {
                **_message(**{"from": 62812}),
                "entry": [
                    {
                        "changes": [
                            {
                                "value": {
                                    "messages": [
                                        {
                                            **_message()["entry"][0]["changes"][0]["value"]["messages"][0],
                                            "from": 62812,
                                            "from_user_id": None,
                                        }
                                    ]
                                }
                            }
                        ]
                    }
                ],
            },
        ),
        ("text = string", _message(text="Halo")),
        ("text = list", _message(text=["Halo"])),
        ("text body = list", _message(text={"body": ["Halo"]})),
        ("text body = object", _message(text={"body": {"a": 1}})),
        ("text body 1 MB", _message(text={"body": "x" * 1_000_000})),
        ("type = list", _message(type=["text"])),
        ("type 1 MB", _message(type="t" * 1_000_000)),
        ("image = string", _message(type="image", image="x")),
        ("image id = object", _message(type="image", image={"id": {"a": 1}, "mime_type": "image/png"})),
        ("document = list", _message(type="document", document=[1])),
        ("interactive = string", _message(type="interactive", interactive="x")),
        ("interactive reply = string", _message(type="interactive", interactive={"button_reply": "x"})),
        ("button = list", _message(type="button", button=[1])),
        (
            "status timestamp out of range",
            _value(statuses=[{"id": "wamid.X", "status": "sent", "timestamp": "9" * 40, "recipient_id": 5}]),
        ),
    ]
    cases = [Case(f"webhook: {label}", _signed(payload), skipped) for label, payload in structure]
    cases += [
        Case(f"webhook: {label}", _signed(raw=raw), frozenset({400}))
        for label, raw in (
            ("array body", b"[]"),
            ("string body", b'"x"'),
            ("null body", b"null"),
            ("not JSON", b"entry=1"),
            ("invalid UTF-8", b'{"entry": "\xff"}'),
            ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
            ("empty body", b""),
        )
    ]
    return cases


def test_hostile_webhook_deliveries_are_refused(
    client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    run_table("whatsapp webhook", app, client, webhook_cases())
    assert Phone(client, app, fake).say("Halo")  # a real message is still answered


def test_odd_unicode_in_a_whatsapp_answer_is_asked_again(
    client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    phone = Phone(client, app, fake)
    phone.say("Halo")
    assert "Nama pemohon" in phone.say("1")[-1]
    tried = 0
    for label, value in [*ODD_TEXT[1:], *NAME_ONLY_ODD]:
        replies = phone.say(value)
        tried += 1
        assert len(replies) == 1 and "Nama pemohon" in replies[0], (label, replies)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 0
    TRIED["whatsapp answers"] = tried
    _write_counts()
