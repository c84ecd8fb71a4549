"""The bundled diagram ``bpmn/kia_whatsapp.bpmn``: its structure, its diagram interchange, and how it runs.

Three groups:

* the XML itself (lxml): ids, names, properties, lanes, and a complete, tidy BPMN DI (a shape for every
  flow node, lane and the participant; an orthogonal edge for every flow, touching its ends and crossing
  no other shape; no overlapping shapes; boundary timers sitting on their task's bottom edge);
* execution in SpiffWorkflow 3.2 with a recording script engine: the happy path, the "incomplete" loop
  from verification and the "problem" loop from printing;
* the non-interrupting boundary timers: a deadline in the past fires ``escalate`` with the step's id and
  leaves the user task READY.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.workflow.clock import clock

DIAGRAM = Path(__file__).resolve().parent.parent / "bpmn" / "kia_whatsapp.bpmn"
DECISIONS = DIAGRAM.with_name("kia_rules.dmn")  # the decision table its business-rule task calls
PROCESS_ID = "kia_whatsapp"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODE_TAGS = {
    "startEvent",
    "endEvent",
    "intermediateThrowEvent",
    "intermediateCatchEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}

LANES = [  # top to bottom
    ("applicant", "Masyarakat/Pemohon"),
    ("admin", "Admin KIA WhatsApp"),
    ("operator", "FO/Petugas Penerbitan KIA"),
    ("dafdud", "Staf Bidang Dafdud"),
    ("uptd", "Ka. UPTD"),
]
LANE_NAME = dict(LANES)

USER_TASKS = {  # id: (name, lane, form_key, time_standard, time_basis)
    "submit_application": ("Mendaftar dan mengajukan permohonan", "applicant", "submission", "PT5M", "calendar"),
    "verify_application": ("Verifikasi dan validasi data dengan SIAK", "admin", "verification", "PT1H", "working"),
    "print_card": ("Input data ke SIAK dan cetak KIA", "operator", "printing", "PT1H", "working"),
    "group_cards": ("Kelompokkan KIA per kecamatan domisili", "dafdud", "grouping", "PT1H", "working"),
    "confirm_arrival": ("Konfirmasi kedatangan KIA di UPTD", "uptd", "arrival", "P1D", "working"),
    "resolve_missing_card": ("Telusuri KIA yang tidak sampai di UPTD", "dafdud", "missing_card", "P2D", "working"),
    "hand_over_card": ("Serahkan KIA kepada pemohon", "uptd", "handover", "P1D", "working"),
    "correct_application": ("Perbaiki dan kirim ulang permohonan", "applicant", "correction", "P1D", "calendar"),
}
# every user task but the hand-over has a deadline timer: the card waits there for the parent, which is
# not the UPTD's time (the UPTD's standard is the arrival step, from the batch sent to the parent told)
TIMED = [tid for tid in USER_TASKS if tid != "hand_over_card"]
MILESTONES = {  # id: (name, milestone key, lane)
    "ms_submitted": ("Diajukan", "diajukan", "applicant"),
    "ms_verified": ("Diverifikasi", "diverifikasi", "admin"),
    "ms_needs_fix": ("Perlu perbaikan", "perlu_perbaikan", "admin"),
    "ms_printed": ("Dicetak", "dicetak", "operator"),
    "ms_ready": ("Siap diambil di UPTD", "siap_diambil", "uptd"),
    "ms_done": ("Selesai", "selesai", "uptd"),
}
SERVICE_TASKS = {  # id: (name, handler, parameters, lane)
    "svc_send_receipt": ("Kirim resi melalui WhatsApp", "send_receipt", {}, "admin"),
    "svc_email_code": ("Kirim kode permohonan ke e-mail pemohon", "email_code", {}, "admin"),
    "send_correction_note": ("Kirim catatan perbaikan kepada pemohon", "notify_correction", {"note": "note"}, "admin"),
    "svc_apply_correction": ("Terapkan perbaikan data", "apply_correction", {}, "applicant"),
    "svc_notify_ready": ("Kabari pemohon: KIA siap diambil", "notify_ready", {}, "uptd"),
}
OTHER_NODES = {  # id: (tag, name or None, lane)
    "start_application": ("startEvent", "Permohonan masuk", "applicant"),
    "decide_kia_kind": ("businessRuleTask", "Tentukan jenis KIA dan kewajiban pas foto", "applicant"),
    "end_completed": ("endEvent", "KIA diterima pemohon", "uptd"),
    "gw_resubmit": ("exclusiveGateway", None, "applicant"),
    "gw_verification": ("exclusiveGateway", "Data lengkap?", "admin"),
    "gw_printing": ("exclusiveGateway", "Data bermasalah?", "operator"),
    "gw_needs_fix": ("exclusiveGateway", None, "admin"),
    "gw_send_to_uptd": ("exclusiveGateway", None, "dafdud"),
    "gw_arrival": ("exclusiveGateway", "KIA tiba?", "uptd"),
}
MAIN_PATH = [
    "start_application",
    "decide_kia_kind",
    "submit_application",
    "gw_resubmit",
    "ms_submitted",
    "verify_application",
    "gw_verification",
    "svc_send_receipt",
    "svc_email_code",
    "ms_verified",
    "print_card",
    "gw_printing",
    "ms_printed",
    "group_cards",
    "gw_send_to_uptd",
    "confirm_arrival",
    "gw_arrival",
    "svc_notify_ready",
    "ms_ready",
    "hand_over_card",
    "ms_done",
    "end_completed",
]
MISSING_PATH = ["gw_arrival", "resolve_missing_card", "gw_send_to_uptd"]
CORRECTION_PATH = [
    "gw_needs_fix",
    "send_correction_note",
    "ms_needs_fix",
    "correct_application",
    "svc_apply_correction",
    "gw_resubmit",
]
DECISION_FLOWS = {  # id: (source, target, name, condition)
    "flow_complete": ("gw_verification", "svc_send_receipt", "Lengkap", 'decision == "complete"'),
    "flow_incomplete": ("gw_verification", "gw_needs_fix", "Tidak lengkap", 'decision == "incomplete"'),
    "flow_issued": ("gw_printing", "ms_printed", "Tercetak", 'decision == "issued"'),
    "flow_problem": ("gw_printing", "gw_needs_fix", "Bermasalah", 'decision == "problem"'),
    "flow_arrived": ("gw_arrival", "svc_notify_ready", "Tiba", 'decision == "arrived"'),
    "flow_missing": ("gw_arrival", "resolve_missing_card", "Tidak ada", 'decision == "missing"'),
}


# --- XML helpers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root() -> etree._Element:
    return etree.parse(str(DIAGRAM)).getroot()


@pytest.fixture(scope="module")
def process(root: etree._Element) -> etree._Element:
    return root.find(f"bpmn:process[@id='{PROCESS_ID}']", NS)


def local(node: etree._Element) -> str:
    return etree.QName(node).localname


def flow_nodes(process: etree._Element) -> dict[str, etree._Element]:
    return {n.get("id"): n for n in process if isinstance(n.tag, str) and local(n) in FLOW_NODE_TAGS}


def sequence_flows(process: etree._Element) -> dict[str, etree._Element]:
    return {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}


def properties(node: etree._Element) -> dict[str, str]:
    path = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    return {p.get("name"): p.get("value") for p in node.iterfind(path, NS)}


def lane_of(process: etree._Element) -> dict[str, list[str]]:
    lanes: dict[str, list[str]] = {}
    for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes.setdefault(ref.text.strip(), []).append(lane.get("id"))
    return lanes


Box = tuple[float, float, float, float]  # x, y, width, height


def bounds(element: etree._Element) -> Box:
    b = element.find("dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def shapes(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        found.setdefault(shape.get("bpmnElement"), []).append(shape)
    return found


def edges(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        found.setdefault(edge.get("bpmnElement"), []).append(edge)
    return found


def waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    return [(float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", NS)]


def overlaps(a: Box, b: Box, margin: float = 0) -> bool:
    return (
        a[0] < b[0] + b[2] + margin
        and b[0] < a[0] + a[2] + margin
        and a[1] < b[1] + b[3] + margin
        and b[1] < a[1] + a[3] + margin
    )


def inside(inner: Box, outer: Box) -> bool:
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def on_perimeter(point: tuple[float, float], box: Box, tolerance: float = 1.0) -> bool:
    x, y = point
    bx, by, bw, bh = box
    within_x = bx - tolerance <= x <= bx + bw + tolerance
    within_y = by - tolerance <= y <= by + bh + tolerance
    on_vertical = within_y and (abs(x - bx) <= tolerance or abs(x - bx - bw) <= tolerance)
    on_horizontal = within_x and (abs(y - by) <= tolerance or abs(y - by - bh) <= tolerance)
    return on_vertical or on_horizontal


# --- (a) the XML and its diagram interchange ------------------------------------------------------------


def test_schema_valid_bpmn_with_spiffworkflow_extensions() -> None:
    VALIDATOR.validate(etree.parse(str(DIAGRAM)), str(DIAGRAM))


def test_definitions_collaboration_and_process(root: etree._Element, process: etree._Element) -> None:
    assert local(root) == "definitions" and root.get("id") == "kia_definitions"
    assert root.get("targetNamespace") == "http://disdukcapil.pekanbaru.go.id/bpmn/kia"
    for prefix in ("bpmn", "bpmndi", "dc", "di", "xsi", "spiffworkflow"):
        assert root.nsmap.get(prefix) == NS[prefix]
    participants = root.findall("bpmn:collaboration[@id='kia_collaboration']/bpmn:participant", NS)
    assert [(p.get("id"), p.get("name"), p.get("processRef")) for p in participants] == [
        ("kia_participant", "Disdukcapil Kota Pekanbaru – Layanan KIA via WhatsApp", PROCESS_ID)
    ]
    assert process is not None
    assert process.get("name") == "Penerbitan KIA melalui WhatsApp"
    assert process.get("isExecutable") == "true"
    assert len(root.findall("bpmn:process", NS)) == 1


def test_no_scripts_and_no_reserved_ids(root: etree._Element) -> None:
    assert root.find(".//bpmn:scriptTask", NS) is None
    assert root.find(".//spiffworkflow:preScript", NS) is None
    assert root.find(".//spiffworkflow:postScript", NS) is None
    ids = [n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")]
    assert not {"Start", "End"} & set(ids)
    bpmn_ids = [n.get("id") for n in root.iter(f"{{{NS['bpmn']}}}*") if n.get("id")]
    assert len(bpmn_ids) == len(set(bpmn_ids)), "duplicate BPMN element ids"


def test_lanes_in_order_and_every_flow_node_in_exactly_one(process: etree._Element) -> None:
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    assert [(lane.get("id"), lane.get("name")) for lane in lanes] == LANES
    membership = lane_of(process)
    nodes = flow_nodes(process)
    assert set(membership) == set(nodes), "flowNodeRef to an unknown node, or a node in no lane"
    assert {n: ls for n, ls in membership.items() if len(ls) != 1} == {}

    expected = {tid: spec[1] for tid, spec in USER_TASKS.items()}
    expected |= {mid: spec[2] for mid, spec in MILESTONES.items()}
    expected |= {sid: spec[3] for sid, spec in SERVICE_TASKS.items()}
    expected |= {nid: spec[2] for nid, spec in OTHER_NODES.items()}
    for tid, spec in USER_TASKS.items():  # the escalation branch lives in its task's lane
        if tid not in TIMED:
            continue
        expected |= {f"timer_{tid}": spec[1], f"escalate_{tid}": spec[1], f"end_escalated_{tid}": spec[1]}
    assert {n: ls[0] for n, ls in membership.items()} == expected


def test_user_tasks(process: etree._Element) -> None:
    found = {t.get("id"): t for t in process.iterfind("bpmn:userTask", NS)}
    assert set(found) == set(USER_TASKS)
    for tid, (name, _lane, form_key, standard, basis) in USER_TASKS.items():
        assert found[tid].get("name") == name
        assert properties(found[tid]) == {"form_key": form_key, "time_standard": standard, "time_basis": basis}


def test_milestones(process: etree._Element) -> None:
    found = {e.get("id"): e for e in process.iterfind("bpmn:intermediateThrowEvent", NS)}
    assert set(found) == set(MILESTONES)
    for mid, (name, key, _lane) in MILESTONES.items():
        assert found[mid].get("name") == name
        assert properties(found[mid]) == {"milestone": key}
        assert [local(c) for c in found[mid] if local(c).endswith("EventDefinition")] == []


def test_service_tasks(process: etree._Element) -> None:
    found = {t.get("id"): t for t in process.iterfind("bpmn:serviceTask", NS)}
    expected = {sid: (name, handler, params) for sid, (name, handler, params, _lane) in SERVICE_TASKS.items()}
    expected |= {f"escalate_{tid}": ("Eskalasi keterlambatan", "escalate", {"step": f"'{tid}'"}) for tid in TIMED}
    assert set(found) == set(expected)
    for sid, (name, handler, params) in expected.items():
        operator = found[sid].find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        assert found[sid].get("name") == name
        assert operator.get("id") == handler and operator.get("resultVariable") == ""
        got = {
            p.get("id"): (p.get("type"), p.get("value"))
            for p in operator.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS)
        }
        assert got == {k: ("str", v) for k, v in params.items()}


def test_boundary_timers_are_non_interrupting_and_escalate(process: etree._Element) -> None:
    found = {b.get("id"): b for b in process.iterfind("bpmn:boundaryEvent", NS)}
    assert set(found) == {f"timer_{tid}" for tid in TIMED}
    flows = sequence_flows(process)
    outgoing = {}
    for f in flows.values():
        outgoing.setdefault(f.get("sourceRef"), []).append(f.get("targetRef"))
    for tid in TIMED:
        timer = found[f"timer_{tid}"]
        assert timer.get("name") == "Batas waktu terlampaui"
        assert timer.get("attachedToRef") == tid
        assert timer.get("cancelActivity") == "false"
        time_date = timer.find("bpmn:timerEventDefinition/bpmn:timeDate", NS)
        assert time_date.text.strip() == "deadline()"
        assert time_date.get(f"{{{NS['xsi']}}}type") == "bpmn:tFormalExpression"
        assert outgoing[f"timer_{tid}"] == [f"escalate_{tid}"]
        assert outgoing[f"escalate_{tid}"] == [f"end_escalated_{tid}"]
        end = process.find(f"bpmn:endEvent[@id='end_escalated_{tid}']", NS)
        assert end.get("name") == "Eskalasi dicatat"
        assert [local(c) for c in end if local(c).endswith("EventDefinition")] == []


def test_sequence_flows_and_conditions(process: etree._Element) -> None:
    flows = sequence_flows(process)
    pairs = {(f.get("sourceRef"), f.get("targetRef")) for f in flows.values()}
    decided = {(source, target) for source, target, _, _ in DECISION_FLOWS.values()}
    for path in (MAIN_PATH, CORRECTION_PATH, MISSING_PATH):
        for a, b in zip(path, path[1:], strict=False):
            if (a, b) in decided:
                continue  # checked as decision flows below
            assert (a, b) in pairs, f"missing flow {a} -> {b}"
    for fid, (source, target, name, condition) in DECISION_FLOWS.items():
        flow = flows[fid]
        assert (flow.get("sourceRef"), flow.get("targetRef"), flow.get("name")) == (source, target, name)
        expression = flow.find("bpmn:conditionExpression", NS)
        assert expression.get(f"{{{NS['xsi']}}}type") == "bpmn:tFormalExpression"
        assert expression.text.strip() == condition
    conditioned = {fid for fid, f in flows.items() if f.find("bpmn:conditionExpression", NS) is not None}
    assert conditioned == set(DECISION_FLOWS)
    nodes = flow_nodes(process)
    assert all(f.get("sourceRef") in nodes and f.get("targetRef") in nodes for f in flows.values())
    # incoming/outgoing child elements agree with the flows (bpmn.io relies on them)
    for nid, node in nodes.items():
        assert sorted(i.text for i in node.iterfind("bpmn:incoming", NS)) == sorted(
            fid for fid, f in flows.items() if f.get("targetRef") == nid
        )
        assert sorted(o.text for o in node.iterfind("bpmn:outgoing", NS)) == sorted(
            fid for fid, f in flows.items() if f.get("sourceRef") == nid
        )


def test_every_element_has_exactly_one_di(root: etree._Element, process: etree._Element) -> None:
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == "kia_collaboration"
    all_shapes, all_edges = shapes(root), edges(root)
    expected_shapes = set(flow_nodes(process)) | {lane_id for lane_id, _ in LANES} | {"kia_participant"}
    assert set(all_shapes) == expected_shapes
    assert {k: len(v) for k, v in all_shapes.items() if len(v) != 1} == {}
    assert set(all_edges) == set(sequence_flows(process))
    assert {k: len(v) for k, v in all_edges.items() if len(v) != 1} == {}
    for element in ("kia_participant", *(lane_id for lane_id, _ in LANES)):
        assert all_shapes[element][0].get("isHorizontal") == "true"


def test_pool_and_lanes_stack_without_gaps(root: etree._Element) -> None:
    all_shapes = shapes(root)
    px, py, pw, ph = bounds(all_shapes["kia_participant"][0])
    y = py
    for lane_id, _ in LANES:
        lx, ly, lw, lh = bounds(all_shapes[lane_id][0])
        assert (lx, ly, lw) == (px + 30, y, pw - 30), lane_id
        y += lh
    assert y == py + ph


def test_flow_nodes_sit_in_their_lane_without_overlapping(root: etree._Element, process: etree._Element) -> None:
    all_shapes = shapes(root)
    nodes = flow_nodes(process)
    membership = lane_of(process)
    boxes = {nid: bounds(all_shapes[nid][0]) for nid in nodes}
    for nid, box in boxes.items():
        assert inside(box, bounds(all_shapes[membership[nid][0]][0])), f"{nid} outside its lane"
    labels = {}
    for element, (shape,) in all_shapes.items():
        label = shape.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            labels[element] = bounds(label)
    for fid, (edge,) in edges(root).items():
        label = edge.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            labels[fid] = bounds(label)
    hosts = {b.get("id"): b.get("attachedToRef") for b in process.iterfind("bpmn:boundaryEvent", NS)}
    items = [(nid, "shape", box) for nid, box in boxes.items()] + [(e, "label", b) for e, b in labels.items()]
    for i, (a, kind_a, box_a) in enumerate(items):
        for b, kind_b, box_b in items[i + 1 :]:
            if a == b or (kind_a == kind_b == "shape" and (hosts.get(a) == b or hosts.get(b) == a)):
                continue  # an element and its own label; a boundary event on its task
            assert not overlaps(box_a, box_b, margin=2), f"{a} ({kind_a}) overlaps {b} ({kind_b})"


def test_boundary_events_sit_on_bottom_edge_of_their_task(root: etree._Element, process: etree._Element) -> None:
    all_shapes = shapes(root)
    for timer in process.iterfind("bpmn:boundaryEvent", NS):
        tx, ty, tw, th = bounds(all_shapes[timer.get("id")][0])
        hx, hy, hw, hh = bounds(all_shapes[timer.get("attachedToRef")][0])
        assert ty + th / 2 == hy + hh, timer.get("id")
        assert hx <= tx and tx + tw <= hx + hw, timer.get("id")


def test_edges_are_orthogonal_touch_their_ends_and_cross_nothing(root: etree._Element, process: etree._Element) -> None:
    all_shapes = shapes(root)
    nodes = flow_nodes(process)
    boxes = {nid: bounds(all_shapes[nid][0]) for nid in nodes}
    hosts = {b.get("id"): b.get("attachedToRef") for b in process.iterfind("bpmn:boundaryEvent", NS)}
    flows = sequence_flows(process)
    for fid, (edge,) in edges(root).items():
        source, target = flows[fid].get("sourceRef"), flows[fid].get("targetRef")
        points = waypoints(edge)
        assert len(points) >= 2, fid
        assert on_perimeter(points[0], boxes[source]), f"{fid} does not leave {source}"
        assert on_perimeter(points[-1], boxes[target]), f"{fid} does not reach {target}"
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, f"{fid} has a diagonal segment"
            segment = (min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
            for nid, box in boxes.items():
                if nid in (source, target) or hosts.get(source) == nid:
                    continue
                shrunk = (box[0] + 1, box[1] + 1, box[2] - 2, box[3] - 2)
                assert not overlaps(segment, shrunk), f"{fid} crosses {nid}"


def test_left_to_right_along_the_main_path(root: etree._Element) -> None:
    all_shapes = shapes(root)
    centres = [bounds(all_shapes[n][0])[0] + bounds(all_shapes[n][0])[2] / 2 for n in MAIN_PATH]
    assert all(a < b for a, b in zip(centres, centres[1:], strict=False))


# --- (b) execution in SpiffWorkflow ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> Any:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAM))
    parser.add_dmn_file(str(DECISIONS))
    return parser.get_spec(PROCESS_ID)


def test_no_bpmn_id_is_shadowed(root: etree._Element) -> None:
    """SpiffWorkflow indexes every element with an id (extension elements too) and the last one wins,
    so a service task whose id equals its handler's operator id would become unreachable."""
    bpmn_ids = [n.get("id") for n in root.iter(f"{{{NS['bpmn']}}}*") if n.get("id")]
    other_ids = {
        n.get("id")
        for n in root.iter()
        if isinstance(n.tag, str) and n.get("id") and not n.tag.startswith(f"{{{NS['bpmn']}}}")
    }
    assert len(bpmn_ids) == len(set(bpmn_ids))
    assert not set(bpmn_ids) & other_ids


