"""Edits of the bundled diagram that a process owner would make, as new versions (tests and bench/)."""

from __future__ import annotations

import re
from pathlib import Path

BUNDLED = Path(__file__).resolve().parent.parent / "bpmn" / "kia_whatsapp.bpmn"


def _timed_escalation(step: str) -> str:
    """The boundary timer of user task ``step`` (at its ``deadline()``, not interrupting) and the
    escalation it leads to, as the bundled diagram draws them for every step."""
    return f"""
    <bpmn:boundaryEvent id="timer_{step}" name="Batas waktu terlampaui" cancelActivity="false"
        attachedToRef="{step}">
      <bpmn:outgoing>flow_timer_{step}</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_{step}">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">deadline()</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="escalate_{step}" name="Eskalasi keterlambatan">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="escalate" resultVariable="">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="step" type="str" value="'{step}'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_timer_{step}</bpmn:incoming>
      <bpmn:outgoing>flow_escalated_{step}</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end_escalated_{step}" name="Eskalasi dicatat">
      <bpmn:incoming>flow_escalated_{step}</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_timer_{step}" sourceRef="timer_{step}" targetRef="escalate_{step}"/>
    <bpmn:sequenceFlow id="flow_escalated_{step}" sourceRef="escalate_{step}"
        targetRef="end_escalated_{step}"/>
"""


def _lane_refs(step: str) -> str:
    """The lane's flowNodeRefs of user task ``step`` and its timed escalation."""
    return "".join(
        f"\n        <bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>"
        for node in (step, f"timer_{step}", f"escalate_{step}", f"end_escalated_{step}")
    )


_QUALITY_CHECK = """
    <bpmn:userTask id="check_card" name="Periksa mutu cetakan KIA">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form_key" value="{form_key}"/>
          <spiffworkflow:property name="time_standard" value="PT1H"/>
          <spiffworkflow:property name="time_basis" value="working"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_to_check</bpmn:incoming>
      <bpmn:outgoing>flow_to_group</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_to_check" sourceRef="ms_printed" targetRef="check_card"/>
""" + _timed_escalation("check_card")

_QUALITY_CHECK_LANE = _lane_refs("check_card")


def _sub(pattern: str, replacement: str, xml: str) -> str:
    xml, count = re.subn(pattern, replacement, xml, count=1, flags=re.S)
    assert count == 1, pattern
    return xml


def bundled() -> bytes:
    return BUNDLED.read_bytes()


def with_quality_check(xml: bytes | None = None, form_key: str = "printing") -> bytes:
    """A quality check by the print operator after printing ("check_card", in the operator lane, with its
    own time standard and escalation timer, and the form ``form_key``), before the cards are grouped."""
    text = (xml or bundled()).decode("utf-8")
    # the printed milestone now leads to the check, and the check to the grouping
    text = _sub(
        r'(<bpmn:intermediateThrowEvent id="ms_printed".*?)<bpmn:outgoing>flow_to_group</bpmn:outgoing>',
        r"\1<bpmn:outgoing>flow_to_check</bpmn:outgoing>",
        text,
    )
    text = _sub(
        r'<bpmn:sequenceFlow id="flow_to_group" sourceRef="ms_printed"',
        '<bpmn:sequenceFlow id="flow_to_group" sourceRef="check_card"',
        text,
    )
    check = _QUALITY_CHECK.replace("{form_key}", form_key).rstrip("\n").replace("\\", "\\\\")
    text = _sub(r"(\n\s*<bpmn:sequenceFlow id=\"flow_to_group\")", check + r"\1", text)
    text = _sub(
        r'(<bpmn:lane id="operator".*?<bpmn:flowNodeRef>ms_printed</bpmn:flowNodeRef>)',
        r"\1" + _QUALITY_CHECK_LANE,
        text,
    )
    return text.encode("utf-8")


