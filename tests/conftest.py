"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``KIA_TEST_PG_URL`` (default: the local server, trust auth). Without it the
PostgreSQL half is skipped with a reason, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from api import create_app
from api.extensions import db
from api.provisioning import add_user, init_database
from engine import models
from engine.kia import reference
from engine.workflow import worktime
from engine.workflow.clock import clock
from handlers.delivery import CHANNELS
from handlers.whatsapp.fake_graph import FakeGraph

from . import helpers
from .helpers import PASSWORD, PG_ADMIN_URL, Mailbox, free_port, pg_reachable

# The suite's calendar: every process of a test run (this one, and the servers, schedulers and CLI
# commands it starts, through KIA_CLOCK_OFFSET) runs on the engine clock started at this instant, so the
# tests pass the same whatever the year (a child born in 2023 stays under five; scripted dates in 2027
# stay in the future). 09:00 WIB on a working Tuesday.
SUITE_START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
os.environ["KIA_CLOCK_OFFSET"] = str(round((SUITE_START - datetime.now(UTC)).total_seconds()))
clock.start_offset = timedelta(seconds=float(os.environ["KIA_CLOCK_OFFSET"]))

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


def staff_name(username: str) -> str:
    return username.replace("_", " ").title()


# Tables that survive between tests: the staff accounts and the bundled version with its files
# (provisioned once per session; other versions are deleted per test) and the audit log (append-only:
# triggers refuse deletes).
SURVIVING_TABLES = frozenset({"users", "process_versions", "process_version_files", "process_activations", "audit_log"})
# Every other table, children first: emptied before each test (reference data is then seeded again, as
# a test or the fuzzer may have edited it). A new model's table is in it by itself.
PER_TEST_TABLES = [t for t in reversed(models.Base.metadata.sorted_tables) if t.name not in SURVIVING_TABLES]


# KIA_TEST_DATABASES=sqlite runs the database tests on SQLite only (`make check`); CI always runs both.
DATABASES = (
    ["sqlite", "postgresql"]
    if os.environ.get("CI")
    else [d for d in ("sqlite", "postgresql") if d in os.environ.get("KIA_TEST_DATABASES", "sqlite,postgresql")]
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if "postgresql" not in DATABASES:
        pytest.skip("PostgreSQL left out by KIA_TEST_DATABASES")
    problem = pg_reachable()
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


@pytest.fixture(scope="session", params=DATABASES)
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
            "SUBMIT_RATE_LIMIT": 1000,
            "PUBLIC_BASE_URL": "http://kia.test",
            "LETTERHEAD_ADDRESS": "Jl. Uji Coba No. 1, Kota Pekanbaru, Riau 28000",
            "LETTERHEAD_PHONE": "(0761) 555-0100",
            "LETTERHEAD_WEBSITE": "disdukcapil.pekanbaru.test",
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
            add_user(username, PASSWORD, roles, staff_name(username), kecamatan)
    return app


@pytest.fixture
def app(_provisioned_app: Flask) -> Iterator[Flask]:
    """A provisioned app on a clean database (per test), with the real clock."""
    helpers.new_test()
    clock.reset()
    with _provisioned_app.app_context():
        for table in PER_TEST_TABLES:
            db.session.execute(delete(table))
        bundled = db.session.query(models.ProcessVersion).order_by(models.ProcessVersion.id).first()
        first = db.session.query(models.ProcessActivation).order_by(models.ProcessActivation.id).first()
        db.session.execute(delete(models.ProcessActivation).where(models.ProcessActivation.id != first.id))
        db.session.execute(delete(models.VersionFile).where(models.VersionFile.process_version_id != bundled.id))
        db.session.execute(delete(models.ProcessVersion).where(models.ProcessVersion.id != bundled.id))
        reference.seed(db.session)
        db.session.execute(
            update(models.User).values(email=None, phone=None, notify_email=False, notify_whatsapp=False, nip=None)
        )
        for username, _, _ in STAFF:  # a test may have given an officer their full name
            db.session.execute(
                update(models.User).where(models.User.username == username).values(full_name=staff_name(username))
            )
        db.session.commit()
    yield _provisioned_app
    clock.reset()
    with _provisioned_app.app_context():  # every message waits for a sender that handles its channel
        stray = db.session.scalars(select(models.Outbox.channel).where(models.Outbox.channel.not_in(CHANNELS))).all()
        db.session.rollback()
    assert not stray, f"outbox rows on channels no sender handles: {sorted(set(stray))}"


@pytest.fixture
def working_time() -> Iterator[None]:
    """Working time on (Asia/Jakarta office hours and Indonesian holidays) for one test."""
    worktime.configure(enabled=True)
    yield
    worktime.configure(enabled=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """The local fake of the WhatsApp Graph API (a real HTTP server)."""
    with FakeGraph() as server:
        yield server


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
