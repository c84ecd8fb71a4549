"""A synthetic population of Pekanbaru families for demos, tests and benchmarks (``kia siak generate``).

Deterministic for a seed. Every family has a valid KK number issued in the kecamatan it lives in today,
a head of family, usually a wife, and up to four children of every age from newborn to 18 (so some are
too old for a KIA). Children's NIKs carry the district where they were first registered, which for a
family that moved is another kecamatan: often one of the codes reused in 2020 (14.71.06, .08, .12), so
the NIK's digits say nothing about where the card is handed over. Nobody here is a real person.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import TextIO

from engine.kia.identity import jakarta_today
from engine.kia.regions import PEKANBARU_KECAMATAN
from engine.kia.siak_import import COLUMNS

KECAMATAN = tuple(PEKANBARU_KECAMATAN)
REUSED = ("14.71.06", "14.71.08", "14.71.12")
MALE = (
    "Ahmad",
    "Budi",
    "Rizky",
    "Fajar",
    "Hendra",
    "Dedi",
    "Agus",
    "Yusuf",
    "Irfan",
    "Doni",
    "Arif",
    "Fikri",
    "Hafiz",
    "Zulkifli",
    "Syahrul",
    "Rahmat",
    "Teguh",
    "Wahyu",
    "Ilham",
    "Reza",
    "Bayu",
    "Aldi",
    "Farhan",
)
FEMALE = (
    "Siti",
    "Nur",
    "Dewi",
    "Rina",
    "Ayu",
    "Putri",
    "Aisyah",
    "Fitri",
    "Intan",
    "Lestari",
    "Wulan",
    "Indah",
    "Nabila",
    "Salsabila",
    "Zahra",
    "Annisa",
    "Rahma",
    "Yuni",
    "Mega",
    "Citra",
    "Nadia",
    "Khairunnisa",
)
SECOND = {
    "L": (
        "Pratama",
        "Saputra",
        "Hidayat",
        "Nasution",
        "Siregar",
        "Lubis",
        "Harahap",
        "Putra",
        "Wijaya",
        "Kurniawan",
        "Syahputra",
        "Ramadhan",
    ),
    "P": (
        "Handayani",
        "Sari",
        "Rahmawati",
        "Melati",
        "Anggraini",
        "Fitriani",
        "Ramadhani",
        "Nasution",
        "Siregar",
        "Lubis",
        "Putri",
        "Lestari",
    ),
}
STREETS = (
    "Jl. Garuda Sakti",
    "Jl. HR Soebrantas",
    "Jl. Riau",
    "Jl. Sudirman",
    "Jl. Arifin Ahmad",
    "Jl. Paus",
    "Jl. Tuanku Tambusai",
    "Jl. Kaharuddin Nasution",
    "Jl. Yos Sudarso",
    "Jl. Sekolah",
    "Jl. Pemuda",
    "Jl. Delima",
    "Jl. Bangau Sakti",
    "Jl. Srikandi",
    "Jl. Nangka",
    "Jl. Lintas Timur",
    "Jl. Siak II",
)
PLACES = ("Pekanbaru",) * 8 + ("Dumai", "Bangkinang", "Siak Sri Indrapura", "Padang", "Medan", "Bukittinggi")
# (place, regency code) of where an adult was first registered
ADULT_REGIONS = (("14.71", 8), ("14.01", 1), ("14.73", 1), ("13.71", 1), ("12.71", 1))

# The family of the README's curl example and the tests' ``application_data``: loaded by ``kia demo``.
DEMO_FAMILY: tuple[dict[str, str], ...] = (
    {
        "nik": "1471081203900003",
        "kk_number": "1471081506230002",
        "name": "Hendra Saputra",
        "sex": "L",
        "birth_date": "1990-03-12",
        "birth_place": "Pekanbaru",
        "family_role": "kepala_keluarga",
        "father_name": "Zulkifli",
        "mother_name": "Nur Aini",
        "address": "Jl. Garuda Sakti Km 3 No. 12",
        "kecamatan": "14.71.08",
    },
    {
        "nik": "1471086107920002",
        "kk_number": "1471081506230002",
        "name": "Siti Rahmawati",
        "sex": "P",
        "birth_date": "1992-07-21",
        "birth_place": "Dumai",
        "family_role": "istri",
        "father_name": "Rahmat",
        "mother_name": "Yuni Lestari",
        "address": "Jl. Garuda Sakti Km 3 No. 12",
        "kecamatan": "14.71.08",
    },
    {
        "nik": "1471085005230001",
        "kk_number": "1471081506230002",
        "name": "Aisyah Putri Ramadhani",
        "sex": "P",
        "birth_date": "2023-05-10",
        "birth_place": "Pekanbaru",
        "family_role": "anak",
        "father_name": "Hendra Saputra",
        "mother_name": "Siti Rahmawati",
        "address": "Jl. Garuda Sakti Km 3 No. 12",
        "kecamatan": "14.71.08",
    },
)


class _Numbers:
    """Unique NIK and KK numbers: a serial per region and date."""

    def __init__(self) -> None:
        self.serials: Counter[str] = Counter()

    def _next(self, prefix: str) -> str:
        self.serials[prefix] += 1
        return f"{prefix}{self.serials[prefix]:04d}"

    def nik(self, district: str, birth: date, sex: str) -> str:
        day = birth.day + (40 if sex == "P" else 0)
        return self._next(f"{district.replace('.', '')}{day:02d}{birth:%m%y}")

    def kk(self, district: str, issued: date) -> str:
        return self._next(f"{district.replace('.', '')}{issued:%d%m%y}")


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max((end - start).days, 1)))


def _years_ago(on: date, years: float) -> date:
    return on - timedelta(days=round(years * 365.25))


def _name(rng: random.Random, sex: str) -> str:
    return f"{rng.choice(MALE if sex == 'L' else FEMALE)} {rng.choice(SECOND[sex])}"


def generate(families: int, seed: int = 2026, on: date | None = None) -> Iterator[dict[str, str]]:
    """``families`` synthetic families as CSV rows (``siak_import.COLUMNS``), about 3.5 persons each."""
    rng, numbers, on = random.Random(seed), _Numbers(), on or jakarta_today()
    for _ in range(families):
        home = rng.choice(KECAMATAN)
        rt, rw = rng.randint(1, 9), rng.randint(1, 15)
        address = f"{rng.choice(STREETS)} No. {rng.randint(1, 250)}, RT {rt:03d}/RW {rw:03d}"
        head_birth = _day(rng, _years_ago(on, 55), _years_ago(on, 30))
        kk = numbers.kk(home, _day(rng, max(date(2010, 1, 1), _years_ago(on, 15)), on))
        adults = [("kepala_keluarga", "L", head_birth)]
        if rng.random() < 0.9:
            adults.append(("istri", "P", head_birth + timedelta(days=rng.randint(-700, 2500))))
        people: list[dict[str, str]] = []
        for role, sex, birth in adults:
            regency = rng.choices([r for r, _ in ADULT_REGIONS], [w for _, w in ADULT_REGIONS])[0]
            district = f"{regency}.{rng.randint(1, 15 if regency == '14.71' else 9):02d}"
            people.append(
                _row(
                    numbers.nik(district, birth, sex),
                    kk,
                    _name(rng, sex),
                    sex,
                    birth,
                    rng.choice(PLACES),
                    role,
                    _name(rng, "L"),
                    _name(rng, "P"),
                    address,
                    home,
                )
            )
        father = people[0]["name"]
        mother = people[1]["name"] if len(people) > 1 else _name(rng, "P")
        for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4))):
            sex = rng.choice("LP")
            birth = _day(rng, _years_ago(on, 18.5), on)
            # registered where the family lived then: mostly here, else another kecamatan (reused codes first)
            district = home if rng.random() < 0.6 else rng.choice(REUSED + KECAMATAN)
            people.append(
                _row(
                    numbers.nik(district, birth, sex),
                    kk,
                    _name(rng, sex),
                    sex,
                    birth,
                    rng.choice(PLACES),
                    "anak",
                    father,
                    mother,
                    address,
                    home,
                )
            )
        yield from people


def _row(
    nik: str,
    kk: str,
    name: str,
    sex: str,
    birth: date,
    place: str,
    role: str,
    father: str,
    mother: str,
    address: str,
    kecamatan: str,
) -> dict[str, str]:
    return {
        "nik": nik,
        "kk_number": kk,
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat(),
        "birth_place": place,
        "family_role": role,
        "father_name": father,
        "mother_name": mother,
        "address": address,
        "kecamatan": kecamatan,
    }


def write_csv(stream: TextIO, rows: Iterable[dict[str, str]]) -> int:
    """Write ``rows`` with a header; returns the number of rows written."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