def without_grouping(xml: bytes | None = None) -> bytes:
    """The Dafdud grouping step removed: printed cards go straight to the UPTD (its timer and escalation
    too)."""
    text = (xml or bundled()).decode("utf-8")
    text = _sub(r'\s*<bpmn:userTask id="group_cards".*?</bpmn:userTask>', "", text)
    for node in ("timer_group_cards",):
        text = _sub(rf'\s*<bpmn:boundaryEvent id="{node}".*?</bpmn:boundaryEvent>', "", text)
    text = _sub(r'\s*<bpmn:serviceTask id="escalate_group_cards".*?</bpmn:serviceTask>', "", text)
    text = _sub(r'\s*<bpmn:endEvent id="end_escalated_group_cards".*?</bpmn:endEvent>', "", text)
    for flow in ("flow_timer_group_cards", "flow_escalated_group_cards", "flow_grouped"):
        text = _sub(rf'\s*<bpmn:sequenceFlow id="{flow}"[^>]*?(/>|>.*?</bpmn:sequenceFlow>)', "", text)
    text = _sub(
        r'sourceRef="ms_printed" targetRef="group_cards"', 'sourceRef="ms_printed" targetRef="gw_send_to_uptd"', text
    )
    text = _sub(r"<bpmn:incoming>flow_grouped</bpmn:incoming>", "<bpmn:incoming>flow_to_group</bpmn:incoming>", text)
    for node in ("group_cards", "timer_group_cards", "escalate_group_cards", "end_escalated_group_cards"):
        text = _sub(rf"\s*<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>", "", text)
    # layout of the removed elements
    removed = "|".join(
        (
            "group_cards",
            "timer_group_cards",
            "escalate_group_cards",
            "end_escalated_group_cards",
            "flow_timer_group_cards",
            "flow_escalated_group_cards",
            "flow_grouped",
        )
    )
    text = re.sub(
        rf'\s*<bpmndi:BPMN(Shape|Edge) id="[^"]*" bpmnElement="({removed})".*?</bpmndi:BPMN(Shape|Edge)>',
        "",
        text,
        flags=re.S,
    )
    return text.encode("utf-8")


KASI_LANE = "kasi"
KASI_STEP = "approve_kasi"
KASI_TITLE = "Persetujuan Kasi Pelayanan"
# the Kasi's own form, as the modeler's form editor (form-js) saves it: a required choice and a short note
KASI_FORM_ID = "persetujuan_kasi"
KASI_FORM = {
    "id": KASI_FORM_ID,
    "type": "default",
    "schemaVersion": 16,
    "exporter": {"name": "form-js", "version": "1.15.0"},
    "components": [
        {"id": "Text_judul", "type": "text", "text": "# Persetujuan Kasi Pelayanan"},
        {
            "id": "Field_keputusan",
            "key": "keputusan",
            "label": "Keputusan Kasi",
            "type": "select",
            "validate": {"required": True},
            "values": [{"label": "Setuju", "value": "setuju"}, {"label": "Tolak", "value": "tolak"}],
        },
        {
            "id": "Field_catatan",
            "key": "catatan",
            "label": "Catatan",
            "type": "textarea",
            "validate": {"maxLength": 200},
        },
    ],
}

_KASI_APPROVAL = """
    <bpmn:userTask id="approve_kasi" name="Persetujuan Kasi Pelayanan">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form_key" value="{form_key}"/>
          <spiffworkflow:property name="time_standard" value="PT30M"/>
          <spiffworkflow:property name="time_basis" value="working"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_to_kasi</bpmn:incoming>
      <bpmn:outgoing>flow_kasi_approved</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateThrowEvent id="ms_kasi_approved" name="Disetujui Kasi Pelayanan">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="milestone" value="disetujui_kasi"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_kasi_approved</bpmn:incoming>
      <bpmn:outgoing>flow_to_group</bpmn:outgoing>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="flow_to_kasi" sourceRef="ms_printed" targetRef="approve_kasi"/>
    <bpmn:sequenceFlow id="flow_kasi_approved" sourceRef="approve_kasi" targetRef="ms_kasi_approved"/>
""" + _timed_escalation("approve_kasi")

_KASI_LANE = """
      <bpmn:lane id="kasi" name="Kasi Pelayanan">{refs}
      </bpmn:lane>"""


