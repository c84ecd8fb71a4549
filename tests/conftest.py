"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``KIA_TEST_PG_URL`` (default: the local server, trust auth). Without it the
PostgreSQL half is skipped with a reason, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import io
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from api import create_app
from api.extensions import db
from api.provisioning import add_user, init_database
from engine import models
from engine.kia import reference
from engine.workflow import worktime
from engine.workflow.clock import clock
from handlers.whatsapp.fake_graph import FakeGraph

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("KIA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "rahasia-uji-123"

STAFF = [
    ("admin1", ["admin"], None),
    ("admin2", ["admin"], None),
    ("operator1", ["operator"], None),
    ("dafdud1", ["dafdud"], None),
    ("uptd_binawidya", ["uptd"], "14.71.08"),
    ("uptd_sukajadi", ["uptd"], "14.71.01"),
    ("owner1", ["owner"], None),
    ("supervisor1", ["supervisor"], None),
]

# Transactional tables, children first; users and the bundled version survive between tests.
_PER_TEST_TABLES = [
    models.InboundMessage,
    models.Conversation,
    models.MessageStatus,
    models.DeliveryAttempt,
    models.DistributionItem,
    models.DistributionBatch,
    models.ApiToken,
    models.Outbox,
    models.Event,
    models.Timer,
    models.TaskRow,
    models.Document,
    models.Application,
    models.Instance,
    models.RateLimit,
    models.CalendarOverride,
    models.Revision,
    models.PopulationRecord,
    # reference data is re-seeded per test (a test or the fuzzer may have edited it)
    models.Region,
    models.Kecamatan,
]


def _pg_reachable() -> str | None:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure means "not here"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); PostgreSQL half skipped")
    name = f"kia_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/kia.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new empty database of the same kind as ``database_url``, for one test (schema migrations)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    name = f"kia_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{database_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app_factory(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Build an app for a database URL with test settings (working time off unless asked)."""

    def build(url: str, **overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DOCUMENT_DIR": str(tmp_path_factory.mktemp("documents")),
            "KIA_WORKING_TIME": False,
            "KIA_SCHEDULER": False,
            "SECRET_KEY": "test-secret",
            "STATUS_RATE_LIMIT": 1000,
            "LOGIN_RATE_LIMIT": 1000,
            "PUBLIC_BASE_URL": "http://kia.test",
        }
        config.update(overrides)
        return create_app(config)

    return build


@pytest.fixture(scope="session")
def _provisioned_app(database_url: str, app_factory) -> Flask:  # noqa: ANN001
    app = app_factory(database_url)
    with app.app_context():
        init_database(app.config["KIA_BUNDLED_DIAGRAM"])
        for username, roles, kecamatan in STAFF:
            add_user(username, PASSWORD, roles, username.replace("_", " ").title(), kecamatan)
    return app


@pytest.fixture
def app(_provisioned_app: Flask) -> Iterator[Flask]:
    """A provisioned app on a clean database (per test), with the real clock."""
    clock.reset()
    with _provisioned_app.app_context():
        for table in _PER_TEST_TABLES:
            db.session.execute(delete(table))
        bundled = db.session.query(models.ProcessVersion).order_by(models.ProcessVersion.id).first()
        db.session.execute(delete(models.ProcessVersion).where(models.ProcessVersion.id != bundled.id))
        reference.seed(db.session)
        db.session.commit()
    yield _provisioned_app
    clock.reset()


@pytest.fixture
def working_time() -> Iterator[None]:
    """Working time on (Asia/Jakarta office hours and Indonesian holidays) for one test."""
    worktime.configure(enabled=True)
    yield
    worktime.configure(enabled=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """The local fake of the WhatsApp Graph API (a real HTTP server)."""
    with FakeGraph() as server:
        yield server


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 that wants a login (without TLS, on loopback only)."""

    def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"kia" and auth_data.password == b"sandi"
        return AuthResult(success=ok)

    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_USER": "kia",
        "SMTP_PASSWORD": "sandi",
        "MAIL_FROM": "KIA Pekanbaru <kia@disdukcapil.example>",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield mailbox
    controller.stop()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    with app.app_context():
        yield db.session


# --- helpers ------------------------------------------------------------------------------------------


def image_bytes(kind: str, size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real image ("PNG", "JPEG"): uploads are checked to open, not only by their first bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = image_bytes("PNG", (1, 1))
JPEG_BYTES = image_bytes("JPEG")


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


def submit(client: FlaskClient, data: dict | None = None, files: dict[str, bytes] | None = None):  # noqa: ANN201
    import json

    payload = {"data": json.dumps(data or application_data())}
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
    return date.today()
