"""Process definitions: parse, lint and deploy diagrams as immutable versions keyed by content hash.

This is the "spec" side of SpiffWorkflow's spec/instance split. A ``Definition`` is the parsed diagram
plus what the service needs to know about it (lanes by id, each user task's form and time standard, the
milestones, the service task each boundary timer leads to, the forms and decision tables deployed with
it); it is built once per version and cached, since versions never change.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.workflow import expressions, owner_forms, structure, version_files, versions
from engine.workflow.clock import clock
from engine.workflow.decisions import DecisionTable, read_all
from engine.workflow.errors import DiagramRejected, NotFound, Problem
from engine.workflow.lanes import Lane, lanes_of
from engine.workflow.lint import NS, lint, props
from engine.workflow.models import ProcessVersion
from engine.workflow.owner_forms import OwnerForm
from engine.workflow.version_files import NO_FILES, VersionFiles

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class UserTaskInfo:
    step: str
    title: str
    lane: str
    form_key: str
    time_standard: str
    time_basis: str


@dataclass
class Definition:
    """A parsed, linted diagram. Shared by every instance of its version; never mutated."""

    process_key: str
    spec: Any
    subprocess_specs: dict
    lanes: dict[str, str]  # flow node id -> lane id
    lane_info: dict[str, Lane]  # lane id -> the lane (its name, its scope)
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    milestones: dict[str, tuple[str, str]] = field(default_factory=dict)  # node id -> (key, name)
    # boundary timer id -> (handler, parameters) of the service task it leads to, when every parameter
    # is a literal: the timer sweep can then run that handler's batch form at the deadline
    timer_actions: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # deployed with the diagram: form id -> form-js JSON, and DMN file name -> its XML (raw bytes)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: dict[str, bytes] = field(default_factory=dict)
    # those decision tables checked and parsed: decision id -> table (what business-rule tasks call)
    decision_tables: dict[str, DecisionTable] = field(default_factory=dict)
    # the deployed forms read for the server to check: form id -> form (a user task's form_key names one
    # of them or a built-in form)
    owner_forms: dict[str, OwnerForm] = field(default_factory=dict)
    # the variables the diagram's conditions read (what the dry run branches a choice field on)
    condition_names: frozenset[str] = frozenset()

    def owner_form_samples(self) -> dict[str, list[dict[str, Any]]]:
        """Data each deployed form accepts, one per value of each choice field a condition reads (what the
        dry run completes a user task naming the form with)."""
        return {form_id: form.samples(self.condition_names) for form_id, form in self.owner_forms.items()}

    @property
    def lane_names(self) -> dict[str, str]:
        """Lane id -> the name people read."""
        return {lane_id: lane.name for lane_id, lane in self.lane_info.items()}


def _safe_parse(xml: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size."""
    if len(xml) > MAX_DIAGRAM_BYTES:
        raise DiagramRejected([Problem("", f"berkas lebih dari {MAX_DIAGRAM_BYTES // 1024 // 1024} MB")])
    try:
        xml.decode("utf-8")  # stored as text; another encoding would also hide a DOCTYPE from the check below
    except UnicodeDecodeError:
        raise DiagramRejected([Problem("", "diagram harus berupa berkas UTF-8")]) from None
    if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
        raise DiagramRejected([Problem("", "DTD dan entitas XML tidak diizinkan")])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise DiagramRejected([Problem("", f"XML tidak sah: {exc}")]) from None
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise DiagramRejected([Problem("", "bukan dokumen BPMN 2.0 (elemen akar harus bpmn:definitions)")])
    return root


