"""The SIAK port: what the service asks the population records (Sistem Informasi Administrasi
Kependudukan), and the implementations behind it.

``KIA_SIAK=local`` (the default): :class:`LocalSiak` reads the ``population_records`` table, which an
administrator loads from CSV (``kia siak import``).

``KIA_SIAK=remote`` is the configuration point for the real SIAK web service, which is reached through
Disdukcapil's own network and agreement with Ditjen Dukcapil and is NOT implemented here: selecting it
refuses to start (:class:`SiakNotConfigured`) rather than pretend. An implementation must provide
:class:`SiakPort`: ``lookup_person(nik)`` returning a :class:`Person` or ``None``, and
``lookup_family(kk_number)`` returning a :class:`Family` (head first, then by birth date) or ``None``,
with the same field meanings as the CSV columns (sex ``L``/``P``, dates as ``date``, ``kecamatan`` the
Kemendagri code of the family card's address today). It should answer within a few seconds and raise
:class:`SiakUnavailable` when the service cannot be reached, so that the officer can still decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import PopulationRecord
from engine.workflow.errors import EngineError

KINDS = ("local", "remote")
REMOTE_REFUSAL = (
    "KIA_SIAK=remote: layanan web SIAK belum tersambung pada instalasi ini; gunakan KIA_SIAK=local "
    "dan muat data kependudukan dengan 'kia siak import'."
)


EMPTY = "Data kependudukan belum dimuat (kia siak import); verifikasi dilakukan manual."


class SiakNotConfigured(EngineError):
    """The configured SIAK implementation does not exist in this installation."""

    code = "siak_not_configured"


class SiakUnavailable(EngineError):
    """The population records could not be reached right now."""

    code = "siak_unavailable"


@dataclass(frozen=True)
class Person:
    nik: str
    kk_number: str
    name: str
    sex: str  # L | P
    birth_date: date
    birth_place: str
    family_role: str  # kepala_keluarga | istri | anak | ...
    father_name: str
    mother_name: str
    address: str
    kecamatan: str  # the KK address's kecamatan today, e.g. "14.71.08"


@dataclass(frozen=True)
class Family:
    kk_number: str
    address: str
    kecamatan: str
    members: tuple[Person, ...]

    @property
    def head(self) -> Person | None:
        return next((m for m in self.members if m.family_role == "kepala_keluarga"), None)


class SiakPort(Protocol):
    def lookup_person(self, nik: str) -> Person | None: ...

    def lookup_family(self, kk_number: str) -> Family | None: ...


def _person(row: PopulationRecord) -> Person:
    return Person(
        nik=row.nik,
        kk_number=row.kk_number,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date,
        birth_place=row.birth_place,
        family_role=row.family_role,
        father_name=row.father_name,
        mother_name=row.mother_name,
        address=row.address,
        kecamatan=row.kecamatan,
    )


class LocalSiak:
    """The population records as loaded into this database. While nothing is loaded at all, a lookup
    that finds nobody raises :class:`SiakUnavailable` (there is nothing to verify against), so that a
    fresh installation works by the officer's eye as before rather than refusing every application."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _not_found(self) -> None:
        """Not found: an empty table means the records were never imported (unavailable), not absent."""
        if self.session.scalar(select(PopulationRecord.nik).limit(1)) is None:
            raise SiakUnavailable(EMPTY)

    def lookup_person(self, nik: str) -> Person | None:
        row = self.session.get(PopulationRecord, nik) if isinstance(nik, str) else None
        if row is None:
            self._not_found()
            return None
        return _person(row)

    def lookup_family(self, kk_number: str) -> Family | None:
        rows = (
            list(self.session.scalars(select(PopulationRecord).where(PopulationRecord.kk_number == kk_number)))
            if isinstance(kk_number, str)
            else []
        )
        if not rows:
            self._not_found()
            return None
        rows.sort(key=lambda r: (r.family_role != "kepala_keluarga", r.birth_date, r.nik))
        head = rows[0]
        return Family(
            kk_number=kk_number, address=head.address, kecamatan=head.kecamatan, members=tuple(_person(r) for r in rows)
        )


_kind = "local"


def configure(kind: str) -> None:
    """Select the implementation (``KIA_SIAK``); refuses ``remote`` and anything unknown."""
    global _kind
    kind = (kind or "local").strip().lower()
    if kind == "remote":
        raise SiakNotConfigured(REMOTE_REFUSAL)
    if kind not in KINDS:
        raise SiakNotConfigured(f"KIA_SIAK tidak dikenal: gunakan salah satu dari {', '.join(KINDS)}.")
    _kind = kind


def port(session: Session) -> SiakPort:
    """The configured SIAK implementation for this session."""
    return LocalSiak(session)
