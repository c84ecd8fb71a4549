"""The rules an uploaded diagram must pass before it is deployed: one small function per rule.

A rule takes the ``Lint`` context (the parsed document, its executable process, the lanes and what the
service offers: form keys, service-task handlers, lane roles) and yields the problems it finds. Adding a
rule is adding one function to ``RULES``; rules that need a wider view (reachability, gateways) may live
in their own module and be appended to ``RULES`` there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

from engine.workflow import config, expressions, owner_forms
from engine.workflow.calendar import parse_duration
from engine.workflow.errors import Problem
from engine.workflow.lanes import LANE_ID, SCOPES, lanes_of
from engine.workflow.services import handler_names

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
RESERVED_IDS = frozenset({"Start", "End"})
FORBIDDEN_ELEMENTS = {
    "scriptTask": "script task tidak diizinkan",
    "callActivity": "call activity tidak didukung",
}
EXPRESSION_TAGS = (
    "conditionExpression",
    "timeDate",
    "timeDuration",
    "timeCycle",
    "loopCardinality",
    "completionCondition",
)
TIME_BASES = frozenset({"working", "calendar"})


def props(node: etree._Element) -> dict[str, str]:
    """A flow node's ``spiffworkflow:property`` values by name."""
    return {
        p.get("name"): p.get("value", "")
        for p in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    }


def flow_element(node: etree._Element) -> etree._Element:
    """The flow node or sequence flow a nested element belongs to (its ancestor directly in a process)."""
    while node.getparent() is not None and etree.QName(node.getparent()).localname not in {"process", "subProcess"}:
        node = node.getparent()
    return node


def bpmn(local: str) -> str:
    """The qualified tag of a BPMN element, for ``iter``: ``bpmn("userTask")``."""
    return f"{{{NS['bpmn']}}}{local}"


@dataclass
class Lint:
    """What every rule may read. Built once per diagram."""

    root: etree._Element
    process: etree._Element
    form_keys: Collection[str]
    handlers: Collection[str] = field(default_factory=handler_names)
    lane_roles: Collection[str] | None = field(default_factory=lambda: config.current().lane_roles)
    decision_ids: Collection[str] = ()  # the decisions deployed with the diagram (``decisions``)
    # the forms sent with the diagram (form id -> form-js JSON); None: a stored version, not checked again
    forms: Mapping[str, object] | None = None

    def elements(self) -> Iterator[tuple[etree._Element, str, str | None]]:
        """Every element of the document with its local name and namespace (comments skipped)."""
        for node in self.root.iter():
            if isinstance(node.tag, str):
                qname = etree.QName(node)
                yield node, qname.localname, qname.namespace

    @cached_property
    def lanes(self) -> dict[str, str]:
        """Flow node id -> the id of the lane it is in."""
        return {
            (ref.text or "").strip(): lane.get("id", "")
            for lane in self.process.iterfind(".//bpmn:lane", NS)
            for ref in lane.iterfind("bpmn:flowNodeRef", NS)
        }


Rule = Callable[[Lint], Iterable[Problem]]


def reserved_ids(lint: Lint) -> Iterator[Problem]:
    for node, _, _ in lint.elements():
        node_id = node.get("id", "")
        if node_id in RESERVED_IDS:
            yield Problem(node_id, f"id '{node_id}' dicadangkan, gunakan id lain")


def forbidden_elements(lint: Lint) -> Iterator[Problem]:
    for node, local, namespace in lint.elements():
        if local in FORBIDDEN_ELEMENTS and namespace == NS["bpmn"]:
            yield Problem(node.get("id", ""), FORBIDDEN_ELEMENTS[local])


def no_scripts(lint: Lint) -> Iterator[Problem]:
    for node, local, namespace in lint.elements():
        if namespace == NS["spiffworkflow"] and local in {"preScript", "postScript"}:
            yield Problem(flow_element(node).get("id", ""), f"{local} tidak diizinkan")


def expressions_in_sandbox(lint: Lint) -> Iterator[Problem]:
    """Conditions, timers, loop counts and service-task parameters parse in the expression sandbox."""
    for node, local, namespace in lint.elements():
        if local in EXPRESSION_TAGS and (node.text or "").strip():
            yield from _check_expression(flow_element(node), node.text)
        if local == "parameter" and namespace == NS["spiffworkflow"]:
            yield from _check_expression(flow_element(node), node.get("value", ""))


def extension_ids_unique(lint: Lint) -> Iterator[Problem]:
    bpmn_ids = {n.get("id") for n in lint.root.iter(bpmn("*")) if n.get("id")}
    for node in lint.root.iter(f"{{{NS['spiffworkflow']}}}*"):
        if node.get("id") in bpmn_ids:
            yield Problem(
                node.get("id"),
                "id elemen BPMN dipakai lagi oleh elemen ekstensi (mis. nama handler); gunakan id lain untuk elemennya",
            )


def lanes_are_roles(lint: Lint) -> Iterator[Problem]:
    """A lane's id is the role that works it: a role name, not one of the service's other roles, and (where
    the runtime is told which lane ids exist) a known one."""
    reserved = config.current().reserved_roles
    for _, lane in lanes_of(lint.process):
        if not LANE_ID.match(lane.id):
            yield Problem(
                lane.id,
                f"id lane '{lane.id}' adalah nama peran petugas: 2-50 huruf kecil, angka atau garis bawah, "
                "diawali huruf (mis. kasi_pelayanan)",
            )
        elif lane.id in reserved:
            taken = ", ".join(sorted(reserved))
            yield Problem(lane.id, f"id lane '{lane.id}' sudah dipakai untuk peran lain ({taken})")
        elif lint.lane_roles is not None and lane.id not in lint.lane_roles:
            roles = ", ".join(sorted(lint.lane_roles))
            yield Problem(lane.id, f"lane '{lane.id}' tidak terpetakan ke peran mana pun ({roles})")


