"""Lint and the expression sandbox, without HTTP or a database."""

from __future__ import annotations

import pytest

import forms
import handlers  # noqa: F401  registers the service handlers the lint checks against
from engine.workflow import expressions
from engine.workflow.definitions import build_definition
from engine.workflow.errors import DiagramRejected

from .helpers import ROOT, bundled_files

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")


def problems_of(xml: str) -> dict[str, list[str]]:
    try:
        build_definition(xml.encode(), forms.FORMS.keys(), files=bundled_files())
    except DiagramRejected as exc:
        found: dict[str, list[str]] = {}
        for p in exc.problems:
            found.setdefault(p.element_id, []).append(p.message)
        return found
    return {}


def test_bundled_diagram_lints_clean_and_describes_the_sop() -> None:
    definition = build_definition(DIAGRAM.encode(), forms.FORMS.keys(), files=bundled_files())
    assert {s: (t.lane, t.form_key, t.time_standard) for s, t in definition.user_tasks.items()} == {
        "submit_application": ("applicant", "submission", "PT5M"),
        "verify_application": ("admin", "verification", "PT1H"),
        "print_card": ("operator", "printing", "PT1H"),
        "group_cards": ("dafdud", "grouping", "PT1H"),
        "confirm_arrival": ("uptd", "arrival", "P1D"),
        "resolve_missing_card": ("dafdud", "missing_card", "P2D"),
        "hand_over_card": ("uptd", "handover", "P1D"),
        "correct_application": ("applicant", "correction", "P1D"),
    }
    assert sorted(k for k, _ in definition.milestones.values()) == sorted(
        ["diajukan", "diverifikasi", "perlu_perbaikan", "dicetak", "siap_diambil", "selesai"]
    )


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (('<bpmn:serviceTask id="svc_send_receipt"', '<bpmn:serviceTask id="send_receipt"'), "send_receipt"),
        (('value="PT1H"', 'value="satu jam"'), "verify_application"),
        (('id="escalate" resultVariable=""', 'id="hapus_semua" resultVariable=""'), "escalate_submit_application"),
        (('<bpmn:startEvent id="start_application"', '<bpmn:startEvent id="Start"'), "Start"),
        ((">deadline()<", ">open('/etc/passwd')<"), "timer_submit_application"),
    ],
)
def test_lint_names_the_offending_element(change: tuple[str, str], element: str) -> None:
    xml = DIAGRAM.replace(*change, 1)
    assert xml != DIAGRAM
    assert element in problems_of(xml)


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><bpmn:process",
        "<not-bpmn/>",
    ],
)
def test_malformed_or_hostile_xml_is_refused(xml: str) -> None:
    with pytest.raises(DiagramRejected):
        build_definition(xml.encode(), forms.FORMS.keys(), files=bundled_files())


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "().__class__.__bases__",
        "decision.__class__",
        "open('x')",
        "eval('1')",
        "lambda: 1",
        "[x for x in y]",
        "{x: 1 for x in y}",
        "(x for x in y)",
        "x.lower()",
        "2 ** 100000",
        "f'{x}'",
        "_secret",
        "getattr(x, 'y')",
        "exec('1')",
        "globals()",
    ],
)
def test_sandbox_refuses(source: str) -> None:
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate(source, {"x": "a", "y": [1], "decision": "complete"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('decision == "complete"', True),
        ('decision in ("complete", "issued") and not note', True),
        ("len(items) > 1 if items else False", True),
        ("child.kecamatan", "14.71.08"),
        ('child["kecamatan"][-2:]', "08"),
        ("max(1, 2) + abs(-3)", 5),
    ],
)
def test_sandbox_evaluates_plain_expressions(source: str, expected: object) -> None:
    data = {"decision": "complete", "note": "", "items": [1, 2], "child": {"kecamatan": "14.71.08"}}
    assert expressions.evaluate(source, data) == expected


def test_sandbox_refuses_huge_repetition() -> None:
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate("'x' * 100000000", {})
