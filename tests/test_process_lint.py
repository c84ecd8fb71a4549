"""Structural lint: each broken diagram is refused on validate and on deploy, and the deployed version
keeps serving (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from lxml import etree

import forms
import handlers  # noqa: F401  registers the service handlers the lint checks against
from engine.workflow.definitions import NS, build_definition
from engine.workflow.errors import DiagramRejected

from .helpers import ROOT, bundled_files, inbox, submit, token

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")
BPMN = NS["bpmn"]


def _edit(change: Callable[[etree._Element], None]) -> str:
    root = etree.fromstring(DIAGRAM.encode())
    change(root.find("bpmn:process", NS))
    return etree.tostring(root, encoding="unicode")


def _remove_flow(process: etree._Element, flow_id: str) -> None:
    flow = process.find(f"bpmn:sequenceFlow[@id='{flow_id}']", NS)
    process.remove(flow)
    for ref in [*process.iterfind(".//bpmn:incoming", NS), *process.iterfind(".//bpmn:outgoing", NS)]:
        if ref.text == flow_id:
            ref.getparent().remove(ref)


def without_flow(flow_id: str) -> str:
    return _edit(lambda p: _remove_flow(p, flow_id))


def retarget(flow_id: str, target: str) -> str:
    def change(process: etree._Element) -> None:
        process.find(f"bpmn:sequenceFlow[@id='{flow_id}']", NS).set("targetRef", target)

    return _edit(change)


def with_orphan_task() -> str:
    def change(process: etree._Element) -> None:
        task = etree.SubElement(process, f"{{{BPMN}}}userTask", id="archive_file", name="Arsipkan berkas")
        ext = etree.SubElement(task, f"{{{BPMN}}}extensionElements")
        props = etree.SubElement(ext, f"{{{NS['spiffworkflow']}}}properties")
        for name, value in (("form_key", "grouping"), ("time_standard", "PT1H"), ("time_basis", "working")):
            etree.SubElement(props, f"{{{NS['spiffworkflow']}}}property", name=name, value=value)
        etree.SubElement(task, f"{{{BPMN}}}outgoing").text = "flow_archived"
        etree.SubElement(
            process, f"{{{BPMN}}}sequenceFlow", id="flow_archived", sourceRef="archive_file", targetRef="end_completed"
        )
        process.find("bpmn:laneSet/bpmn:lane[@id='admin']", NS).append(
            etree.fromstring(f'<bpmn:flowNodeRef xmlns:bpmn="{BPMN}">archive_file</bpmn:flowNodeRef>')
        )

    return _edit(change)


BROKEN = {
    # (diagram, element that must be named, a word of its message)
    "removed incoming flow into verification": (
        without_flow("flow_to_verify"),
        "verify_application",
        "«Verifikasi dan validasi data dengan SIAK» (verify_application) tidak dapat dicapai",
    ),
    "gateway missing a decision value": (
        without_flow("flow_incomplete"),
        "gw_verification",
        "«Data lengkap?» (gw_verification) setelah «Verifikasi dan validasi data dengan SIAK» (verify_application) "
        "tidak punya cabang untuk decision 'incomplete'",
    ),
    "branch for a value the form does not allow": (
        DIAGRAM.replace('decision == "problem"', 'decision == "rusak"'),
        "flow_problem",
        "memeriksa decision 'rusak', nilai yang tidak ada di formulir 'printing'",
    ),
    "task with no outgoing flow": (
        without_flow("flow_grouped"),
        "group_cards",
        "«Kelompokkan KIA per kecamatan domisili» (group_cards) tidak punya alur keluar",
    ),
    "unreachable task": (with_orphan_task(), "archive_file", "«Arsipkan berkas» (archive_file) tidak dapat dicapai"),
    "service-task loop": (
        retarget("flow_code_sent", "svc_send_receipt"),
        "svc_send_receipt",
        "putaran tanpa tugas pengguna atau timer",
    ),
    "timer on a task without a time standard": (
        DIAGRAM.replace('attachedToRef="print_card"', 'attachedToRef="svc_send_receipt"'),
        "timer_print_card",
        "harus menempel pada tugas pengguna",
    ),
}


def problems_of(xml: str) -> dict[str, list[str]]:
    try:
        build_definition(xml.encode(), forms.form_choices(), files=bundled_files())
    except DiagramRejected as exc:
        found: dict[str, list[str]] = {}
        for p in exc.problems:
            found.setdefault(p.element_id, []).append(p.message)
        return found
    return {}


def test_bundled_diagram_passes_the_structural_rules() -> None:
    assert problems_of(DIAGRAM) == {}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_structural_problem_names_the_element_by_name_and_id(case: str) -> None:
    xml, element, message = BROKEN[case]
    assert xml != DIAGRAM
    found = problems_of(xml)
    assert element in found, found
    assert any(message in m for m in found[element]), found[element]


def test_a_default_flow_covers_the_missing_decision_values() -> None:
    xml = without_flow("flow_incomplete").replace(
        '<bpmn:exclusiveGateway id="gw_verification" name="Data lengkap?">',
        '<bpmn:exclusiveGateway id="gw_verification" name="Data lengkap?" default="flow_complete">',
    )
    assert "gw_verification" not in problems_of(xml)


def test_membership_and_negated_conditions_are_understood() -> None:
    both = DIAGRAM.replace('decision == "complete"', 'decision in ("complete",)').replace(
        'decision == "incomplete"', 'decision != "complete"'
    )
    assert problems_of(both) == {}
    stray = DIAGRAM.replace('decision == "complete"', 'decision in ["complete", "lengkap"]')
    assert any("'lengkap'" in m for m in problems_of(stray)["flow_complete"])


def test_a_loop_through_a_user_task_is_allowed() -> None:
    # the correction loop (verification -> correction -> verification) waits for people each time
    assert "gw_resubmit" not in problems_of(DIAGRAM)


def test_stored_versions_load_without_the_structural_rules() -> None:
    # a version deployed before a rule existed keeps running: only deploy and validate check it
    build_definition(without_flow("flow_grouped").encode(), form_keys=None, files=bundled_files())


# Through HTTP: refused on validate and on deploy, the deployed version keeps serving.


def _post(client: FlaskClient, path: str, headers: dict, xml: str):  # noqa: ANN202
    return client.post(path, data=xml.encode(), headers={**headers, "Content-Type": "application/xml"})


def test_each_structural_problem_is_refused_on_validate_and_deploy_and_version_1_keeps_serving(
    client: FlaskClient,
) -> None:
    owner, admin = token(client, "owner1"), token(client, "admin1")
    for case, (xml, element, message) in BROKEN.items():
        checked = _post(client, "/api/v1/processes/validate", owner, xml)
        assert checked.status_code == 200, case
        body = checked.get_json()
        assert body["valid"] is False, case
        assert any(p["element_id"] == element and message in p["message"] for p in body["problems"]), (case, body)

        deployed = _post(client, "/api/v1/processes", owner, xml)
        assert deployed.status_code == 422, (case, deployed.get_json())
        assert element in deployed.get_json()["error"]["fields"], (case, deployed.get_json())

        versions = client.get("/api/v1/processes", headers=owner).get_json()["items"]
        assert [v["version"] for v in versions] == [1], case
        created = submit(client)
        assert created.status_code == 201, case
        code = created.get_json()["code"]
        waiting = [t for t in inbox(client, admin) if t["application_code"] == code]
        assert [t["step"] for t in waiting] == ["verify_application"], case