class RecordingEngine(PythonScriptEngine):
    """Records service calls; ``deadline()`` in expressions returns now + ``self.offset`` as ISO UTC."""

    def __init__(self, offset: timedelta = timedelta(hours=1)) -> None:
        self.offset = offset
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.deadlines: list[str] = []
        super().__init__(environment=TaskDataEnvironment({"deadline": self.deadline}))

    def deadline(self) -> str:
        value = (clock.now() + self.offset).isoformat()
        self.deadlines.append(value)
        return value

    def call_service(self, task: Any, operation_name: str, operation_params: dict) -> str:
        # Parameters arrive evaluated and wrapped: {"note": {"value": "...", "type": "str"}}.
        self.calls.append((operation_name, {k: v["value"] for k, v in operation_params.items()}))
        return "{}"


class Case:
    """One workflow instance driven the way the engine drives it."""

    def __init__(self, spec: Any, offset: timedelta = timedelta(hours=1), child_age: int = 3) -> None:
        self.engine = RecordingEngine(offset)
        self.workflow = BpmnWorkflow(spec, script_engine=self.engine)
        for task in self.workflow.get_tasks(state=TaskState.READY):  # what an application starts with
            task.data.update(child_age=child_age)
        self.steps: list[str] = []
        self.task_ids: dict[str, list[Any]] = {}
        self.milestones: list[str] = []
        self.advance()

    def advance(self) -> None:
        self.workflow.do_engine_steps(did_complete_task=self._engine_ran)

    def _engine_ran(self, task: Any) -> None:
        if isinstance(task.task_spec, IntermediateThrowEvent):
            key = task.task_spec.extensions.get("properties", {}).get("milestone")
            if key:
                self.milestones.append(key)

    @property
    def services(self) -> list[str]:
        return [name for name, _ in self.engine.calls]

    def ready(self) -> list[Any]:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def complete(self, step: str, **data: Any) -> Any:
        ready = self.ready()
        assert [t.task_spec.name for t in ready] == [step]
        task = ready[0]
        assert task.task_spec.bpmn_id == step
        assert task.task_spec.lane == LANE_NAME[USER_TASKS[step][1]]  # the lane NAME, not its id
        task.set_data(**data)
        task.run()
        self.steps.append(step)
        self.task_ids.setdefault(step, []).append(task.id)
        self.advance()
        return task

    def timers(self, state: TaskState = TaskState.WAITING) -> list[Any]:
        return [t for t in self.workflow.get_tasks(state=state) if isinstance(t.task_spec, BoundaryEvent)]


