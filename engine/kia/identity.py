"""Indonesian identity numbers (NIK, KK number) and KIA age rules, as pure functions.

NIK: ``PP KK CC DDMMYY SSSS``: province, regency/city and district where the person was first
registered, birth date (girls have 40 added to the day), serial (never 0000). No check digit.
KK number: ``PP KK CC DDMMYY SSSS``: region of issue, registration date, serial.

Every error is an :class:`IdentityError` whose message is Indonesian and free of the number itself,
so it can be shown to the applicant and logged without leaking personal data.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.kia.regions import PEKANBARU_KECAMATAN, PROVINCES, RIAU_REGENCIES
from engine.workflow.clock import clock

__all__ = [
    "KIA_MAX_AGE",
    "PEKANBARU_KECAMATAN",
    "PROVINCES",
    "RIAU_REGENCIES",
    "IdentityError",
    "KkInfo",
    "NikInfo",
    "age_on",
    "check_child_age",
    "jakarta_today",
    "nik_mismatches",
    "parse_kk_number",
    "parse_nik",
]

KIA_MAX_AGE = 17
"""A KIA is for children under 17: on their 17th birthday they need a KTP-el instead."""

_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
_SEX_LABELS = {"L": "Laki-laki", "P": "Perempuan"}

try:
    _JAKARTA: timezone | ZoneInfo = ZoneInfo("Asia/Jakarta")
except ZoneInfoNotFoundError:  # no tz database on the host; WIB has had no DST since 1964
    _JAKARTA = timezone(timedelta(hours=7), "WIB")


class IdentityError(ValueError):
    """An identity number or birth date that cannot be accepted; ``message`` is Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NikInfo:
    province: str  # "14"
    regency: str  # "14.71"
    district: str  # "14.71.08" (where first registered, not today's domicile)
    birth_date: date
    sex: Literal["L", "P"]
    serial: str  # "0001"


@dataclass(frozen=True)
class KkInfo:
    province: str
    regency: str
    district: str
    issue_date: date
    serial: str


def jakarta_today() -> date:
    """Today's date in Asia/Jakarta (WIB), on the engine's clock."""
    return clock.now().astimezone(_JAKARTA).date()


def _check_digits(number: object, label: str) -> str:
    if not isinstance(number, str) or not _SIXTEEN_DIGITS.fullmatch(number):
        raise IdentityError(f"{label[0].upper()}{label[1:]} harus terdiri dari 16 digit angka.")
    return number


def _region(number: str, label: str, known_regions: Collection[str] | None) -> tuple[str, str, str]:
    """Split and check the leading ``PPKKCC`` region code of a NIK or KK number."""
    province = number[0:2]
    regency = f"{province}.{number[2:4]}"
    district = f"{regency}.{number[4:6]}"
    if known_regions is None:
        province_known = province in PROVINCES
        regency_known = number[2:4] != "00"
    else:
        # The codes may be of every level ("14", "14.71", "14.71.08"). A province whose regencies are
        # listed must list this one; a province with none listed accepts any regency but "00".
        listed = any(code.startswith(f"{province}.") for code in known_regions)
        province_known = listed or province in known_regions
        regency_known = regency in known_regions if listed else number[2:4] != "00"
    if not province_known:
        raise IdentityError(f"Kode provinsi pada {label} tidak dikenal.")
    if not regency_known:
        raise IdentityError(f"Kode kabupaten/kota pada {label} tidak dikenal.")
    if number[4:6] == "00":
        raise IdentityError(f"Kode kecamatan pada {label} tidak sah.")
    return province, regency, district


def _check_serial(number: str, label: str) -> str:
    serial = number[12:16]
    if serial == "0000":
        raise IdentityError(f"Nomor urut pada {label} tidak boleh 0000.")
    return serial


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_nik(nik: str, known_regions: Collection[str] | None = None, on: date | None = None) -> NikInfo:
    """Decode a NIK, raising :class:`IdentityError` when it cannot be a real one.

    ``known_regions`` is a set of region codes ("14", "14.71", "14.71.08", e.g. the database's
    ``regions`` table): the province must be among them, and so must the regency when any regency of
    that province is. Without it only the province is checked against :data:`PROVINCES`.
    The two-digit year is read as 20YY unless that date is after ``on``
    (default: today in Jakarta), then as 19YY.
    """
    label = "NIK"
    nik = _check_digits(nik, label)
    province, regency, district = _region(nik, label, known_regions)
    on = on or jakarta_today()
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Literal["L", "P"] = "P" if day > 40 else "L"
    if sex == "P":
        day -= 40
    birth = _real_date(2000 + yy, month, day)
    if birth is not None and birth > on:
        birth = _real_date(1900 + yy, month, day)
    if birth is None:
        raise IdentityError("Tanggal lahir pada NIK tidak sah.")
    return NikInfo(province, regency, district, birth, sex, _check_serial(nik, label))


def parse_kk_number(kk: str, known_regions: Collection[str] | None = None, on: date | None = None) -> KkInfo:
    """Decode a family card (KK) number, raising :class:`IdentityError` when it cannot be real.

    KK numbers are issued by SIAK (2000s onwards), so the registration date's year is 20YY; a date
    after ``on`` (default: today in Jakarta) is refused.
    """
    label = "nomor KK"
    kk = _check_digits(kk, label)
    province, regency, district = _region(kk, label, known_regions)
    issued = _real_date(2000 + int(kk[10:12]), int(kk[8:10]), int(kk[6:8]))
    if issued is None:
        raise IdentityError("Tanggal penerbitan pada nomor KK tidak sah.")
    if issued > (on or jakarta_today()):
        raise IdentityError("Tanggal penerbitan pada nomor KK tidak boleh di masa depan.")
    return KkInfo(province, regency, district, issued, _check_serial(kk, label))


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on`` (someone born on 29 February ages on 1 March)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def check_child_age(birth_date: date, on: date) -> None:
    """Refuse a birth date after ``on`` or a child who is 17 or older on ``on``."""
    if birth_date > on:
        raise IdentityError("Tanggal lahir tidak boleh di masa depan.")
    if age_on(birth_date, on) >= KIA_MAX_AGE:
        raise IdentityError("Anak sudah berusia 17 tahun atau lebih; KIA hanya untuk anak di bawah 17 tahun.")


def nik_mismatches(nik_info: NikInfo, birth_date: date, sex: str) -> list[str]:
    """Warnings (not errors) where the NIK disagrees with the entered birth date or sex.

    A NIK is never corrected once issued, so a mismatch is for the officer to check against the
    KK and the birth certificate, not a reason to refuse the application.
    """
    warnings = []
    if nik_info.birth_date != birth_date:
        warnings.append(
            f"Tanggal lahir menurut NIK ({nik_info.birth_date:%d-%m-%Y}) berbeda dengan "
            f"tanggal lahir yang diisi ({birth_date:%d-%m-%Y})."
        )
    if nik_info.sex != sex:
        warnings.append(
            f"Jenis kelamin menurut NIK ({_SEX_LABELS[nik_info.sex]}) berbeda dengan "
            f"jenis kelamin yang diisi ({_SEX_LABELS.get(sex, sex)})."
        )
    return warnings