def process_key_of(xml: bytes) -> str | None:
    """The id of the executable process of ``xml``, or None when it is not a usable diagram."""
    try:
        root = _safe_parse(xml)
    except DiagramRejected:
        return None
    keys = [p.get("id") for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable", "false") == "true"]
    return keys[0] if len(keys) == 1 else None


def build_definition(
    xml: bytes,
    form_keys: Collection[str] | structure.FormChoices | None = None,
    files: VersionFiles = NO_FILES,
) -> Definition:
    """Parse, lint and build the ``Definition``; raise DiagramRejected with every problem found.

    ``form_keys`` are the forms a user task may name; given as ``FormChoices`` (form key -> choice field ->
    allowed values) the decision gateways are checked against them too. With ``None`` (a stored version
    being loaded) neither the forms nor the structural rules are checked again: what was deployed runs.
    ``files`` are the forms and decision tables deployed with the diagram; every table is checked
    (``decisions.read``) and a business-rule task must name one of them; every form is checked
    (``owner_forms``: the lint refuses one the server cannot validate) and a user task's form_key may name
    one of them, whose choice fields the gateways after it are checked against like a built-in form's."""
    root = _safe_parse(xml)
    tables, table_problems = read_all(files.decisions)
    forms = owner_forms.read_all(files.forms)
    process_key, problems = lint(
        root,
        form_keys if form_keys is not None else form_keys_of(root),
        decision_ids=set(tables),
        forms=files.forms if form_keys is not None else None,
    )
    problems = table_problems + problems
    if form_keys is not None and process_key:
        choices = dict(form_keys) if isinstance(form_keys, Mapping) else {}
        choices.update({form_id: form.choices() for form_id, form in forms.items()})
        process = next(p for p in root.iterfind("bpmn:process", NS) if p.get("id") == process_key)
        problems += structure.check(process, choices)
    if problems:
        raise DiagramRejected(structure.named(root, problems))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename="upload.bpmn")
        for table in tables.values():
            parser.add_dmn_xml(table.root, filename=table.file_name)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except ValidationException as exc:
        raise DiagramRejected([Problem(getattr(exc, "id", "") or "", str(exc).splitlines()[0])]) from None
    except Exception as exc:  # the parser raises many kinds; all mean "not deployable"
        raise DiagramRejected([Problem("", f"diagram tidak dapat diurai: {exc}")]) from None
    definition = _describe(root, process_key, spec, subprocess_specs)
    definition.forms = dict(files.forms)
    definition.decisions = dict(files.decisions)
    definition.decision_tables = tables
    definition.owner_forms = forms
    definition.condition_names = _condition_names(root)
    return definition


def form_keys_of(root: etree._Element) -> set[str]:
    """The form keys the user tasks of a parsed diagram name."""
    return {props(t).get("form_key", "") for t in root.iter(f"{{{NS['bpmn']}}}userTask")}


def form_keys_in(xml: bytes) -> set[str]:
    """The form keys the user tasks of ``xml`` name (none when it is not a usable diagram)."""
    try:
        return form_keys_of(_safe_parse(xml))
    except DiagramRejected:
        return set()


def _condition_names(root: etree._Element) -> frozenset[str]:
    names: set[str] = set()
    for node in root.iter(f"{{{NS['bpmn']}}}conditionExpression"):
        try:
            tree = expressions.parse_expression(node.text or "")
        except expressions.ExpressionError:
            continue
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return frozenset(names)


def _describe(root: etree._Element, key: str, spec: Any, subprocess_specs: dict) -> Definition:
    process = root.find(f"bpmn:process[@id='{key}']", NS)
    lanes, lane_info = {}, {}
    for element, lane in lanes_of(process):
        lane_info[lane.id] = lane
        for ref in element.iterfind("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.id
    definition = Definition(key, spec, subprocess_specs, lanes, lane_info)
    for task_spec in spec.task_specs.values():
        props = task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}
        if isinstance(task_spec, UserTask):
            definition.user_tasks[task_spec.bpmn_id] = UserTaskInfo(
                step=task_spec.bpmn_id,
                title=task_spec.bpmn_name or task_spec.bpmn_id,
                lane=lanes.get(task_spec.bpmn_id, ""),
                form_key=props.get("form_key", ""),
                time_standard=props.get("time_standard", ""),
                time_basis=props.get("time_basis", "working"),
            )
        elif isinstance(task_spec, IntermediateThrowEvent) and props.get("milestone"):
            definition.milestones[task_spec.bpmn_id] = (props["milestone"], task_spec.bpmn_name or "")
        elif isinstance(task_spec, BoundaryEvent):
            action = _service_action(task_spec)
            if action is not None:
                definition.timer_actions[task_spec.bpmn_id] = action
    return definition