HAPPY_TAIL = [
    ("print_card", {"decision": "issued"}),
    ("group_cards", {}),
    ("confirm_arrival", {"decision": "arrived"}),
    ("hand_over_card", {}),
]
HAPPY_STEPS = ["print_card", "group_cards", "confirm_arrival", "hand_over_card"]


def run_steps(case: Case, steps: list[tuple[str, dict]]) -> None:
    for step, data in steps:
        case.complete(step, **data)


def test_happy_path(spec: Any) -> None:
    case = Case(spec)
    assert [t.task_spec.name for t in case.ready()] == ["submit_application"]
    # the business-rule task ran the kia_rules table on the child's age first
    assert {k: case.ready()[0].data[k] for k in ("kia_kind", "photo_required")} == {
        "kia_kind": "under_5",
        "photo_required": False,
    }
    assert Case(spec, child_age=5).ready()[0].data["photo_required"] is True
    run_steps(case, [("submit_application", {}), ("verify_application", {"decision": "complete"}), *HAPPY_TAIL])
    assert case.steps == ["submit_application", "verify_application", *HAPPY_STEPS]
    assert case.engine.calls == [("send_receipt", {}), ("email_code", {}), ("notify_ready", {})]
    assert case.milestones == ["diajukan", "diverifikasi", "dicetak", "siap_diambil", "selesai"]
    assert case.workflow.is_completed()
    assert case.timers() == [] and case.ready() == []
    assert len(case.engine.deadlines) == 5  # one timer started per user task with a deadline
    end = [t for t in case.workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == "end_completed"]
    assert len(end) == 1
    # an empty resultVariable stores the JSON result under spiff__<task id>_result
    assert end[0].data["spiff__svc_notify_ready_result"] == {}


