"""Decision tables (DMN) deployed with a diagram: checked, parsed by SpiffWorkflow's DMN parser and
evaluated by its DMN engine with the restricted expression evaluator, never Python's ``eval``.

A business-rule task names its table with ``spiffworkflow:calledDecisionId``; the same table can be
evaluated on its own (``evaluate``), for the modeler's "coba tabel ini" panel and for the KIA rules that
the service needs before an application exists.

The rules a table must pass (``check``), in the spirit of ``lint``:

- one decision with one decision table per file (SpiffWorkflow reads only the first);
- hit policy UNIQUE or COLLECT without aggregation: the only ones SpiffWorkflow evaluates as written (a
  COLLECT with SUM still returns the list, FIRST or PRIORITY would silently act as UNIQUE);
- every input expression, input cell and output cell within the expression sandbox (cells are Python
  expressions: ``5 <= ? < 17``, ``< 5``, ``"under_5"``), so evaluating a table is bounded like any
  expression; the table itself is bounded (``MAX_RULES`` rules, ``MAX_COLUMNS`` columns);
- a warning, not a refusal, when two rules of a UNIQUE table match the same input (SpiffWorkflow would
  silently take the first): found by probing each column with the values its cells name and their
  neighbours, through the same evaluator, so the warning gives an example.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.workflow import expressions
from engine.workflow.errors import DiagramRejected, EngineError, Problem
from engine.workflow.script_engine import RestrictedScriptEngine

MAX_DECISION_BYTES = 1024 * 1024
MAX_RULES = 500
MAX_COLUMNS = 30
HIT_POLICIES = frozenset({"UNIQUE", "COLLECT"})
DMN_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
    }
)
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # a ? outside quotes, as spiff reads it
PROBE_NAME = "nilai_masukan"  # stands for a column's input while its cells are probed


class DecisionFailed(EngineError):
    """A decision table could not be evaluated with the given inputs (a cell failed, nothing matched)."""

    code = "decision_failed"


@dataclass(frozen=True)
class Column:
    label: str
    expression: str
    type_ref: str


@dataclass
class DecisionTable:
    """One checked, parsed decision table: what the modeler shows and what ``evaluate`` runs."""

    file_name: str
    decision_id: str
    name: str
    hit_policy: str
    inputs: list[Column]
    outputs: list[Column]  # expression = the output's name (the task data key it sets)
    engine: DMNEngine
    root: etree._Element  # the checked document, for the diagram's parser (``parser.add_dmn_xml``)
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    result: dict[str, Any]  # output name -> value (COLLECT: -> list of values)
    matched_rules: list[int]  # 1-based row numbers


def _safe_root(file_name: str, raw: bytes) -> etree._Element:
    if len(raw) > MAX_DECISION_BYTES:
        raise DiagramRejected([Problem(file_name, f"tabel keputusan lebih dari {MAX_DECISION_BYTES // 1024} KB")])
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise DiagramRejected([Problem(file_name, "DTD dan entitas XML tidak diizinkan")])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise DiagramRejected([Problem(file_name, f"XML tidak sah: {exc}")]) from None
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        supported = "DMN 1.1, 1.2 atau 1.3"
        raise DiagramRejected(
            [Problem(file_name, f"bukan dokumen DMN yang didukung ({supported}, elemen akar definitions)")]
        )
    return root


def read(file_name: str, raw: bytes) -> DecisionTable:
    """Check and parse one DMN file; raise ``DiagramRejected`` with every problem found."""
    root = _safe_root(file_name, raw)
    ns = {"dmn": etree.QName(root).namespace}
    problems: list[Problem] = []
    decisions = root.findall("dmn:decision", ns)
    if len(decisions) != 1:
        raise DiagramRejected(
            [Problem(file_name, f"satu berkas DMN harus memuat tepat satu keputusan (ada {len(decisions)})")]
        )
    decision = decisions[0]
    decision_id = decision.get("id", "")
    tables = decision.findall("dmn:decisionTable", ns)
    if len(tables) != 1:
        raise DiagramRejected([Problem(decision_id, "keputusan harus berupa tepat satu tabel keputusan")])
    table = tables[0]
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in HIT_POLICIES:
        problems.append(Problem(decision_id, f"hit policy {policy} tidak didukung; gunakan UNIQUE atau COLLECT"))
    if table.get("aggregation"):
        problems.append(
            Problem(
                decision_id, f"COLLECT dengan agregasi ({table.get('aggregation')}) tidak didukung; hapus agregasinya"
            )
        )
    problems += _check_expressions(decision_id, table, ns)
    if problems:
        raise DiagramRejected(problems)
    spiff_parser = BpmnDmnParser(validator=VALIDATOR)
    try:
        spiff_parser.add_dmn_xml(root, filename=file_name)
        dmn_parser = spiff_parser.dmn_parsers[decision_id]
        dmn_parser.parse()
    except ValidationException as exc:
        raise DiagramRejected([Problem(decision_id or file_name, str(exc).splitlines()[0])]) from None
    except Exception as exc:  # the parser raises many kinds; all mean "not deployable"
        raise DiagramRejected(
            [Problem(decision_id or file_name, f"tabel keputusan tidak dapat diurai: {exc}")]
        ) from None
    spiff_table = dmn_parser.decision.decisionTables[0]
    result = DecisionTable(
        file_name=file_name,
        decision_id=decision_id,
        name=decision.get("name") or decision_id,
        hit_policy=policy,
        inputs=[
            Column(i.label or i.expression or i.id, i.expression or "", i.typeRef or "") for i in spiff_table.inputs
        ],
        outputs=[Column(o.label or o.name, o.name or o.label, o.typeRef or "") for o in spiff_table.outputs],
        engine=DMNEngine(spiff_table),
        root=root,
    )
    if policy == "UNIQUE":
        result.warnings = list(_overlaps(result))
    return result


def read_all(files: Mapping[str, bytes]) -> tuple[dict[str, DecisionTable], list[Problem]]:
    """The decision tables of a deployment (file name -> DMN XML) by decision id, and every problem of
    every file (a decision id used twice included)."""
    tables: dict[str, DecisionTable] = {}
    problems: list[Problem] = []
    for file_name, raw in files.items():
        try:
            table = read(file_name, raw)
        except DiagramRejected as exc:
            problems += [Problem(p.element_id, f"{file_name}: {p.message}") for p in exc.problems]
            continue
        if table.decision_id in tables:
            problems.append(Problem(table.decision_id, f"{file_name}: id keputusan sudah dipakai berkas lain"))
        tables[table.decision_id] = table
    return tables, problems


def _check_expressions(decision_id: str, table: etree._Element, ns: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    inputs = table.findall("dmn:input", ns)
    outputs = table.findall("dmn:output", ns)
    rules = table.findall("dmn:rule", ns)
    if not inputs or not outputs:
        problems.append(
            Problem(decision_id, "tabel keputusan harus punya paling sedikit satu masukan dan satu keluaran")
        )
    if len(inputs) + len(outputs) > MAX_COLUMNS:
        problems.append(Problem(decision_id, f"tabel keputusan paling banyak {MAX_COLUMNS} kolom"))
    if len(rules) > MAX_RULES:
        problems.append(Problem(decision_id, f"tabel keputusan paling banyak {MAX_RULES} aturan"))
    for column in inputs:
        text = (column.findtext("dmn:inputExpression/dmn:text", default="", namespaces=ns) or "").strip()
        label = column.get("label") or column.get("id", "")
        problem = _sandbox_problem(text, decision_id, f"ekspresi masukan '{label}'")
        if problem is not None:
            problems.append(problem)
    names = [o.get("name", "") for o in outputs]
    for output, name in zip(outputs, names, strict=True):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*", name or ""):
            label = output.get("label") or output.get("id", "")
            problems.append(
                Problem(
                    decision_id, f"keluaran '{label}' harus punya nama data (huruf, angka dan _, mis. photo_required)"
                )
            )
    if len(set(names)) != len(names):
        problems.append(Problem(decision_id, "dua keluaran memakai nama data yang sama"))
    for number, rule in enumerate(rules, start=1):
        entries = rule.findall("dmn:inputEntry", ns)
        results = rule.findall("dmn:outputEntry", ns)
        if len(entries) != len(inputs) or len(results) != len(outputs):
            problems.append(Problem(decision_id, f"aturan {number}: jumlah sel tidak sama dengan jumlah kolom"))
            continue
        for entry in entries:
            text = (entry.findtext("dmn:text", default="", namespaces=ns) or "").strip()
            if text and text != "-" and (problem := _cell_problem(text, decision_id, number)) is not None:
                problems.append(problem)
        for entry in results:
            text = (entry.findtext("dmn:text", default="", namespaces=ns) or "").strip()
            if text and (problem := _sandbox_problem(text, decision_id, f"aturan {number}: keluaran")) is not None:
                problems.append(problem)
    return problems


def _sandbox_problem(text: str, decision_id: str, where: str) -> Problem | None:
    try:
        expressions.parse_expression(text)
    except expressions.ExpressionError as exc:
        return Problem(decision_id, f"{where}: ekspresi tidak diizinkan ({exc}): {text[:80]}")
    return None


def _cell_problem(text: str, decision_id: str, number: int) -> Problem | None:
    """An input cell is an expression with ``?`` for the input, a value, or a comparison (``< 5``)."""
    candidates = (
        [_QUESTION_MARK.sub(PROBE_NAME, text)] if _QUESTION_MARK.search(text) else [text, f"{PROBE_NAME} {text}"]
    )
    first: expressions.ExpressionError | None = None
    for candidate in candidates:
        try:
            expressions.parse_expression(candidate)
            return None
        except expressions.ExpressionError as exc:
            first = first or exc
    return Problem(decision_id, f"aturan {number}: sel masukan tidak diizinkan ({first}): {text[:80]}")


def _task(data: Mapping[str, Any]) -> Any:
    """The little of a SpiffWorkflow task that its DMN engine reads: the data and the script engine."""
    spec = SimpleNamespace(name="tabel_keputusan", bpmn_id="tabel_keputusan", bpmn_name="tabel keputusan")
    workflow = SimpleNamespace(script_engine=RestrictedScriptEngine(), spec=SimpleNamespace(file="tabel keputusan"))
    workflow.top_workflow = workflow  # what spiff's error reports walk up
    return SimpleNamespace(data=dict(data), task_spec=spec, workflow=workflow)


def evaluate(table: DecisionTable, inputs: Mapping[str, Any]) -> Evaluation:
    """Evaluate ``table`` on ``inputs`` (data names -> values) as a business-rule task would."""
    task = _task(inputs)
    try:
        matched = table.engine.decide(task)
        result = table.engine.result(task)
    except (SpiffWorkflowException, expressions.ExpressionError) as exc:
        raise DecisionFailed(f"tabel keputusan '{table.name}' gagal dievaluasi: {str(exc).splitlines()[0]}") from None
    return Evaluation(dict(result), [rule.row_number for rule in matched])


def coerce_inputs(table: DecisionTable, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Values typed into a form (text) as the input's ``typeRef`` says, keyed by the input expression
    when it is a plain data name; other values pass as they are. Raises ``DecisionFailed`` naming the
    input that cannot be read."""
    values: dict[str, Any] = {}
    for column in table.inputs:
        name = column.expression.strip()
        if name not in raw:
            continue
        values[name] = _coerce(column, raw[name])
    return {**raw, **values}