def _service_action(boundary: Any) -> tuple[str, dict[str, Any]] | None:
    """The handler and literal parameters of the service task a boundary event leads to, if any."""
    target = next((spec for spec in boundary.outputs if isinstance(spec, ServiceTask)), None)
    name = getattr(target, "operation_name", None)
    if target is None or not name:
        return None
    params = {}
    for key, param in (getattr(target, "operation_params", None) or {}).items():
        try:
            params[key] = ast.literal_eval(str(param.get("value", "")))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None  # an expression, evaluated only when the workflow runs the task
    return name, params


_DEFINITIONS: dict[str, Definition] = {}


def definition_of(version: ProcessVersion) -> Definition:
    """The cached ``Definition`` of a deployed version (versions are immutable, so caching is safe).

    Keyed by content hash, so two databases in one process never mix their versions up."""
    definition = _DEFINITIONS.get(version.content_hash)
    if definition is None:
        files = version_files.from_rows(version.files)
        definition = build_definition(version.bpmn_xml.encode("utf-8"), form_keys=None, files=files)
        if len(_DEFINITIONS) > 256:
            _DEFINITIONS.clear()
        _DEFINITIONS[version.content_hash] = definition
    return definition


def owner_form(version: ProcessVersion, form_key: str) -> OwnerForm | None:
    """The form deployed with ``version`` under ``form_key``, or None when the key names none (a built-in
    form, then)."""
    return definition_of(version).owner_forms.get(form_key)


def deploy(
    session: Session,
    xml: bytes,
    form_keys: Collection[str] | structure.FormChoices,
    actor: str = "system",
    *,
    files: VersionFiles = NO_FILES,
    verify: Callable[[Definition], Sequence[Problem]] | None = None,
    note: str | None = None,
) -> tuple[ProcessVersion, bool]:
    """Lint and store ``xml`` with its ``files`` (forms, decision tables) as the next version of its
    process, with the owner's change ``note``, and make it the version new instances start on.

    Returns ``(version, created)``; deploying content that is already deployed returns the existing
    version with ``created=False`` and changes nothing (an older version comes back with
    ``versions.activate``). Raises ``DiagramRejected`` and stores nothing when lint fails or ``verify``
    (e.g. the dry run) finds a problem in the built definition.
    """
    definition = build_definition(xml, form_keys, files)
    problems = list(verify(definition)) if verify is not None else []
    if problems:
        raise DiagramRejected(problems)
    digest = version_files.content_hash(xml, files)
    existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == digest))
    if existing is not None:
        return existing, False
    last = (
        session.scalar(
            select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == definition.process_key)
        )
        or 0
    )
    version = ProcessVersion(
        process_key=definition.process_key,
        version=last + 1,
        content_hash=digest,
        bpmn_xml=xml.decode("utf-8"),
        deployed_by=actor,
        deployed_at=clock.now(),
        note=note,
        files=version_files.rows(files),
    )
    session.add(version)
    versions.record_activation(session, version, note or "", actor)
    session.flush()
    return version, True


def get_version(session: Session, process_key: str, number: int | None = None) -> ProcessVersion:
    """Version ``number`` of ``process_key``, or without a number the active one."""
    if number is None:
        return versions.active_version(session, process_key)
    version = session.scalar(
        select(ProcessVersion).where(ProcessVersion.process_key == process_key, ProcessVersion.version == number)
    )
    if version is None:
        raise NotFound(f"versi {number} dari proses '{process_key}' tidak ada")
    return version