def test_incomplete_application_loops_back_to_verification(spec: Any) -> None:
    case = Case(spec)
    run_steps(
        case,
        [
            ("submit_application", {}),
            ("verify_application", {"decision": "incomplete", "note": "Foto KK tidak terbaca"}),
        ],
    )
    assert case.milestones == ["diajukan", "perlu_perbaikan"]
    assert case.engine.calls == [("notify_correction", {"note": "Foto KK tidak terbaca"})]
    run_steps(
        case,
        [
            ("correct_application", {}),
            ("verify_application", {"decision": "complete"}),
            *HAPPY_TAIL,
        ],
    )
    assert case.steps == [
        "submit_application",
        "verify_application",
        "correct_application",
        "verify_application",
        *HAPPY_STEPS,
    ]
    assert case.services == ["notify_correction", "apply_correction", "send_receipt", "email_code", "notify_ready"]
    assert case.milestones == [
        "diajukan",
        "perlu_perbaikan",
        "diajukan",
        "diverifikasi",
        "dicetak",
        "siap_diambil",
        "selesai",
    ]
    first, second = case.task_ids["verify_application"]
    assert first != second  # a loop creates a new task (new id) for the same task spec
    assert case.workflow.is_completed()


def test_printing_problem_loops_back_to_verification(spec: Any) -> None:
    case = Case(spec)
    run_steps(
        case,
        [
            ("submit_application", {}),
            ("verify_application", {"decision": "complete"}),
            ("print_card", {"decision": "problem", "note": "Nama di akta dan KK berbeda"}),
            ("correct_application", {}),
            ("verify_application", {"decision": "complete"}),
            *HAPPY_TAIL,
        ],
    )
    assert case.steps == [
        "submit_application",
        "verify_application",
        "print_card",
        "correct_application",
        "verify_application",
        *HAPPY_STEPS,
    ]
    assert case.engine.calls == [
        ("send_receipt", {}),
        ("email_code", {}),
        ("notify_correction", {"note": "Nama di akta dan KK berbeda"}),
        ("apply_correction", {}),
        ("send_receipt", {}),
        ("email_code", {}),  # the second pass through verification sends them again
        ("notify_ready", {}),
    ]
    assert case.milestones == [
        "diajukan",
        "diverifikasi",
        "perlu_perbaikan",
        "diajukan",
        "diverifikasi",
        "dicetak",
        "siap_diambil",
        "selesai",
    ]
    assert case.workflow.is_completed()