def with_kasi_approval(xml: bytes | None = None, form_key: str = "printing") -> bytes:
    """A new lane ``kasi`` ("Kasi Pelayanan", not scoped by kecamatan) whose head approves every printed
    card before it is grouped: the user task "Persetujuan Kasi Pelayanan" with ``form_key``, a 30-minute
    working-time standard and its own escalation timer, between printing and grouping; then the milestone
    "Disetujui Kasi Pelayanan" (``disetujui_kasi``), a status no code knows."""
    text = (xml or bundled()).decode("utf-8")
    text = _sub(
        r'(<bpmn:intermediateThrowEvent id="ms_printed".*?)<bpmn:outgoing>flow_to_group</bpmn:outgoing>',
        r"\1<bpmn:outgoing>flow_to_kasi</bpmn:outgoing>",
        text,
    )
    text = _sub(
        r'<bpmn:sequenceFlow id="flow_to_group" sourceRef="ms_printed"',
        '<bpmn:sequenceFlow id="flow_to_group" sourceRef="ms_kasi_approved"',
        text,
    )
    text = _sub(
        r"(\n\s*<bpmn:sequenceFlow id=\"flow_to_group\")",
        _KASI_APPROVAL.replace("{form_key}", form_key).rstrip("\n").replace("\\", "\\\\") + r"\1",
        text,
    )
    refs = _lane_refs("approve_kasi") + "\n        <bpmn:flowNodeRef>ms_kasi_approved</bpmn:flowNodeRef>"
    text = _sub(r"(\n\s*</bpmn:laneSet>)", _KASI_LANE.replace("{refs}", refs) + r"\1", text)
    return text.encode("utf-8")


_KASI_DECISION = """
    <bpmn:sequenceFlow id="flow_kasi_decided" sourceRef="approve_kasi" targetRef="gw_kasi"/>
    <bpmn:exclusiveGateway id="gw_kasi" name="Disetujui Kasi?">
      <bpmn:incoming>flow_kasi_decided</bpmn:incoming>
      <bpmn:outgoing>flow_kasi_approved</bpmn:outgoing>{rejected_out}
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="flow_kasi_approved" name="Setuju" sourceRef="gw_kasi" targetRef="ms_kasi_approved">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">keputusan == 'setuju'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>{rejected_flow}"""
_KASI_REJECTED = """
    <bpmn:sequenceFlow id="flow_kasi_rejected" name="Tolak" sourceRef="gw_kasi" targetRef="print_card">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">keputusan == 'tolak'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>"""


def with_kasi_decision(form_key: str = KASI_FORM_ID, rejected: bool = True) -> bytes:
    """The Kasi's approval (``with_kasi_approval``) followed by a gateway on its form's ``keputusan``:
    'setuju' on to the grouping, 'tolak' back to printing; without ``rejected`` no branch for 'tolak'."""
    text = with_kasi_approval(form_key=form_key).decode("utf-8")
    text = _sub(
        r"<bpmn:outgoing>flow_kasi_approved</bpmn:outgoing>(\s*</bpmn:userTask>)",
        r"<bpmn:outgoing>flow_kasi_decided</bpmn:outgoing>\1",
        text,
    )
    decision = _KASI_DECISION.replace(
        "{rejected_out}", "\n      <bpmn:outgoing>flow_kasi_rejected</bpmn:outgoing>" if rejected else ""
    ).replace("{rejected_flow}", _KASI_REJECTED if rejected else "")
    text = _sub(
        r'\s*<bpmn:sequenceFlow id="flow_kasi_approved" sourceRef="approve_kasi" targetRef="ms_kasi_approved"/>',
        decision.replace("\\", "\\\\"),
        text,
    )
    if rejected:
        text = _sub(
            r"(<bpmn:incoming>flow_to_print</bpmn:incoming>)",
            r"\1\n      <bpmn:incoming>flow_kasi_rejected</bpmn:incoming>",
            text,
        )
    text = _sub(
        r"(<bpmn:flowNodeRef>ms_kasi_approved</bpmn:flowNodeRef>)",
        r"\1\n        <bpmn:flowNodeRef>gw_kasi</bpmn:flowNodeRef>",
        text,
    )
    return text.encode("utf-8")
