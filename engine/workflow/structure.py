"""Structural lint: rules on the diagram's graph of flow nodes and sequence flows, one function per rule.

Each rule takes the ``Graph`` of one process (or sub-process) and returns its problems, naming every
element by its name and id in Bahasa Indonesia so a process owner can find it in the modeler. The rules
know nothing about the KIA domain: what a decision form allows is passed in as ``FormChoices`` (form key
-> field -> allowed values), built by the caller from its forms.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

from engine.workflow import expressions
from engine.workflow.errors import Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

FormChoices = Mapping[str, Mapping[str, Collection[str]]]  # form key -> choice field -> allowed values

FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateThrowEvent",
        "intermediateCatchEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "serviceTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "scriptTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
TASKS_NEEDING_OUTGOING = frozenset({"userTask", "serviceTask"})
# Nodes where a run waits for a person or the clock: a cycle through one of them is not endless.
_WAITS = frozenset({"userTask", "manualTask", "receiveTask", "eventBasedGateway"})
_PASS_THROUGH = frozenset({"intermediateThrowEvent"})
_KIND_WORDS = {
    "startEvent": "start event",
    "endEvent": "end event",
    "userTask": "tugas pengguna",
    "serviceTask": "tugas layanan",
    "exclusiveGateway": "gateway",
    "parallelGateway": "gateway paralel",
    "inclusiveGateway": "gateway inklusif",
    "boundaryEvent": "timer",
    "lane": "lane",
    "sequenceFlow": "alur",
}


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    source: str
    target: str
    condition: str | None


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # the BPMN element's local name: userTask, exclusiveGateway, ...
    name: str
    element: etree._Element = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        """How a message names it: «name» (id), or what it is and its id when it has no name."""
        return f"«{self.name}» ({self.id})" if self.name else f"{_KIND_WORDS.get(self.kind, 'elemen')} {self.id}"

    @property
    def is_timer(self) -> bool:
        return self.element.find("bpmn:timerEventDefinition", NS) is not None


@dataclass
class Graph:
    """The flow nodes directly in one process or sub-process, and the sequence flows between them."""

    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    outgoing: dict[str, list[Flow]] = field(default_factory=dict)
    incoming: dict[str, list[Flow]] = field(default_factory=dict)
    boundaries: dict[str, list[str]] = field(default_factory=dict)  # activity id -> boundary event ids

    def successors(self, node_id: str) -> list[str]:
        """Where a run can go next: along outgoing flows, and from an activity to its boundary events."""
        return [f.target for f in self.outgoing.get(node_id, ())] + self.boundaries.get(node_id, [])

    def predecessors(self, node_id: str) -> list[str]:
        node = self.nodes[node_id]
        attached = node.element.get("attachedToRef") if node.kind == "boundaryEvent" else None
        return [f.source for f in self.incoming.get(node_id, ())] + ([attached] if attached in self.nodes else [])

    def of_kind(self, *kinds: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind in kinds]

    @cached_property
    def order(self) -> dict[str, int]:
        """Each node's position in the document (messages list elements in that order)."""
        return {node_id: i for i, node_id in enumerate(self.nodes)}


def graph_of(scope: etree._Element) -> Graph:
    """The graph of the flow nodes and sequence flows directly inside ``scope`` (a process or sub-process)."""
    graph = Graph()
    for child in scope:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN:
            continue
        local = etree.QName(child).localname
        if local in FLOW_NODES and child.get("id"):
            graph.nodes[child.get("id")] = Node(child.get("id"), local, (child.get("name") or "").strip(), child)
    for child in scope.iterfind("bpmn:sequenceFlow", NS):
        condition = child.find("bpmn:conditionExpression", NS)
        text = (condition.text or "").strip() if condition is not None else ""
        flow = Flow(
            child.get("id", ""),
            (child.get("name") or "").strip(),
            child.get("sourceRef", ""),
            child.get("targetRef", ""),
            text or None,
        )
        graph.flows[flow.id] = flow
        graph.outgoing.setdefault(flow.source, []).append(flow)
        graph.incoming.setdefault(flow.target, []).append(flow)
    for node in graph.of_kind("boundaryEvent"):
        graph.boundaries.setdefault(node.element.get("attachedToRef", ""), []).append(node.id)
    return graph


def scopes(process: etree._Element) -> list[etree._Element]:
    """The process and every sub-process in it: each has its own start and end events."""
    return [process, *process.iter(f"{{{BPMN}}}subProcess")]