def test_a_missing_card_goes_back_to_dafdud_and_arrives_when_sent_again(spec: Any) -> None:
    case = Case(spec)
    run_steps(case, PATHS_TO["resolve_missing_card"])
    assert "notify_ready" not in case.services and "siap_diambil" not in case.milestones  # the parent waits
    assert [t.task_spec.name for t in case.timers()] == ["timer_resolve_missing_card"]  # its own standard
    run_steps(
        case,
        [
            ("resolve_missing_card", {"decision": "resent"}),
            ("confirm_arrival", {"decision": "arrived"}),
        ],
    )
    assert [t.task_spec.name for t in case.ready()] == ["hand_over_card"]
    assert case.services == ["send_receipt", "email_code", "notify_ready"]  # told once, when it arrived
    assert case.timers() == []  # the hand-over waits for the parent without a deadline
    case.complete("hand_over_card")
    assert case.steps.count("confirm_arrival") == 2 and case.workflow.is_completed()
    assert case.milestones == ["diajukan", "diverifikasi", "dicetak", "siap_diambil", "selesai"]


def test_running_timer_waits_with_the_deadline_from_the_expression(spec: Any) -> None:
    case = Case(spec)
    (timer,) = case.timers()
    assert timer.task_spec.name == "timer_submit_application"
    assert timer.internal_data["event_value"] == case.engine.deadlines[-1]
    assert [event.value for event in case.workflow.waiting_events()] == [case.engine.deadlines[-1]]
    case.complete("submit_application")
    (timer,) = case.timers()
    assert timer.task_spec.name == "timer_verify_application"
    assert [t.task_spec.name for t in case.timers(TaskState.CANCELLED)] == ["timer_submit_application"]


