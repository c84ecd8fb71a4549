"""Decision tables on their own: check a DMN file and try it with inputs ("coba tabel ini" in the
modeler), through the same parser and restricted evaluator a business-rule task uses."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView

from engine.kia.access import require_role
from engine.workflow import decisions

from .auth import current_principal
from .http import Blueprint, load_json
from .schemas import DecisionTrial, DecisionTrialResult

blp = Blueprint("decisions", __name__, url_prefix="/api/v1/decisions", description="Decision tables (DMN)")


@blp.route("/evaluate")
class DecisionEvaluation(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": DecisionTrial}}})
    @blp.response(200, DecisionTrialResult)
    @blp.errors(400, 401, 403, 415, 422)
    def post(self) -> dict:
        """Check a decision table and, given ``inputs``, evaluate it (process owners): its columns, the
        warnings (overlapping rules), the output and the rules that matched. A table the deployment would
        refuse gets 422 with its problems, a failing evaluation 422 with the reason."""
        require_role(current_principal(), "owner")
        trial = load_json(DecisionTrial)
        table = decisions.read("coba.dmn", trial["dmn"].encode("utf-8"))
        out: dict = {
            "decision_id": table.decision_id,
            "name": table.name,
            "hit_policy": table.hit_policy,
            "inputs": [asdict(c) for c in table.inputs],
            "outputs": [asdict(c) for c in table.outputs],
            "warnings": [w.as_dict() for w in table.warnings],
            "result": None,
            "matched_rules": [],
        }
        if trial["inputs"] is not None:
            evaluation = decisions.evaluate(table, decisions.coerce_inputs(table, trial["inputs"]))
            out.update(result=evaluation.result, matched_rules=evaluation.matched_rules)
        return out
