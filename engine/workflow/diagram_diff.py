"""What changed between two versions of a diagram, element by element (for the process owner's list).

Each element with an id in the executable process (tasks, events, gateways, flows, lanes) is reduced to
a signature: its type, name, the service's extension properties (form, time standard), the service-task
handler, expressions (conditions, timers), flow ends and lane. Layout (DI) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.workflow.definitions import _safe_parse
from engine.workflow.lint import NS

_EXPRESSIONS = ("conditionExpression", "timeDate", "timeDuration", "timeCycle")


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    name: str
    kind: str  # added | removed | changed
    element_type: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (what, before, after)


def _signature(node: etree._Element, lanes: dict[str, str]) -> dict[str, str]:
    sig = {"type": etree.QName(node).localname, "name": node.get("name", "")}
    for attr in ("sourceRef", "targetRef", "attachedToRef", "cancelActivity", "default"):
        if node.get(attr) is not None:
            sig[attr] = node.get(attr, "")
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        sig[f"property {prop.get('name')}"] = prop.get("value", "")
    operator = node.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    if operator is not None:
        sig["handler"] = operator.get("id", "")
        for param in operator.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS):
            sig[f"parameter {param.get('id')}"] = param.get("value", "")
    for tag in _EXPRESSIONS:
        for expr in node.iter(f"{{{NS['bpmn']}}}{tag}"):
            sig[tag] = (expr.text or "").strip()
    if node.get("id") in lanes:
        sig["lane"] = lanes[node.get("id")]
    return sig


def signatures(xml: bytes) -> dict[str, dict[str, str]]:
    """Element id -> signature for the executable process of a diagram."""
    root = _safe_parse(xml)
    process = next((p for p in root.iterfind("bpmn:process", NS) if p.get("isExecutable") == "true"), None)
    if process is None:
        return {}
    lanes = {
        (ref.text or "").strip(): lane.get("id", "")
        for lane in process.iterfind(".//bpmn:lane", NS)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS)
    }
    out = {}
    for node in process.iter(f"{{{NS['bpmn']}}}*"):
        local = etree.QName(node).localname
        if (
            node.get("id")
            and local not in {"laneSet", "extensionElements", "documentation"}
            and node.getparent() is not None
            and etree.QName(node.getparent()).localname in {"process", "subProcess", "laneSet"}
        ):
            out[node.get("id")] = _signature(node, lanes)
    return out


def diff(before: bytes, after: bytes) -> list[ElementChange]:
    """The elements added, removed or changed from ``before`` to ``after``, in a stable order."""
    old, new = signatures(before), signatures(after)
    changes = []
    for element_id in sorted(old.keys() | new.keys()):
        a, b = old.get(element_id), new.get(element_id)
        if a == b:
            continue
        sig: dict[str, str] = b or a or {}  # one of them is there
        if a is None:
            changes.append(ElementChange(element_id, sig["name"], "added", sig["type"]))
        elif b is None:
            changes.append(ElementChange(element_id, sig["name"], "removed", sig["type"]))
        else:
            fields = [(k, a.get(k, ""), b.get(k, "")) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
            changes.append(ElementChange(element_id, sig["name"], "changed", sig["type"], fields))
    return changes