# --- (c) an overdue deadline escalates without interrupting the task -----------------------------------

PATHS_TO = {  # user task -> the steps that lead to it
    "submit_application": [],
    "verify_application": [("submit_application", {})],
    "print_card": [("submit_application", {}), ("verify_application", {"decision": "complete"})],
    "group_cards": [
        ("submit_application", {}),
        ("verify_application", {"decision": "complete"}),
        ("print_card", {"decision": "issued"}),
    ],
    "confirm_arrival": [
        ("submit_application", {}),
        ("verify_application", {"decision": "complete"}),
        ("print_card", {"decision": "issued"}),
        ("group_cards", {}),
    ],
    "resolve_missing_card": [
        ("submit_application", {}),
        ("verify_application", {"decision": "complete"}),
        ("print_card", {"decision": "issued"}),
        ("group_cards", {}),
        ("confirm_arrival", {"decision": "missing", "note": "Tidak ada dalam amplop"}),
    ],
    "correct_application": [
        ("submit_application", {}),
        ("verify_application", {"decision": "incomplete", "note": "KK buram"}),
    ],
}


def _assert_escalated_once(case: Case, step: str) -> None:
    assert [c for c in case.engine.calls if c[0] == "escalate"] == [("escalate", {"step": step})]
    assert [t.task_spec.name for t in case.ready()] == [step]  # non-interrupting: the task stays open
    assert not case.workflow.is_completed()
    completed = {t.task_spec.name for t in case.workflow.get_tasks(state=TaskState.COMPLETED)}
    assert {f"timer_{step}", f"escalate_{step}", f"end_escalated_{step}"} <= completed
    case.workflow.refresh_timers()  # a timeDate timer fires once
    case.advance()
    assert case.services.count("escalate") == 1


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch):
    """Move the clock SpiffWorkflow's timers compare against (``datetime.now`` in the timer module, the
    engine clock's)."""
    shift = [timedelta(0)]

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return clock.now().astimezone(tz) + shift[0]

    monkeypatch.setattr(timer_module, "datetime", ShiftedDatetime)

    def move(by: timedelta) -> None:
        shift[0] = by

    return move


