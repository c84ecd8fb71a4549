"""Helpers the tests share: constants, sample data and small client calls (the fixtures are in
``conftest.py``)."""

from __future__ import annotations

import io
import itertools
import json
import os
import socket
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask.testing import FlaskClient

from engine.kia.identity import jakarta_today

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("KIA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "rahasia-uji-123"


def pg_reachable() -> str | None:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure means "not here"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def image_bytes(kind: str, size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real image ("PNG", "JPEG"): uploads are checked to open, not only by their first bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = image_bytes("PNG", (1, 1))
JPEG_BYTES = image_bytes("JPEG")


# The hand-over step's data (``engine.kia.handover``): the card to the child's mother, the applicant of
# ``application_data`` (her NIK as in the demo family's records, ``engine.kia.population.DEMO_FAMILY``).
MOTHER_NIK = "1471086107920002"
HANDOVER = {
    "recipient_name": "Siti Rahmawati",
    "recipient_nik": MOTHER_NIK,
    "recipient_relationship": "ibu",
    "card_number": "1471-0000-0001",
}


def application_data(**child_overrides: Any) -> dict[str, Any]:
    """A valid application for a child under five in Binawidya."""
    child = {
        "name": "Aisyah Putri Ramadhani",
        "nik": "1471085005230001",  # girl (day 10 + 40), born 2023-05-10
        "birth_date": "2023-05-10",
        "birth_place": "Pekanbaru",
        "sex": "P",
        "kk_number": "1471081506230002",
        "akta_number": "1471-LT-15062023-0001",
        "address": "Jl. Garuda Sakti Km 3 No. 12",
        "kecamatan": "14.71.08",
    }
    child.update(child_overrides)
    return {
        "applicant": {
            "name": "Siti Rahmawati",
            "phone": "081234567890",
            "email": "siti@example.com",
            "relationship": "ibu",
        },
        "child": child,
    }


_children = itertools.count()  # reset per test by the ``app`` fixture (``new_test``)


def new_test() -> None:
    global _children
    _children = itertools.count()


def submit(client: FlaskClient, data: dict | None = None, files: dict[str, bytes] | None = None):  # noqa: ANN201
    """Submit ``data`` (default: ``application_data()``, and from a test's second default submission on
    another child of the same birth, as a child may have only one open application)."""
    if data is None:
        n = next(_children)
        data = application_data() if n == 0 else application_data(nik=f"147108500523{n + 1:04d}")
    payload = {"data": json.dumps(data)}
    for name, content in (files if files is not None else {"kk": PDF_BYTES, "akta": PNG_BYTES}).items():
        payload[name] = (io.BytesIO(content), f"{name}.bin")
    return client.post("/api/v1/applications", data=payload, content_type="multipart/form-data")


def applicant_headers(client: FlaskClient, created: dict) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"code": created["code"], "pin": created["pin"]})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def inbox(client: FlaskClient, headers: dict[str, str], **params: str) -> list[dict]:
    response = client.get("/api/v1/tasks", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def today() -> date:
    """Today in Jakarta on the engine clock (the suite's calendar, see SUITE_START in conftest)."""
    return jakarta_today()


SYLLABLES = ("ba", "di", "ka", "mu", "ra", "se", "ti", "wa", "yu", "za")


def seeded_name(i: int) -> str:
    """A distinct plausible child's name per ``i`` < 1000 (letters only, as the form wants)."""
    return "Putri " + "".join(SYLLABLES[int(d)] for d in f"{i:03d}").capitalize()


def seed_applications(app: Any, children: list[dict[str, Any]], applicants: list[dict[str, Any]] | None = None):  # noqa: ANN201
    """Submit applications through the engine's use case (the same validation, workflow and rows as
    ``POST /api/v1/applications``, without the HTTP round trip and the upload parsing), one per entry of
    ``children`` (overrides of ``application_data``'s child). Returns their codes in submission order. The
    caller may freeze and advance ``clock`` to spread their arrival. Their PINs are not returned: every one
    gets the same (real) hash, computed once, since argon2 would otherwise be a third of the time."""
    from unittest import mock

    import forms
    from api.extensions import db
    from engine.kia import applications, reference
    from engine.kia.security import hash_secret
    from engine.workflow.clock import clock

    codes = []
    one_hash = hash_secret("000000")
    with app.app_context(), mock.patch.object(applications, "hash_secret", lambda _: one_hash):
        known = reference.known_region_codes(db.session)
        for n, child in enumerate(children):
            raw = application_data(**child)
            if applicants:
                raw["applicant"].update(applicants[n])
            data = forms.validate_application(raw, known_regions=known)
            uploads = [applications.Upload("kk", PDF_BYTES), applications.Upload("akta", PNG_BYTES)]
            created, _ = applications.submit(db.session, data, uploads, document_dir=app.config["DOCUMENT_DIR"])
            db.session.commit()
            codes.append(created.code)
            if clock._frozen is not None:  # noqa: SLF001 - spread the arrivals of a frozen clock
                clock.advance(timedelta(minutes=1))
    return codes


def bundled_files() -> Any:
    """The forms and decision tables beside the bundled diagram (what it is deployed with)."""
    from api import diagrams

    return diagrams.files_beside(ROOT / "bpmn" / "kia_whatsapp.bpmn")
