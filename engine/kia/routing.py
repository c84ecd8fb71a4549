"""Which UPTD hands the card over: the kecamatan of domicile.

That is the kecamatan of the family card's (KK) address in the population records when the family (or
else the child) is found there, else the kecamatan the applicant entered; never the NIK's region digits,
which tell where the child was first registered (and Pekanbaru reused three kecamatan codes in 2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from engine.kia import siak
from engine.kia.models import Kecamatan

Source = Literal["siak", "applicant"]


@dataclass(frozen=True)
class Route:
    kecamatan: str
    source: Source  # siak: the KK address in the population records; applicant: the applicant's entry


def domicile(session: Session, child: dict[str, Any]) -> Route:
    """The route for an application's ``child`` data (NIK, KK number, the entered kecamatan)."""
    port = siak.port(session)
    try:
        family = port.lookup_family(child.get("kk_number", ""))
        found = family.kecamatan if family else None
        if not found:
            person = port.lookup_person(child.get("nik", ""))
            found = person.kecamatan if person else None
    except siak.SiakUnavailable:
        found = None
    if found and session.get(Kecamatan, found) is not None:
        return Route(found, "siak")
    return Route(child["kecamatan"], "applicant")
