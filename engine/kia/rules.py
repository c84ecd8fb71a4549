"""The KIA rules that depend on the child's age: which KIA (under 5, or 5 to under 17) and whether a
photo is required. They are the decision table ``kia_rules`` (bpmn/kia_rules.dmn) deployed with the
diagram, so the process owner changes them without a developer; the diagram's business-rule task calls
the same table, and the code here reads its result for a version:

- a new application: the active version's table (the version it starts on);
- a running application (a correction): its own version's table, so a change deployed meanwhile does
  not touch applications already running.

A version deployed before decision tables existed has no ``kia_rules``; it is read with the bundled
table, which states the regulation (Permendagri 2/2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from engine.workflow import decisions, versions
from engine.workflow.definitions import Definition, definition_of
from engine.workflow.errors import InvalidData
from engine.workflow.models import Instance

DECISION_ID = "kia_rules"
AGE_INPUT = "child_age"
KINDS = frozenset({"under_5", "5_to_17"})
BUNDLED_TABLE = Path(__file__).resolve().parents[2] / "bpmn" / "kia_rules.dmn"


@dataclass(frozen=True)
class KiaRule:
    kind: str  # under_5 | 5_to_17
    photo_required: bool


@cache
def bundled_table() -> decisions.DecisionTable:
    return decisions.read(BUNDLED_TABLE.name, BUNDLED_TABLE.read_bytes())


def table_of(definition: Definition | None) -> decisions.DecisionTable:
    """The ``kia_rules`` table of a version (the bundled one for a version that has none)."""
    tables = definition.decision_tables if definition is not None else {}
    return tables.get(DECISION_ID) or bundled_table()


def decide(definition: Definition | None, age: int) -> KiaRule:
    """The KIA kind and the photo rule for a child of ``age`` completed years, by the version's table.

    A table that gives no usable answer for this age (no rule matched, an unknown kind) refuses the
    application with a message on the birth date: nothing is started on a rule that is not there."""
    result = decisions.evaluate(table_of(definition), {AGE_INPUT: age}).result
    kind, photo = result.get("kia_kind"), result.get("photo_required")
    if kind not in KINDS or not isinstance(photo, bool):
        message = f"Tabel keputusan jenis KIA tidak memberi hasil untuk anak berusia {age} tahun; hubungi petugas."
        raise InvalidData("Data tidak sah.", {"child": {"birth_date": [message]}})
    return KiaRule(kind, photo)


def for_new_application(session: Session, process_key: str, age: int) -> KiaRule:
    """The rule for an application starting now, on the active version of ``process_key``."""
    return decide(definition_of(versions.active_version(session, process_key)), age)


def for_instance(instance: Instance, age: int) -> KiaRule:
    """The rule for a running application, on the version it runs."""
    return decide(definition_of(instance.process_version), age)


PHOTO_REQUIRED = "Pas foto anak wajib diunggah."
