"""The files a process owner deploys with a diagram: forms (form-js JSON, each with an ``id``) and
decision tables (DMN XML). They belong to the version like its diagram: immutable, covered by its
content hash, stored beside it (``VersionFile``) and handed to its ``Definition``.

Here only what every such file must be to be stored: a form is a JSON object with a usable ``id``, a
decision table is well-formed DMN XML without DTDs or entities. Whether a form's components can be
validated is the forms' business (``forms.formjs``), what a decision table decides the DMN parser's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.workflow.errors import DiagramRejected, Problem
from engine.workflow.models import VersionFile, VersionFileKind

MAX_FORM_BYTES = 256 * 1024
MAX_DECISION_BYTES = 1024 * 1024
MAX_FILES = 50  # of each kind
# a form id is what a user task's form_key names (TaskRow.form_key holds 50 characters)
FORM_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,49}")
DECISION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}")
DMN_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "https://www.omg.org/spec/DMN/20211108/MODEL/",
        "https://www.omg.org/spec/DMN/20230324/MODEL/",
    }
)


@dataclass(frozen=True)
class VersionFiles:
    """The forms (form id -> form-js JSON) and decision tables (file name -> DMN XML) of one version."""

    forms: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    decisions: Mapping[str, bytes] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.forms or self.decisions)


NO_FILES = VersionFiles()


def read(forms: Iterable[bytes] = (), decisions: Iterable[tuple[str, bytes]] = ()) -> VersionFiles:
    """Check uploaded files and gather them; raise ``DiagramRejected`` naming every file that is not
    usable (nothing is stored then)."""
    problems: list[Problem] = []
    parsed_forms: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(forms, start=1):
        form, form_problems = _read_form(raw, number)
        problems += form_problems
        if form is not None:
            if form["id"] in parsed_forms:
                problems.append(Problem(form["id"], f"dua formulir memakai id '{form['id']}' yang sama"))
            parsed_forms[form["id"]] = form
    parsed_decisions: dict[str, bytes] = {}
    for number, (name, raw) in enumerate(decisions, start=1):
        name = decision_name(name, number)
        problems += _check_decision(name, raw)
        if name in parsed_decisions:
            problems.append(Problem(name, f"dua tabel keputusan memakai nama berkas '{name}' yang sama"))
        parsed_decisions[name] = raw
    if len(parsed_forms) > MAX_FILES or len(parsed_decisions) > MAX_FILES:
        problems.append(Problem("", f"paling banyak {MAX_FILES} formulir dan {MAX_FILES} tabel keputusan per versi"))
    if problems:
        raise DiagramRejected(problems)
    return VersionFiles(parsed_forms, parsed_decisions)


def decision_name(name: str, number: int) -> str:
    """The stored name of an uploaded decision table: its file's base name, or ``keputusan_N.dmn``."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base if DECISION_NAME.fullmatch(base) else f"keputusan_{number}.dmn"


def _read_form(raw: bytes, number: int) -> tuple[dict[str, Any] | None, list[Problem]]:
    label = f"formulir ke-{number}"
    if len(raw) > MAX_FORM_BYTES:
        return None, [Problem("", f"{label}: lebih dari {MAX_FORM_BYTES // 1024} KB")]
    try:
        form = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, [Problem("", f"{label}: bukan JSON yang sah ({_first_line(exc)})")]
    if not isinstance(form, dict):
        return None, [Problem("", f"{label}: harus berupa objek JSON formulir form-js")]
    form_id = form.get("id")
    if not isinstance(form_id, str) or not FORM_ID.fullmatch(form_id):
        return None, [
            Problem(
                "",
                f"{label}: id formulir wajib diisi, diawali huruf, paling banyak 50 huruf, angka, _ . atau -",
            )
        ]
    return form, []


def _check_decision(name: str, raw: bytes) -> list[Problem]:
    if len(raw) > MAX_DECISION_BYTES:
        return [Problem(name, f"tabel keputusan lebih dari {MAX_DECISION_BYTES // 1024 // 1024} MB")]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return [Problem(name, "tabel keputusan harus berupa berkas UTF-8")]
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        return [Problem(name, "DTD dan entitas XML tidak diizinkan")]
    try:
        root = parse_decision(raw)
    except etree.XMLSyntaxError as exc:
        return [Problem(name, f"XML tidak sah: {_first_line(exc)}")]
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        return [Problem(name, "bukan dokumen DMN (elemen akar harus dmn:definitions)")]
    return []


def parse_decision(raw: bytes) -> etree._Element:
    """Parse a decision table's XML safely: no DTD, no entities, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(raw, parser)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def canonical_form(form: Mapping[str, Any]) -> str:
    """A form as stored: JSON text, key order kept (the form editor shows it so)."""
    return json.dumps(form, ensure_ascii=False, separators=(",", ":"))


def content_hash(xml: bytes, files: VersionFiles = NO_FILES) -> str:
    """The content hash of a version: of the diagram alone when it has no files (so versions deployed
    before files existed keep theirs), else of the diagram, every form (its JSON, key order ignored) and
    every decision table (its bytes), each with its name."""
    if not files:
        return hashlib.sha256(xml).hexdigest()
    digest = hashlib.sha256(b"kia-version-1\0bpmn\0" + hashlib.sha256(xml).digest())
    for form_id in sorted(files.forms):
        sorted_json = json.dumps(files.forms[form_id], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest.update(b"\0form\0" + form_id.encode() + b"\0" + hashlib.sha256(sorted_json.encode()).digest())
    for name in sorted(files.decisions):
        digest.update(b"\0decision\0" + name.encode() + b"\0" + hashlib.sha256(files.decisions[name]).digest())
    return digest.hexdigest()


def rows(files: VersionFiles) -> list[VersionFile]:
    """The rows that store ``files`` with their version."""
    return [
        *(VersionFile(kind=VersionFileKind.FORM, name=k, content=canonical_form(f)) for k, f in files.forms.items()),
        *(VersionFile(kind=VersionFileKind.DECISION, name=k, content=x.decode()) for k, x in files.decisions.items()),
    ]


def from_rows(stored: Iterable[VersionFile]) -> VersionFiles:
    """A stored version's files, as they were deployed."""
    forms: dict[str, dict[str, Any]] = {}
    decisions: dict[str, bytes] = {}
    for row in stored:
        if row.kind == VersionFileKind.FORM:
            forms[row.name] = json.loads(row.content)
        elif row.kind == VersionFileKind.DECISION:
            decisions[row.name] = row.content.encode("utf-8")
    return VersionFiles(forms, decisions)