@pytest.mark.parametrize("step", TIMED)
def test_timer_that_comes_due_while_waiting_escalates(spec: Any, later: Any, step: str) -> None:
    case = Case(spec)  # deadline() = start + 1 hour
    run_steps(case, PATHS_TO[step])
    assert [t.task_spec.name for t in case.ready()] == [step]
    assert [t.task_spec.name for t in case.timers()] == [f"timer_{step}"]
    case.workflow.refresh_timers()
    case.advance()
    assert "escalate" not in case.services  # not due yet
    later(timedelta(hours=2))
    case.workflow.refresh_timers()
    case.advance()
    _assert_escalated_once(case, step)


@pytest.mark.parametrize("step", TIMED)
def test_deadline_already_past_when_the_task_starts_escalates_at_once(spec: Any, step: str) -> None:
    path = PATHS_TO[step]
    case = Case(spec, offset=timedelta(hours=-1) if not path else timedelta(hours=1))
    run_steps(case, path[:-1])
    case.engine.offset = timedelta(hours=-1)  # deadline() is evaluated once, when the timer starts
    run_steps(case, path[-1:])
    # no refresh_timers() needed: the timer checks its deadline as it starts, inside do_engine_steps
    _assert_escalated_once(case, step)


def test_escalated_case_still_completes(spec: Any) -> None:
    case = Case(spec, offset=timedelta(hours=-1))
    case.workflow.refresh_timers()
    case.advance()
    assert case.engine.calls == [("escalate", {"step": "submit_application"})]
    case.engine.offset = timedelta(hours=1)
    run_steps(case, [("submit_application", {}), ("verify_application", {"decision": "complete"}), *HAPPY_TAIL])
    assert case.services == ["escalate", "send_receipt", "email_code", "notify_ready"]
    assert case.milestones == ["diajukan", "diverifikasi", "dicetak", "siap_diambil", "selesai"]
    assert case.workflow.is_completed()
