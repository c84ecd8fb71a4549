"""Reference data: Kemendagri region codes and Pekanbaru's kecamatan with their UPTD.

Seeded from ``engine.kia.regions`` by the schema migration (``seed``: inserts what is missing, never
overwrites an edit) and edited by supervisors afterwards (``set_region``, ``set_kecamatan``; the caller
commits). Codes are what the service stores and compares; names are for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import Kecamatan, Region
from engine.kia.people import check_nip
from engine.kia.regions import PEKANBARU_KECAMATAN, PROVINCES, RIAU_REGENCIES
from engine.workflow.errors import InvalidData, NotFound

LEVELS = ("province", "regency", "district")
_CODE = re.compile(r"[0-9]{2}(?:\.[0-9]{2}){0,2}")
CODE_MESSAGE = "Kode wilayah tidak sah: gunakan format Kemendagri, mis. 14, 14.71 atau 14.71.08."
DEFAULT_HOURS = "Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.30 WIB"
NAME_MESSAGE = "Nama wajib diisi (paling banyak 100 karakter)."


@dataclass(frozen=True)
class KecamatanChange:
    """A supervisor's edit of one kecamatan and its UPTD; ``None`` keeps the stored value."""

    name: str | None = None
    uptd_name: str | None = None
    uptd_address: str | None = None
    uptd_head: str | None = None
    uptd_head_nip: str | None = None
    uptd_hours: str | None = None  # opening hours, named in the "KIA siap diambil" notice


def level_of(code: str) -> str:
    """``province`` / ``regency`` / ``district`` for a dotted code; InvalidData for anything else."""
    if not isinstance(code, str) or not _CODE.fullmatch(code) or code.endswith(".00") or code == "00":
        raise InvalidData("Kode wilayah tidak sah.", {"code": [CODE_MESSAGE]})
    return LEVELS[code.count(".")]


def default_regions() -> dict[str, str]:
    """The shipped regions: every province, Riau's regencies and cities, Pekanbaru's kecamatan."""
    return {**PROVINCES, **RIAU_REGENCIES, **PEKANBARU_KECAMATAN}


def default_kecamatan(code: str, name: str) -> Kecamatan:
    return Kecamatan(
        code=code,
        name=name,
        uptd_name=f"UPTD Disdukcapil Kecamatan {name}",
        uptd_address=f"Kantor Camat {name}, Kota Pekanbaru",
        uptd_head="",
        uptd_head_nip="",
        uptd_hours=DEFAULT_HOURS,
    )


def seed(session: Session) -> int:
    """Insert the shipped regions and kecamatan that are missing; never overwrite an edited row.
    Returns the number of rows added. Three kecamatan codes were reused in the 2020 split, so a
    kecamatan is never derived from a NIK."""
    have_regions = set(session.scalars(select(Region.code)))
    have_kecamatan = set(session.scalars(select(Kecamatan.code)))
    added: list[Region | Kecamatan] = [
        Region(code=code, name=name, level=level_of(code))
        for code, name in default_regions().items()
        if code not in have_regions
    ]
    added += [default_kecamatan(code, name) for code, name in PEKANBARU_KECAMATAN.items() if code not in have_kecamatan]
    session.add_all(added)
    session.flush()
    return len(added)


def known_region_codes(session: Session) -> frozenset[str]:
    """Every region code in the database, for the NIK and KK number checks."""
    return frozenset(session.scalars(select(Region.code)))


def regions(session: Session, level: str | None = None, parent: str | None = None) -> list[Region]:
    query = select(Region).order_by(Region.code)
    if level:
        query = query.where(Region.level == level)
    if parent:
        query = query.where(Region.code.startswith(f"{parent}.", autoescape=True))
    return list(session.scalars(query))


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code) if isinstance(code, str) and _CODE.fullmatch(code) else None
    if region is None:
        raise NotFound("Kode wilayah tidak ditemukan.")
    return region


def _name(value: object, field: str = "name") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 100:
        raise InvalidData("Data tidak sah.", {field: [NAME_MESSAGE]})
    return text


def set_region(session: Session, code: str, name: str) -> tuple[Region, bool]:
    """Create or rename the region ``code``; its parent must exist. Returns (region, created)."""
    level = level_of(code)
    name = _name(name)
    parent = code.rsplit(".", 1)[0] if "." in code else None
    if parent is not None and session.get(Region, parent) is None:
        raise InvalidData("Wilayah induk belum ada.", {"code": [f"Tambahkan dulu wilayah induk {parent}."]})
    region = session.get(Region, code)
    created = region is None
    if region is None:
        region = Region(code=code, level=level, name=name)
        session.add(region)
    region.name = name
    session.flush()
    return region, created


def kecamatan_list(session: Session) -> list[Kecamatan]:
    return list(session.scalars(select(Kecamatan).order_by(Kecamatan.code)))


def get_kecamatan(session: Session, code: str) -> Kecamatan:
    row = session.get(Kecamatan, code) if isinstance(code, str) and _CODE.fullmatch(code) else None
    if row is None:
        raise NotFound("Kecamatan tidak ditemukan.")
    return row


def set_kecamatan(session: Session, code: str, change: KecamatanChange) -> tuple[Kecamatan, bool]:
    """Create or edit a kecamatan of Pekanbaru and its UPTD; its region row follows the name.
    A new kecamatan needs a name; the UPTD fields default like the shipped ones."""
    if level_of(code) != "district" or not code.startswith("14.71."):
        raise InvalidData("Kode kecamatan tidak sah.", {"code": ["Kode kecamatan Kota Pekanbaru berbentuk 14.71.NN."]})
    row = session.get(Kecamatan, code)
    created = row is None
    if row is None:
        row = default_kecamatan(code, _name(change.name))
        session.add(row)
    fields = {
        "name": change.name,
        "uptd_name": change.uptd_name,
        "uptd_address": change.uptd_address,
        "uptd_head": change.uptd_head,
        "uptd_hours": change.uptd_hours,
    }
    errors: dict[str, list[str]] = {}
    limits = {"name": 100, "uptd_name": 200, "uptd_address": 300, "uptd_head": 200, "uptd_hours": 200}
    for field, value in fields.items():
        if value is None:
            continue
        text = value.strip()
        if len(text) > limits[field] or (not text and field in ("name", "uptd_name")):
            errors[field] = [f"Wajib diisi, paling banyak {limits[field]} karakter."]
        else:
            setattr(row, field, text)
    if change.uptd_head_nip is not None:
        try:
            row.uptd_head_nip = check_nip(change.uptd_head_nip) if change.uptd_head_nip.strip() else ""
        except InvalidData as exc:
            errors["uptd_head_nip"] = exc.fields["nip"]
    if errors:
        raise InvalidData("Data tidak sah.", errors)
    set_region(session, code, row.name)
    return row, created