def _reach(starts: Iterable[str], step: Callable[[str], list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(step(node))
    return seen


def _in_order(graph: Graph, ids: Iterable[str]) -> list[Node]:
    return [graph.nodes[i] for i in sorted(set(ids) & graph.nodes.keys(), key=graph.order.__getitem__)]


# The rules.


def unreachable_nodes(graph: Graph) -> list[Problem]:
    """Every flow node can be reached from a start event. Reported where the unreachable part begins,
    naming the steps cut off behind it, not once per element of that part."""
    starts = [n.id for n in graph.of_kind("startEvent")]
    if not starts:
        return [Problem("", "proses tidak punya start event")]
    reached = _reached(graph)
    unreached = set(graph.nodes) - reached
    order = graph.order

    def fed_from_unreached(node_id: str) -> bool:
        return any(p in unreached for p in graph.predecessors(node_id))

    problems = []
    covered: set[str] = set()
    for node_id in sorted(unreached, key=lambda n: (fed_from_unreached(n), order[n])):
        if node_id in covered:
            continue

        def onward(n: str, seen: set[str] = covered) -> list[str]:
            return [s for s in graph.successors(n) if s in unreached and s not in seen]

        behind = _reach([node_id], onward)
        covered |= behind
        node = graph.nodes[node_id]
        why = " (tidak ada alur masuk)" if not graph.incoming.get(node_id) and node.kind != "boundaryEvent" else ""
        message = f"{node.label} tidak dapat dicapai dari awal proses{why}"
        cut_off = [n.label for n in _in_order(graph, behind - {node_id}) if n.kind in {"userTask", "endEvent"}]
        if cut_off:
            more = f" dan {len(cut_off) - 4} lainnya" if len(cut_off) > 4 else ""
            message += "; karena itu juga tidak tercapai: " + ", ".join(cut_off[:4]) + more
        problems.append(Problem(node_id, message))
    return problems


def _reached(graph: Graph) -> set[str]:
    starts = [n.id for n in graph.of_kind("startEvent")]
    return _reach(starts, lambda n: [s for s in graph.successors(n) if s in graph.nodes])


def nodes_without_way_to_an_end(graph: Graph) -> list[Problem]:
    """From every flow node an end event can be reached (an unreachable node is reported once, above)."""
    ends = [n.id for n in graph.of_kind("endEvent")]
    if not ends:
        return [Problem("", "proses tidak punya end event")]
    reaching = _reach(ends, lambda n: [p for p in graph.predecessors(n) if p in graph.nodes])
    reached = _reached(graph)
    return [
        Problem(node.id, f"dari {node.label} tidak ada jalan ke akhir proses (end event)")
        for node in _in_order(graph, (set(graph.nodes) - reaching) & reached)
        if node.kind not in TASKS_NEEDING_OUTGOING or graph.outgoing.get(node.id)  # reported by the next rule
    ]


def tasks_without_outgoing_flow(graph: Graph) -> list[Problem]:
    """No user task or service task is a dead end."""
    return [
        Problem(node.id, f"{node.label} tidak punya alur keluar")
        for node in graph.of_kind(*TASKS_NEEDING_OUTGOING)
        if not graph.outgoing.get(node.id)
    ]


def timers_without_time_standard(graph: Graph) -> list[Problem]:
    """Every boundary timer sits on a user task that has a time standard (its deadline comes from it)."""
    problems = []
    for node in graph.of_kind("boundaryEvent"):
        if not node.is_timer:
            continue
        task = graph.nodes.get(node.element.get("attachedToRef", ""))
        if task is None or task.kind != "userTask":
            problems.append(Problem(node.id, f"{node.label} harus menempel pada tugas pengguna (user task)"))
        elif not _property(task.element, "time_standard"):
            problems.append(Problem(node.id, f"{node.label} menempel pada {task.label} yang tidak punya standar waktu"))
    return problems


def endless_loops(graph: Graph) -> list[Problem]:
    """No cycle without a user task or a timer in it: a loop of service tasks would run for ever."""
    waits = {n.id for n in graph.nodes.values() if n.kind in _WAITS or n.is_timer}
    rest = {n: [s for s in graph.successors(n) if s in graph.nodes and s not in waits] for n in graph.nodes}
    problems = []
    for component in _strongly_connected(rest):
        looping = len(component) > 1 or component[0] in rest[component[0]]
        if looping and not waits & set(component):
            nodes = _in_order(graph, component)
            path = " → ".join(n.label for n in nodes)
            problems.append(
                Problem(nodes[0].id, f"putaran tanpa tugas pengguna atau timer, akan berulang tanpa henti: {path}")
            )
    return problems


def decision_branches(graph: Graph, choices: FormChoices) -> list[Problem]:
    """An exclusive gateway after a decision form has a branch for every value the form allows (or a
    default flow), and no branch for a value the form does not allow."""
    problems = []
    for gateway in graph.of_kind("exclusiveGateway"):
        for task in _deciding_tasks(graph, gateway.id):
            form_key = _property(task.element, "form_key")
            allowed_by_field = choices.get(form_key) or {}
            if allowed_by_field:
                problems += _check_branches(graph, gateway, task, form_key, allowed_by_field)
    return problems


def _check_branches(
    graph: Graph, gateway: Node, task: Node, form_key: str, allowed_by_field: Mapping[str, Collection[str]]
) -> list[Problem]:
    flows = graph.outgoing.get(gateway.id, [])
    trees = {f.id: _parsed(f.condition) for f in flows}
    referenced = {name for tree in trees.values() if tree is not None for name in _names(tree)}
    fields = [f for f in allowed_by_field if f in referenced]
    if not fields and "decision" in allowed_by_field:
        fields = ["decision"]  # a gateway after a decision form that never looks at the decision
    default = gateway.element.get("default")
    problems = []
    for field_name in fields:
        allowed = [str(v) for v in allowed_by_field[field_name]]
        covered: set[str] = set()
        exact = True  # every branch's condition could be decided from this field alone
        for flow in flows:
            tree = trees[flow.id]
            if flow.id == default:
                continue
            if flow.condition is None:
                covered.update(allowed)  # an unconditional branch takes every value
                continue
            if tree is None:
                exact = False
                continue
            for value in _compared_values(tree, field_name):
                if value not in allowed:
                    problems.append(
                        Problem(
                            flow.id,
                            f"cabang {_flow_label(flow)} dari {gateway.label} memeriksa {field_name} "
                            f"'{value}', nilai yang tidak ada di formulir '{form_key}' ({', '.join(allowed)})",
                        )
                    )
            if _names(tree) - {field_name}:
                exact = False
                continue
            covered.update(v for v in allowed if _true_for(flow.condition, field_name, v))
        missing = [v for v in allowed if v not in covered]
        if missing and exact and not default:
            problems.append(
                Problem(
                    gateway.id,
                    f"{gateway.label} setelah {task.label} tidak punya cabang untuk {field_name} "
                    + ", ".join(f"'{v}'" for v in missing)
                    + " (tambahkan cabangnya atau alur default)",
                )
            )
    return problems


def _deciding_tasks(graph: Graph, gateway_id: str) -> list[Node]:
    """The user tasks whose completion leads straight into the gateway (through throw events only)."""
    found: list[Node] = []
    seen: set[str] = set()
    stack = [f.source for f in graph.incoming.get(gateway_id, [])]
    while stack:
        node = graph.nodes.get(stack.pop())
        if node is None or node.id in seen:
            continue
        seen.add(node.id)
        if node.kind == "userTask":
            found.append(node)
        elif node.kind in _PASS_THROUGH:
            stack.extend(f.source for f in graph.incoming.get(node.id, []))
    return found


def _parsed(condition: str | None) -> ast.Expression | None:
    if condition is None:
        return None
    try:
        return expressions.parse_expression(condition)
    except expressions.ExpressionError:
        return None  # reported by the expression lint


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in {"True", "False", "None"}}


def _compared_values(tree: ast.AST, field_name: str) -> list[str]:
    """The literal values ``field_name`` is compared with (``==``, ``!=``, ``in`` a literal collection)."""
    values: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for left, right in zip(operands, operands[1:], strict=False):
            for name, other in ((left, right), (right, left)):
                if isinstance(name, ast.Name) and name.id == field_name:
                    values += _literals(other)
    return values


def _literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _true_for(condition: str, field_name: str, value: str) -> bool:
    try:
        return bool(expressions.evaluate(condition, {field_name: value}))
    except expressions.ExpressionError:
        return True  # cannot tell: do not claim the value is missing


def _flow_label(flow: Flow) -> str:
    return f"«{flow.name}» ({flow.id})" if flow.name else flow.id


def _property(element: etree._Element, name: str) -> str:
    for prop in element.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return (prop.get("value") or "").strip()
    return ""


def _strongly_connected(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (a hostile diagram must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


GRAPH_RULES: tuple[Callable[[Graph], list[Problem]], ...] = (
    unreachable_nodes,
    nodes_without_way_to_an_end,
    tasks_without_outgoing_flow,
    timers_without_time_standard,
    endless_loops,
)


def named(root: etree._Element, problems: Iterable[Problem]) -> list[Problem]:
    """Every problem's message starting with its element's name and id (as the structural rules already
    write them), so the process owner finds it by the name the modeler shows."""
    labels = {}
    for element in root.iter(f"{{{BPMN}}}*"):
        element_id = element.get("id")
        if element_id and element_id not in labels:
            kind = etree.QName(element).localname
            labels[element_id] = Node(element_id, kind, (element.get("name") or "").strip(), element).label
    out = []
    for problem in problems:
        label = labels.get(problem.element_id)
        if label and f"({problem.element_id})" not in problem.message and label not in problem.message:
            problem = Problem(problem.element_id, f"{label}: {problem.message}")
        out.append(problem)
    return out


def check(process: etree._Element, choices: FormChoices) -> list[Problem]:
    """Every structural rule over the process and each of its sub-processes."""
    problems: list[Problem] = []
    for scope in scopes(process):
        graph = graph_of(scope)
        for rule in GRAPH_RULES:
            problems += rule(graph)
        problems += decision_branches(graph, choices)
    return problems
