"""Shared pieces of the benchmark suite: throw-away databases, provisioning, the workload, statistics.

Every benchmark runs against its own database (a temporary SQLite file or a temporary PostgreSQL
database) that is dropped afterwards, so the suite never touches ``instance/`` or a developer's data.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("KIA_BENCH_PG_URL") or os.environ.get(
    "KIA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench-rahasia-123"

# The desks that work the SOP: admin, operator and Dafdud serve every kecamatan; each kecamatan has
# its own Ka. UPTD (only the first ones are used by the HTTP clients, one kecamatan per client).
KECAMATAN = [f"14.71.{n:02d}" for n in range(1, 16)]
STAFF = [
    ("admin1", ["admin"], None),
    ("operator1", ["operator"], None),
    ("dafdud1", ["dafdud"], None),
    ("supervisor1", ["supervisor"], None),
] + [(f"uptd{k[-2:]}", ["uptd"], k) for k in KECAMATAN]

# The hand-over: the card to the child's mother (the applicant of ``application``), by her NIK.
HANDOVER = {
    "recipient_name": "Siti Rahmawati",
    "recipient_nik": "1471086107920002",
    "recipient_relationship": "ibu",
    "card_number": "1471-0000-0001",
}
# One step of the five, as a staff client does it: the lane, the user, and the form data.
STEPS = [
    ("admin", "admin1", {"decision": "complete"}),
    ("operator", "operator1", {"decision": "issued"}),
    ("dafdud", "dafdud1", {"batch": "2026-11-28"}),
    ("uptd", None, {"decision": "arrived"}),  # the card arrived at the UPTD: the parent is told
    ("uptd", None, HANDOVER),
]

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = (  # a real 1x1 PNG: uploads are checked to open
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\xdac\xf8\xff\xff?\x00\x05\xfe\x02\xfe3\x12\x95\x14\x00\x00\x00\x00IEND\xaeB`\x82"
)


def uptd_user(kecamatan: str) -> str:
    return f"uptd{kecamatan[-2:]}"


_children = itertools.count()


def application(kecamatan: str, child: int | None = None) -> dict[str, Any]:
    """A valid application for a child under five living in ``kecamatan`` (born in Binawidya). Each call
    is another child (its own NIK, ``child`` numbers them; by default the next), as a child may have
    only one open application."""
    n = next(_children) if child is None else child
    day = 10 + (n // 9999) % 18  # girls born in May 2023: the NIK's day is the birth day + 40
    return {
        "applicant": {
            "name": "Siti Rahmawati",
            "phone": "081234567890",
            "email": "siti@example.com",
            "relationship": "ibu",
        },
        "child": {
            "name": "Aisyah Putri Ramadhani",
            "nik": f"147108{day + 40:02d}0523{n % 9999 + 1:04d}",
            "birth_date": f"2023-05-{day:02d}",
            "birth_place": "Pekanbaru",
            "sex": "P",
            "kk_number": "1471081506230002",
            "akta_number": "1471-LT-15062023-0001",
            "address": "Jl. Garuda Sakti Km 3 No. 12",
            "kecamatan": kecamatan,
        },
    }


# --- databases -----------------------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # sqlite | postgresql
    url: str  # SQLAlchemy URL
    workdir: str  # documents and the SQLite file live here


def pg_available() -> str | None:
    """None when PostgreSQL answers at PG_ADMIN_URL, else why not."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure means "not here"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


@contextmanager
def database(kind: str) -> Iterator[Database]:
    """A fresh, provisioned database of ``kind``; removed (dropped) on exit."""
    workdir = tempfile.mkdtemp(prefix=f"kia-bench-{kind}-")
    name = f"kia_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        if kind == "sqlite":
            url = f"sqlite:///{workdir}/kia.db"
        else:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            url = f"{base}/{name}"
        db = Database(kind, url, workdir)
        provision(db)
        yield db
    finally:
        if kind == "postgresql":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def app_config(db: Database) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": db.url,
        "DOCUMENT_DIR": f"{db.workdir}/documents",
        "KIA_SCHEDULER": False,
        "SECRET_KEY": "bench",
        "STATUS_RATE_LIMIT": 1_000_000,
        "LOGIN_RATE_LIMIT": 1_000_000,
    }


def provision(db: Database) -> None:
    """Schema, kecamatan, the bundled diagram and the bench staff, through the service's own code."""
    from api import create_app
    from api.provisioning import add_user, init_database

    app = create_app(app_config(db))
    with app.app_context():
        init_database(app.config["KIA_BUNDLED_DIAGRAM"])
        for username, roles, kecamatan in STAFF:
            add_user(username, PASSWORD, roles, username, kecamatan)
        from api.extensions import db as flask_db

        flask_db.engine.dispose()


# --- statistics ----------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(samples_s: list[float]) -> dict[str, Any]:
    """p50/p95/p99 in milliseconds and the sample count."""
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), **{f"p{p}_ms": _round(percentile(ms, p)) for p in (50, 95, 99)}}


def median(values: list[float]) -> float:
    return statistics.median(values)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)
