"""The dry run: every path of a new version run in memory before deploy (SQLite and PostgreSQL for HTTP)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from lxml import etree

import forms
import handlers  # noqa: F401  registers the service handlers
from api import diagrams
from engine.workflow.definitions import NS, build_definition
from engine.workflow.dryrun import Outcome, dry_run

from .helpers import ROOT, bundled_files, inbox, submit, token

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")
BUNDLED_LANES = frozenset({"applicant", "admin", "operator", "dafdud", "uptd"})  # the roles its lanes map to
USER_TASKS = [
    "submit_application",
    "verify_application",
    "print_card",
    "group_cards",
    "confirm_arrival",
    "resolve_missing_card",
    "hand_over_card",
    "correct_application",
]
TIMED = [s for s in USER_TASKS if s != "hand_over_card"]  # the hand-over waits for the parent: no deadline


def definition_of(xml: str):  # noqa: ANN201
    return build_definition(xml.encode(), forms.form_choices(), files=bundled_files())


def with_parallel_merge() -> str:
    """The resubmission merge made a parallel gateway: it waits for a correction that never comes."""
    root = etree.fromstring(DIAGRAM.encode())
    gateway = root.find(".//bpmn:exclusiveGateway[@id='gw_resubmit']", NS)
    gateway.tag = f"{{{NS['bpmn']}}}parallelGateway"
    return etree.tostring(root, encoding="unicode")


# A condition that needs data no form fills: passes the lint (it cannot know), fails when it runs.
FAILING_CONDITION = DIAGRAM.replace('decision == "issued"', 'decision == "issued" and card_checked')


def test_bundled_diagram_every_path_finishes() -> None:
    run = dry_run(definition_of(DIAGRAM), forms.form_samples(), BUNDLED_LANES, diagrams.START_DATA)
    assert run.problems == []
    assert all(p.outcome is Outcome.FINISHED for p in run.paths)
    # one run per decision value, not per combination: every value of every step at its first, second and
    # third visit is taken once (the correction loop: "incomplete" (I) or "complete" then "problem" (P)
    # back to verification; the missing card: "missing" (M) back to the UPTD after Dafdud's "resent" (r)
    # or "reprinted" (p)), each loop at most twice; the rest of a path takes the first values
    codes = {"incomplete": "I", "problem": "P", "missing": "M", "resent": "r", "reprinted": "p"}
    loops = sorted("".join(codes.get(v, "") for _, v in p.decisions) for p in run.paths)
    assert loops == ["", "I", "Mp", "Mr", "MrMp", "MrMr", "P", "PI", "PP"]
    assert run.loops_cut > 0
    walked = {e for p in run.paths for e in p.elements}
    assert set(USER_TASKS) <= walked
    assert {f"escalate_{s}" for s in TIMED} <= walked  # every timer fired, its escalation run
    assert {"end_completed", "send_correction_note", "svc_apply_correction"} <= walked
    first = next(p for p in run.paths if not p.decisions or p.decisions[0][1] == "complete")
    assert first.elements[0] == "start_application"


def test_a_lane_without_a_role_fails_the_paths_that_reach_it() -> None:
    run = dry_run(definition_of(DIAGRAM), forms.form_samples(), BUNDLED_LANES - {"dafdud"}, diagrams.START_DATA)
    failed = [p for p in run.paths if not p.ok]
    assert failed and all(p.outcome is Outcome.NO_ROLE for p in failed)
    assert {p.problem.element_id for p in failed} == {"group_cards"}
    assert all(p.elements[-1] == "group_cards" for p in failed)
    assert "lane 'dafdud'" in run.problems[0].message


def test_a_stalling_path_is_a_problem() -> None:
    run = dry_run(definition_of(with_parallel_merge()), forms.form_samples(), BUNDLED_LANES, diagrams.START_DATA)
    assert [p.outcome for p in run.paths] == [Outcome.STALLED]
    assert "macet" in run.problems[0].message and "gw_resubmit" in run.problems[0].message
    assert run.problems[0].element_id == "gw_resubmit" == run.paths[0].elements[-1]
    assert run.paths[0].elements[0] == "start_application" and "submit_application" in run.paths[0].elements


def test_a_failing_condition_is_a_problem_on_its_path() -> None:
    run = dry_run(definition_of(FAILING_CONDITION), forms.form_samples(), BUNDLED_LANES, diagrams.START_DATA)
    failed = [p for p in run.paths if not p.ok]
    assert failed and all(p.outcome is Outcome.ERROR for p in failed)
    assert all(("print_card", "issued") in p.decisions for p in failed)
    assert {p.problem.element_id for p in failed} == {"gw_printing"}
    assert all("gw_printing" in p.elements for p in failed)
    assert "card_checked" in run.problems[0].message and "«Data bermasalah?»" in run.problems[0].message


def test_decisions_in_a_row_add_runs_rather_than_multiply_them() -> None:
    """A step with two decision values and no gateway after it (the Kasi's approval with the printing
    form) between two loops: one more run, not twice as many; every value of every step still taken."""
    from .diagrams import with_kasi_approval

    run = dry_run(
        definition_of(with_kasi_approval().decode()),
        forms.form_samples(),
        BUNDLED_LANES | {"kasi"},
        diagrams.START_DATA,
    )
    assert run.problems == [] and all(p.ok for p in run.paths)
    assert len(run.paths) == 10  # the bundled diagram's 9, and the approval's second value once
    taken = {d for p in run.paths for d in p.decisions}
    assert {("approve_kasi", "issued"), ("approve_kasi", "problem")} <= taken
    assert {("confirm_arrival", "missing"), ("resolve_missing_card", "reprinted")} <= taken


def test_the_number_of_paths_is_capped() -> None:
    run = dry_run(definition_of(DIAGRAM), forms.form_samples(), BUNDLED_LANES, diagrams.START_DATA, max_paths=3)
    assert len(run.paths) == 3
    assert any("lebih dari 3 jalur" in p.message for p in run.problems)


def test_every_sample_is_accepted_by_its_form() -> None:
    for key, samples in forms.form_samples().items():
        assert samples, key
        for sample in samples:
            assert forms.load_form(key, sample) == sample
    assert {s["decision"] for s in forms.sample_data("verification")} == {"complete", "incomplete"}


# Through HTTP.


def _post(client: FlaskClient, path: str, headers: dict, xml: str):  # noqa: ANN202
    return client.post(path, data=xml.encode(), headers={**headers, "Content-Type": "application/xml"})


def test_validate_reports_the_paths_of_the_bundled_diagram(client: FlaskClient) -> None:
    body = _post(client, "/api/v1/processes/validate", token(client, "owner1"), DIAGRAM).get_json()
    assert body["valid"] is True and body["problems"] == [] and body["dry_run"] is True
    assert len(body["paths"]) == 9 and all(p["ok"] and p["outcome"] == "finished" for p in body["paths"])
    assert {"step": "verify_application", "value": "incomplete"} in body["paths"][-1]["decisions"] + [
        d for p in body["paths"] for d in p["decisions"]
    ]
    assert all(p["problem"] is None and p["elements"][0] == "start_application" for p in body["paths"])


@pytest.mark.parametrize(
    ("xml", "outcome", "element"),
    [(with_parallel_merge(), "stalled", None), (FAILING_CONDITION, "error", None)],
    ids=["stalls", "fails"],
)
def test_a_failing_dry_run_refuses_validate_and_deploy_and_version_1_keeps_serving(
    client: FlaskClient, xml: str, outcome: str, element: str | None
) -> None:
    owner, admin = token(client, "owner1"), token(client, "admin1")
    body = _post(client, "/api/v1/processes/validate", owner, xml).get_json()
    assert body["valid"] is False and body["dry_run"] is True
    failing = [p for p in body["paths"] if not p["ok"]]
    assert failing and {p["outcome"] for p in failing} == {outcome}
    assert all(p["problem"]["element_id"] in p["elements"] for p in failing)

    deployed = _post(client, "/api/v1/processes", owner, xml)
    assert deployed.status_code == 422, deployed.get_json()
    assert set(deployed.get_json()["error"]["fields"]) == {p["element_id"] or "diagram" for p in body["problems"]}

    assert [v["version"] for v in client.get("/api/v1/processes", headers=owner).get_json()["items"]] == [1]
    code = submit(client).get_json()["code"]
    assert [t["step"] for t in inbox(client, admin) if t["application_code"] == code] == ["verify_application"]