def lane_scopes_known(lint: Lint) -> Iterator[Problem]:
    """A lane's ``scope`` property, where given, is one the service shares tasks out by."""
    for _, lane in lanes_of(lint.process):
        if lane.scope is not None and lane.scope not in SCOPES:
            allowed = ", ".join(f"'{s}'" for s in sorted(SCOPES))
            yield Problem(lane.id, f"properti scope lane '{lane.scope}' tidak dikenal: isi {allowed} atau kosongkan")


def user_tasks_in_lanes(lint: Lint) -> Iterator[Problem]:
    for task in lint.process.iter(bpmn("userTask")):
        if task.get("id", "") not in lint.lanes:
            yield Problem(task.get("id", ""), "user task tidak berada di lane mana pun")


def user_task_forms_known(lint: Lint) -> Iterator[Problem]:
    """A user task's form_key names a built-in form or a form deployed with the diagram."""
    deployed = lint.forms or {}
    for task in lint.process.iter(bpmn("userTask")):
        form_key = props(task).get("form_key")
        if form_key not in lint.form_keys and form_key not in deployed:
            sent = ", ".join(sorted(deployed)) or "tidak ada"
            yield Problem(
                task.get("id", ""),
                f"formulir '{form_key or ''}' tidak dikenal: bukan formulir bawaan dan tidak ikut di-deploy "
                f"(formulir yang dikirim: {sent})",
            )


def owner_forms_usable(lint: Lint) -> Iterator[Problem]:
    """Every form sent with the diagram is one the server can validate (``owner_forms``), and its id is not
    a built-in form's. A problem names the steps that use the form (the form itself when none does)."""
    users: dict[str, list[str]] = {}
    for task in lint.process.iter(bpmn("userTask")):
        users.setdefault(props(task).get("form_key", ""), []).append(task.get("id", ""))
    for form_id, document in (lint.forms or {}).items():
        found = owner_forms.problems(document)
        targets = users.get(form_id) or [form_id]
        if form_id in lint.form_keys:  # the steps naming it mean the built-in form: the form is named
            found.insert(0, f"id '{form_id}' sudah dipakai formulir bawaan; beri formulir ini id lain")
            targets = [form_id]
        for message in found:
            for element_id in targets:
                yield Problem(element_id, f"formulir '{form_id}': {message}")


def user_task_time_standards(lint: Lint) -> Iterator[Problem]:
    for task in lint.process.iter(bpmn("userTask")):
        values = props(task)
        try:
            parse_duration(values.get("time_standard", ""))
        except ValueError:
            yield Problem(task.get("id", ""), "standar waktu (time_standard, durasi ISO 8601) tidak ada atau tidak sah")
        if values.get("time_basis", "working") not in TIME_BASES:
            yield Problem(task.get("id", ""), "time_basis harus 'working' atau 'calendar'")


def service_task_handlers_known(lint: Lint) -> Iterator[Problem]:
    for task in lint.process.iter(bpmn("serviceTask")):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        name = operator.get("id", "") if operator is not None else ""
        if name not in lint.handlers:
            yield Problem(task.get("id", ""), f"handler service task '{name}' tidak dikenal")


def business_rule_tasks_call_decisions(lint: Lint) -> Iterator[Problem]:
    """A business-rule task names a decision table deployed with the diagram."""
    for task in lint.process.iter(bpmn("businessRuleTask")):
        called = task.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", default="", namespaces=NS)
        called = (called or "").strip()
        if not called:
            yield Problem(task.get("id", ""), "business rule task harus menyebut tabel keputusan (calledDecisionId)")
        elif called not in lint.decision_ids:
            known = ", ".join(sorted(lint.decision_ids)) or "tidak ada"
            yield Problem(
                task.get("id", ""), f"tabel keputusan '{called}' tidak ikut di-deploy (tabel yang ada: {known})"
            )


RULES: list[Rule] = [
    reserved_ids,
    forbidden_elements,
    no_scripts,
    expressions_in_sandbox,
    extension_ids_unique,
    lanes_are_roles,
    lane_scopes_known,
    user_tasks_in_lanes,
    user_task_forms_known,
    owner_forms_usable,
    user_task_time_standards,
    service_task_handlers_known,
    business_rule_tasks_call_decisions,
]


def lint(
    root: etree._Element,
    form_keys: Collection[str],
    decision_ids: Collection[str] = (),
    forms: Mapping[str, object] | None = None,
) -> tuple[str, list[Problem]]:
    """Check a diagram against every rule. Returns the executable process id and the problems found.

    ``form_keys`` are the built-in forms; ``forms`` the forms sent with the diagram (id -> form-js JSON)."""
    processes = [p for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable", "false") == "true"]
    if len(processes) != 1:
        return "", [Problem("", "diagram harus memuat tepat satu proses yang dapat dijalankan")]
    context = Lint(root, processes[0], form_keys, decision_ids=decision_ids, forms=forms)
    return processes[0].get("id", ""), [problem for rule in RULES for problem in rule(context)]


def _check_expression(owner: etree._Element, source: str) -> list[Problem]:
    try:
        expressions.parse_expression(source)
    except expressions.ExpressionError as exc:
        return [Problem(owner.get("id", ""), f"ekspresi tidak diizinkan ({exc}): {source.strip()[:80]}")]
    return []
