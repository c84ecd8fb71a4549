"""Load population records from CSV into ``population_records`` (``kia siak import``).

One row per person; the header names the columns (any order; unknown columns are ignored):
``nik, kk_number, name, sex, birth_date`` (YYYY-MM-DD) and ``kecamatan`` (the code of the KK address's
kecamatan today) are required; ``birth_place, family_role, father_name, mother_name, address`` are
optional. Each row is checked (the NIK and KK number like at submission, against the database's region
codes); a bad row is skipped and reported by line number with Indonesian messages that never repeat
the data. Good rows are upserted by NIK in batches (one multi-row ``INSERT .. ON CONFLICT DO UPDATE``
per batch), in the caller's transaction: the caller commits.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from engine.kia.identity import IdentityError, jakarta_today, parse_kk_number, parse_nik
from engine.kia.models import PopulationRecord
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData

REQUIRED = ("nik", "kk_number", "name", "sex", "birth_date", "kecamatan")
OPTIONAL = ("birth_place", "family_role", "father_name", "mother_name", "address")
COLUMNS = REQUIRED + OPTIONAL
LIMITS = {"name": 100, "birth_place": 100, "family_role": 32, "father_name": 100, "mother_name": 100, "address": 255}
DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class LineError:
    line: int  # the line in the file (the header is line 1)
    messages: tuple[str, ...]


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    errors: list[LineError] = field(default_factory=list)


def check_row(
    raw: dict[str, Any], known_regions: Collection[str] | None, kecamatan: Collection[str], on: date
) -> tuple[dict[str, Any] | None, list[str]]:
    """One CSV row as a ``population_records`` row, or the Indonesian messages that refuse it."""
    values = {name: (raw.get(name) or "").strip() for name in COLUMNS}
    messages = [f"Kolom {name} kosong." for name in REQUIRED if not values[name]]
    if messages:
        return None, messages
    for label, check in (("nik", parse_nik), ("kk_number", parse_kk_number)):
        try:
            check(values[label], known_regions, on)
        except IdentityError as error:
            messages.append(error.message)
    if values["sex"] not in ("L", "P"):
        messages.append("Jenis kelamin harus L atau P.")
    try:
        birth = date.fromisoformat(values["birth_date"])
        if birth > on:
            messages.append("Tanggal lahir tidak boleh di masa depan.")
    except ValueError:
        birth = None
        messages.append("Tanggal lahir harus berformat YYYY-MM-DD.")
    if values["kecamatan"] not in kecamatan:
        messages.append("Kecamatan tidak dikenal.")
    messages += [
        f"Kolom {name} melebihi {limit} karakter." for name, limit in LIMITS.items() if len(values[name]) > limit
    ]
    if messages:
        return None, messages
    values["birth_date"] = birth
    values["family_role"] = values["family_role"].lower()
    return values, []


def upsert(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or replace ``rows`` by NIK (a later row of the same NIK wins). Returns the row count."""
    unique = {row["nik"]: row for row in rows}
    if not unique:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # the same API
    else:  # pragma: no cover - the service supports these two
        raise NotImplementedError(dialect)
    now = clock.now()
    statement = insert(cast(Table, PopulationRecord.__table__))
    statement = statement.on_conflict_do_update(
        index_elements=["nik"], set_={name: statement.excluded[name] for name in (*COLUMNS[1:], "updated_at")}
    )
    session.execute(statement, [{**row, "updated_at": now} for row in unique.values()])
    return len(unique)


def import_csv(
    session: Session,
    stream: TextIO,
    *,
    known_regions: Collection[str] | None,
    kecamatan: Collection[str],
    batch_size: int = DEFAULT_BATCH,
    on: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check and upsert every row of ``stream``; bad rows are reported, not loaded. The caller commits."""
    reader = csv.DictReader(stream)
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidData("Berkas CSV tidak sah.", {"header": [f"Kolom wajib tidak ada: {', '.join(missing)}."]})
    on = on or jakarta_today()
    known_kecamatan = frozenset(kecamatan)
    report, batch = ImportReport(), []
    for raw in reader:
        report.read += 1
        row, messages = check_row(raw, known_regions, known_kecamatan, on)
        if row is None:
            report.errors.append(LineError(reader.line_num, tuple(messages)))
            continue
        batch.append(row)
        if len(batch) >= batch_size:
            report.imported += upsert(session, batch)
            batch = []
            if progress:
                progress(report.read)
    report.imported += upsert(session, batch)
    return report
