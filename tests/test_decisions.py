"""Decision tables (DMN): the checks a table must pass before it is deployed, its evaluation through
SpiffWorkflow's DMN engine with the restricted evaluator, and "coba tabel ini" (POST
/api/v1/decisions/evaluate)."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from engine.kia import rules
from engine.workflow import decisions
from engine.workflow.errors import DiagramRejected

from .helpers import ROOT, token

BUNDLED = (ROOT / "bpmn" / "kia_rules.dmn").read_bytes()
UNDER_5_CELL = b"0 &lt;= ? &lt; 5"
OVER_5_CELL = b"5 &lt;= ? &lt; 17"


def problems_of(raw: bytes) -> list[str]:
    with pytest.raises(DiagramRejected) as refused:
        decisions.read("uji.dmn", raw)
    return [p.message for p in refused.value.problems]


def test_the_bundled_table_states_the_regulation() -> None:
    table = decisions.read("kia_rules.dmn", BUNDLED)
    assert (table.decision_id, table.hit_policy, table.warnings) == ("kia_rules", "UNIQUE", [])
    assert [c.expression for c in table.inputs] == ["child_age"]
    assert [c.expression for c in table.outputs] == ["kia_kind", "photo_required"]
    expected = {0: ("under_5", False), 4: ("under_5", False), 5: ("5_to_17", True), 16: ("5_to_17", True)}
    for age, (kind, photo) in expected.items():
        evaluation = decisions.evaluate(table, {"child_age": age})
        assert evaluation.result == {"kia_kind": kind, "photo_required": photo}
        assert evaluation.matched_rules == [1 if age < 5 else 2]
    assert decisions.evaluate(table, {"child_age": 17}) == decisions.Evaluation({}, [])


def test_a_comparison_a_value_and_an_output_expression_are_cells() -> None:
    raw = BUNDLED.replace(UNDER_5_CELL, b"&lt; 5").replace(b"<text>False</text>", b"<text>child_age &gt;= 4</text>")
    table = decisions.read("uji.dmn", raw)
    assert decisions.evaluate(table, {"child_age": 3}).result == {"kia_kind": "under_5", "photo_required": False}
    assert decisions.evaluate(table, {"child_age": 4}).result == {"kia_kind": "under_5", "photo_required": True}
    exact = decisions.read("uji.dmn", BUNDLED.replace(UNDER_5_CELL, b"4"))
    assert decisions.evaluate(exact, {"child_age": 4}).matched_rules == [1]
    assert decisions.evaluate(exact, {"child_age": 3}).matched_rules == []


def test_collect_returns_every_match() -> None:
    raw = BUNDLED.replace(b'hitPolicy="UNIQUE"', b'hitPolicy="COLLECT"').replace(OVER_5_CELL, b"&gt;= 0")
    table = decisions.read("uji.dmn", raw)
    assert table.warnings == []  # overlapping is what COLLECT is for
    result = decisions.evaluate(table, {"child_age": 3}).result
    assert result == {"kia_kind": ["under_5", "5_to_17"], "photo_required": [False, True]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b'hitPolicy="UNIQUE"', b'hitPolicy="FIRST"'), "hit policy FIRST tidak didukung"),
        ((b'hitPolicy="UNIQUE"', b'hitPolicy="PRIORITY"'), "hit policy PRIORITY tidak didukung"),
        ((b'hitPolicy="UNIQUE"', b'hitPolicy="COLLECT" aggregation="SUM"'), "COLLECT dengan agregasi (SUM)"),
        ((UNDER_5_CELL, b'__import__("os").system("id")'), "aturan 1: sel masukan tidak diizinkan"),
        ((UNDER_5_CELL, b"().__class__"), "aturan 1: sel masukan tidak diizinkan"),
        ((b"<text>child_age</text>", b"<text>open('/etc/passwd')</text>"), "ekspresi masukan 'Usia anak (tahun)'"),
        ((b'<text>"5_to_17"</text>', b"<text>[1] * 10**9</text>"), "aturan 2: keluaran"),
        ((b'<text>"5_to_17"</text>', b"<text>lambda: 1</text>"), "aturan 2: keluaran"),
        ((b'name="photo_required"', b'name=""'), "keluaran 'Pas foto wajib' harus punya nama data"),
        (
            (b"</decision>", b'</decision><decision id="kedua"><decisionTable id="t2"/></decision>'),
            "tepat satu keputusan",
        ),
        ((b"<definitions", b'<!DOCTYPE x [<!ENTITY e "x">]><definitions'), "DTD dan entitas XML tidak diizinkan"),
        ((b"https://www.omg.org/spec/DMN/20191111/MODEL/", b"urn:bukan-dmn"), "bukan dokumen DMN"),
    ],
)
def test_a_table_outside_the_rules_is_refused(change: tuple[bytes, bytes], message: str) -> None:
    raw = BUNDLED.replace(*change)
    assert raw != BUNDLED
    assert any(message in found for found in problems_of(raw)), problems_of(raw)


def test_overlapping_unique_rules_are_a_warning_with_an_example() -> None:
    table = decisions.read("uji.dmn", BUNDLED.replace(OVER_5_CELL, b"4 &lt;= ? &lt; 17"))
    (warning,) = table.warnings
    assert warning.message.startswith("aturan 1 dan 2 tumpang tindih (mis. Usia anak (tahun) = 4)")
    assert "hanya aturan pertama yang dipakai" in warning.message
    # what SpiffWorkflow does with it: the first match
    assert decisions.evaluate(table, {"child_age": 4}).matched_rules == [1]
    # touching ranges are not an overlap, nor strings that differ
    assert decisions.read("uji.dmn", BUNDLED.replace(OVER_5_CELL, b"&gt;= 5")).warnings == []


def test_a_failing_cell_is_a_decision_failure_not_an_error() -> None:
    table = decisions.read("uji.dmn", BUNDLED)
    with pytest.raises(decisions.DecisionFailed) as failed:
        decisions.evaluate(table, {"child_age": "empat"})
    assert "gagal dievaluasi" in failed.value.message
    with pytest.raises(decisions.DecisionFailed):
        decisions.evaluate(table, {})  # no child_age: the input expression names nothing


def test_a_huge_table_is_refused_and_a_big_one_evaluates_quickly() -> None:
    rule = BUNDLED.split(b"<rule ", 1)[1].split(b"</rule>", 1)[0]
    many = b"".join(
        b"<rule " + rule.replace(b'id="rule_under_5', f'id="r{n}'.encode()) + b"</rule>" for n in range(501)
    )
    head, tail = BUNDLED.split(b"<rule ", 1)[0], BUNDLED.rsplit(b"</rule>", 1)[1]
    assert any("paling banyak 500 aturan" in p for p in problems_of(head + many + tail))
    ranges = b"".join(
        b"<rule "
        + rule.replace(UNDER_5_CELL, f"{n} &lt;= ? &lt; {n + 1}".encode()).replace(
            b'id="rule_under_5', f'id="r{n}'.encode()
        )
        + b"</rule>"
        for n in range(400)
    )
    started = time.perf_counter()
    table = decisions.read("uji.dmn", head + ranges + tail)
    assert table.warnings == []
    assert decisions.evaluate(table, {"child_age": 399}).matched_rules == [400]
    assert time.perf_counter() - started < 30  # generous: a regression guard on a shared machine, not a benchmark


def test_a_version_without_the_table_uses_the_bundled_one() -> None:
    assert rules.decide(None, 4) == rules.KiaRule("under_5", False)
    assert rules.decide(None, 5) == rules.KiaRule("5_to_17", True)


def trial(client: FlaskClient, headers: dict, dmn: bytes, inputs: dict | None):  # noqa: ANN201
    return client.post("/api/v1/decisions/evaluate", json={"dmn": dmn.decode(), "inputs": inputs}, headers=headers)


def test_try_this_table(client: FlaskClient) -> None:
    owner = token(client, "owner1")
    described = trial(client, owner, BUNDLED, None)
    assert described.status_code == 200, described.get_json()
    body = described.get_json()
    assert body["result"] is None and body["warnings"] == []
    assert body["inputs"] == [{"label": "Usia anak (tahun)", "expression": "child_age", "type_ref": "integer"}]
    tried = trial(client, owner, BUNDLED, {"child_age": "4"}).get_json()  # typed text, read as the typeRef says
    assert tried["result"] == {"kia_kind": "under_5", "photo_required": False} and tried["matched_rules"] == [1]

    overlapping = trial(client, owner, BUNDLED.replace(OVER_5_CELL, b"&gt;= 4"), {"child_age": 4}).get_json()
    assert overlapping["matched_rules"] == [1] and "tumpang tindih" in overlapping["warnings"][0]["message"]

    refused = trial(client, owner, BUNDLED.replace(b'hitPolicy="UNIQUE"', b'hitPolicy="FIRST"'), {"child_age": 4})
    assert refused.status_code == 422
    assert "hit policy FIRST tidak didukung" in str(refused.get_json()["error"]["fields"])
    not_a_number = trial(client, owner, BUNDLED, {"child_age": "empat"})
    assert not_a_number.status_code == 422
    assert "harus berupa angka" in not_a_number.get_json()["error"]["message"]
    assert trial(client, owner, b"<x", {}).status_code == 422

    assert trial(client, token(client, "admin1"), BUNDLED, None).status_code == 403  # process owners only
    assert client.post("/api/v1/decisions/evaluate", json={"dmn": "x"}).status_code == 401