def _coerce(column: Column, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text, kind = value.strip(), column.type_ref.lower()
    try:
        if kind in {"integer", "int", "long"}:
            return int(text)
        if kind in {"number", "double", "float"}:
            return float(text)
    except ValueError:
        raise DecisionFailed(f"masukan '{column.label}' harus berupa angka") from None
    if kind == "boolean":
        if text.casefold() in {"true", "ya", "1"}:
            return True
        if text.casefold() in {"false", "tidak", "0"}:
            return False
        raise DecisionFailed(f"masukan '{column.label}' harus ya atau tidak")
    return value


def _overlaps(table: DecisionTable) -> Iterator[Problem]:
    """Pairs of rules of a UNIQUE table that match one same input, with an example."""
    rules = table.engine.decision_table.rules
    probe_task = _task({})
    per_column: list[list[set[int]]] = []  # column -> rule -> indices of the probes its cell accepts
    probes_of_column: list[list[Any]] = []
    for index in range(len(table.inputs)):
        cells = [rule.inputEntries[index].lhs[0] if rule.inputEntries[index].lhs else None for rule in rules]
        probes = _probe_values(cells)
        probes_of_column.append(probes)
        per_column.append([_accepted(cell, probes, probe_task) for cell in cells])
    for first, second in combinations(range(len(rules)), 2):
        witnesses = [per_column[c][first] & per_column[c][second] for c in range(len(table.inputs))]
        if all(witnesses):
            example = ", ".join(
                f"{table.inputs[c].label} = {probes_of_column[c][min(w)]!r}" for c, w in enumerate(witnesses)
            )
            yield Problem(
                table.decision_id,
                f"aturan {rules[first].row_number} dan {rules[second].row_number} tumpang tindih (mis. {example}); "
                "dengan hit policy UNIQUE hanya aturan pertama yang dipakai",
            )


def _probe_values(cells: list[str | None]) -> list[Any]:
    """The values the cells of a column name, and for numbers their neighbours (boundaries both sides)."""
    values: list[Any] = []
    for cell in cells:
        if cell is None:
            continue
        try:
            tree = ast.parse(_QUESTION_MARK.sub(PROBE_NAME, cell), mode="eval")
        except SyntaxError:
            try:
                tree = ast.parse(f"{PROBE_NAME} {cell}", mode="eval")
            except SyntaxError:
                continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
                value = node.value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    values += [base + delta for base in (value, -value) for delta in (-1, -0.5, 0, 0.5, 1)]
                else:
                    values.append(value)
    if not values:
        values = [0]
    unique: list[Any] = []
    for value in values:
        if not any(type(value) is type(known) and value == known for known in unique):
            unique.append(value)
    return unique[:200]


def _accepted(cell: str | None, probes: list[Any], task: Any) -> set[int]:
    if cell is None:
        return set(range(len(probes)))
    engine = DMNEngine(None)
    accepted = set()
    for index, value in enumerate(probes):
        task.data = {PROBE_NAME: value}
        try:
            if engine.evaluate(PROBE_NAME, cell, task):
                accepted.add(index)
        except (SpiffWorkflowException, expressions.ExpressionError, SyntaxError):
            continue  # a value of the wrong type for this cell: not a match
    return accepted
