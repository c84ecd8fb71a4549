"""The dry run: a new diagram version run in memory along every path before it may be deployed.

One run per decision value, not per combination: the first run completes each user task with the
first sample its form accepts (the caller passes them in, one per decision value); every other value of
a step, at its first, second and third visit, starts one more run from there, the first time a run
meets it (later runs reaching the same step the same time take the first value only). So every branch of
every decision is taken, every loop at every depth, and the count grows with the decisions a diagram
has, not with their product (a diagram with several independent decisions in a row stays well under
``MAX_PATHS``). A step is visited at most ``MAX_VISITS`` times on one path, so every loop is taken at
most twice. Timers are fired as soon as they wait (an interrupting one also as a branch of its own, the
task left undone).
Service tasks run against no handler at all: nothing is written, nothing is sent.

A path is a problem when it stalls (nothing ready, not finished), errors, finishes somewhere that is not
an end event, or reaches a user task whose lane maps to no role. The enumeration is capped
(``MAX_PATHS``, ``MAX_STEPS``, ``TIME_BUDGET``) so a hostile diagram cannot make validation explode;
reaching a cap is a problem too.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.workflow import config, serialization
from engine.workflow.clock import clock
from engine.workflow.definitions import Definition
from engine.workflow.errors import Problem
from engine.workflow.script_engine import SandboxScriptEngine
from engine.workflow.services import ServiceContext, handler_names

MAX_PATHS = 64
MAX_VISITS = 3  # a step at most three times on one path: every loop taken at most twice
MAX_STEPS = 400  # tasks completed on one path, engine steps included
TIME_BUDGET = 10.0  # seconds for the whole dry run


class Outcome(StrEnum):
    FINISHED = "finished"
    STALLED = "stalled"
    ERROR = "error"
    NO_ROLE = "no_role"
    UNFINISHED_END = "no_end_event"
    TOO_LONG = "too_long"


@dataclass
class Path:
    """One run: the decisions taken, the elements walked in order, how it ended."""

    decisions: list[tuple[str, str]]  # (user task id, the sample's decision, or "timer" when a timer cut it)
    elements: list[str]  # element ids walked, each once, in the order first walked (a failing one too)
    outcome: Outcome
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.FINISHED


@dataclass
class DryRun:
    paths: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    loops_cut: int = 0  # runs dropped because a step came round a fourth time

    @property
    def failed(self) -> list[Path]:
        return [p for p in self.paths if not p.ok]


class DryRunScriptEngine(SandboxScriptEngine):
    """The service's sandboxed expressions; service tasks only check that their handler exists."""

    failed_at: Any = None  # the task whose expression failed last (a gateway evaluating its branches)

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except Exception:
            self.failed_at = task
            raise

    def call_service(self, task: Any, operation_name: str, operation_params: dict, **kwargs: Any) -> str:
        if operation_name not in handler_names():
            raise ValueError(f"handler service task '{operation_name}' tidak dikenal")
        return "{}"

    def _deadline(self, timer_task: Any) -> str:
        """A deadline already past for a non-interrupting timer (it fires as it starts, escalation path
        and all); far ahead for an interrupting one, fired as a branch of its own."""
        super()._deadline(timer_task)  # the same checks as a real run (a user task with a time standard)
        return _FAR_FUTURE if getattr(timer_task.task_spec, "cancel_activity", False) else _PAST


_PAST = "2000-01-01T00:00:00+00:00"
_FAR_FUTURE = "2999-01-01T00:00:00+00:00"


@dataclass
class _Branch:
    state: bytes | None  # the workflow where the branch leaves the path it shares with others
    decisions: list[tuple[str, str]]
    elements: list[str]
    visits: Counter
    fired: set[UUID]
    pending: tuple[UUID, str, Mapping[str, Any] | None] | None  # (task, label, data or None: fire it)


class _Cut(Exception):
    def __init__(self, outcome: Outcome | None, problem: Problem | None = None) -> None:
        self.outcome, self.problem = outcome, problem


def dry_run(
    definition: Definition,
    samples: Mapping[str, Sequence[Mapping[str, Any]]],
    roles: Collection[str] | None = None,
    start_data: Mapping[str, Any] | None = None,
    *,
    max_paths: int = MAX_PATHS,
    time_budget: float = TIME_BUDGET,
) -> DryRun:
    """Run ``definition`` along every path. ``samples`` maps a built-in form's key to data that form accepts
    (one per decision value); the forms deployed with the diagram give their own
    (``Definition.owner_form_samples``: one per value of each choice field a condition reads). ``roles`` are
    the lane ids that map to a role (by default the runtime's configured lane roles; None there: any lane)."""
    result = DryRun()
    samples = {**samples, **definition.owner_form_samples()}
    roles = roles if roles is not None else config.current().lane_roles
    deadline = time.monotonic() + time_budget
    stack = [_Branch(None, [], [], Counter(), set(), None)]
    learned = _Learned()
    while stack:
        if len(result.paths) >= max_paths:
            result.problems.append(
                Problem("", f"diagram punya lebih dari {max_paths} jalur; uji coba dihentikan (sederhanakan diagram)")
            )
            break
        if time.monotonic() > deadline:
            result.problems.append(Problem("", f"uji coba melebihi {time_budget:g} detik; dihentikan"))
            break
        branch = stack.pop()
        try:
            run = _Run(definition, samples, roles, branch, start_data or {}, learned)
            run.walk(stack)
        except _Cut as cut:
            if cut.outcome is None:
                result.loops_cut += 1
                continue
            path = Path(run.decisions, _unique(run.elements), cut.outcome, cut.problem)
            result.paths.append(path)
            if cut.problem is not None and cut.problem not in result.problems:
                result.problems.append(cut.problem)
        except Exception as exc:  # noqa: BLE001 - outside any step (a state that does not serialize, say)
            result.problems.append(Problem("", f"uji coba tidak dapat dijalankan: {type(exc).__name__}"))
            break
    result.loops_cut += learned.skipped
    return result


@dataclass
class _Learned:
    """What the runs so far showed: the user task each (step, decision) led to next ("" for the end), and
    the alternatives already forked. A branch that would only lead to a step already taken three times
    is not forked at all."""

    next_steps: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    skipped: int = 0
    # (step, decision, visits before this one): the alternatives some run already started a run for
    forked: set[tuple[str, str, int]] = field(default_factory=set)


class _Run:
    def __init__(
        self,
        definition: Definition,
        samples: Mapping[str, Sequence[Mapping[str, Any]]],
        roles: Collection[str] | None,
        branch: _Branch,
        start_data: Mapping[str, Any],
        learned: _Learned,
    ) -> None:
        self.definition, self.samples, self.roles, self.learned = definition, samples, roles, learned
        self.last: tuple[str, str] | None = None  # the decision taken last: (step, label)
        self.decisions = list(branch.decisions)
        self.elements = list(branch.elements)
        self.visits = Counter(branch.visits)
        self.fired = set(branch.fired)
        self.pending = branch.pending
        if branch.state is None:
            self.workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs)
        else:
            self.workflow = serialization.load(branch.state, definition)
        self.workflow.script_engine = DryRunScriptEngine(ServiceContext(None, None, clock.now(), "uji-coba"))  # type: ignore[arg-type]
        if branch.state is None:
            for task in self.workflow.get_tasks(state=TaskState.READY):
                task.data.update(start_data)

    def walk(self, stack: list[_Branch]) -> None:
        if self.pending is not None:
            task_id, label, data = self.pending
            self._take(self.workflow.get_task_from_id(task_id), label, data)
        while True:
            self._advance()
            if self.workflow.is_completed():
                self._learn("")
                self._check_ends()
                raise _Cut(Outcome.FINISHED)
            ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                waiting = [t.task_spec for t in self._waiting() if getattr(t.task_spec, "bpmn_id", None)]
                names = sorted({self._name(spec.bpmn_id) for spec in waiting})
                where = f" (menunggu di {', '.join(names[:4])})" if names else ""
                element = waiting[0].bpmn_id if waiting else (self.elements[-1] if self.elements else "")
                if waiting:
                    self.elements.append(element)
                stalled = f"jalur macet: tidak ada tugas siap, proses belum selesai{where}"
                raise _Cut(Outcome.STALLED, Problem(element, stalled))
            task = ready[0]
            step = task.task_spec.bpmn_id
            self._learn(step)
            if self.visits[step] >= MAX_VISITS:
                raise _Cut(None)  # a loop taken a third time: dropped before it forks again
            self._check_lane(task)
            options = self._options(task)
            for label, data in options[1:]:
                fork = (step, label, self.visits[step])
                if fork not in self.learned.forked and self._leads_on(step, label):
                    self.learned.forked.add(fork)
                    stack.append(self._branch_at(task, label, data))
            for timer in self._interrupting_timers_on(task):
                stack.append(self._branch_at(timer, "timer", None))
            label, data = options[0]
            self._take(task, label, data)

    def _learn(self, step: str) -> None:
        if self.last is not None:
            self.learned.next_steps.setdefault(self.last, set()).add(step)
            self.last = None

    def _leads_on(self, step: str, label: str) -> bool:
        """False when every run so far went from this decision, through steps without a decision, to a
        step already taken three times on this path (the run would only be cut there)."""
        visits = Counter(self.visits)
        visits[step] += 1
        key = (step, label)
        for _ in range(len(self.definition.user_tasks) + 1):
            seen = self.learned.next_steps.get(key, set())
            if len(seen) != 1:
                return True
            (after,) = seen
            if not after:
                return True
            if visits[after] >= MAX_VISITS:
                self.learned.skipped += 1
                return False
            visits[after] += 1
            key = (after, "")  # followed only where no decision is taken
        return True

    def _branch_at(self, task: Any, label: str, data: Mapping[str, Any] | None) -> _Branch:
        return _Branch(
            serialization.dump(self.workflow),
            list(self.decisions),
            list(self.elements),
            Counter(self.visits),
            set(self.fired),
            (task.id, label, data),
        )

    def _take(self, task: Any, label: str, data: Mapping[str, Any] | None) -> None:
        step = task.task_spec.bpmn_id
        self.visits[step] += 1
        if self.visits[step] > MAX_VISITS:
            raise _Cut(None)
        if data is None:  # an interrupting timer fires; its task is left undone
            self.decisions.append((self._attached_step(task), "timer"))
            self.fired.add(task.id)
            self._guard(lambda: (task._set_internal_data(event_fired=True), self.workflow.refresh_timers()), task)
            return
        if label:
            self.decisions.append((step, label))
        self.elements.append(step)
        self.last = (step, label)

        def complete() -> None:
            task.set_data(**dict(data))
            task.run()

        self._guard(complete, task)

    def _advance(self) -> None:
        """Engine steps until only user tasks wait; every waiting non-interrupting timer fired once."""
        for _ in range(MAX_STEPS):
            self._guard(lambda: self.workflow.do_engine_steps(did_complete_task=self._passed), None)
            due = [
                t
                for t in self._waiting()
                if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
                and t.id not in self.fired
                and not getattr(t.task_spec, "cancel_activity", False)
            ]
            if not due:
                return
            for timer in due:
                self.fired.add(timer.id)
                timer._set_internal_data(event_fired=True)
            self._guard(self.workflow.refresh_timers, None)
        raise _Cut(Outcome.TOO_LONG, Problem("", f"jalur lebih dari {MAX_STEPS} langkah; uji coba dihentikan"))

    def _passed(self, task: Any) -> None:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            self.elements.append(bpmn_id)
        if len(self.elements) > MAX_STEPS:
            raise _Cut(Outcome.TOO_LONG, Problem(bpmn_id or "", f"jalur lebih dari {MAX_STEPS} langkah"))

    def _guard(self, action: Any, task: Any) -> None:
        try:
            action()
        except _Cut:
            raise
        except Exception as exc:  # noqa: BLE001 - an untrusted diagram can fail in any way; each is a problem
            failing = self.workflow.script_engine.failed_at or getattr(exc, "task", None) or task
            element = getattr(getattr(failing, "task_spec", None), "bpmn_id", None) or (
                self.elements[-1] if self.elements else ""
            )
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            if element:
                self.elements.append(element)
            raise _Cut(Outcome.ERROR, Problem(element, f"{self._name(element)} gagal dijalankan: {message}")) from None

    def _waiting(self) -> list[Any]:
        return self.workflow.get_tasks(state=TaskState.WAITING)

    def _interrupting_timers_on(self, task: Any) -> list[Any]:
        return [
            t
            for t in self._waiting()
            if isinstance(t.task_spec, BoundaryEvent)
            and getattr(t.task_spec, "cancel_activity", False)
            and isinstance(t.task_spec.event_definition, TimerEventDefinition)
            and t.parent is task.parent
            and t.id not in self.fired
        ]

    def _attached_step(self, timer: Any) -> str:
        for sibling in timer.parent.children if timer.parent else []:
            if isinstance(sibling.task_spec, UserTask):
                return sibling.task_spec.bpmn_id
        return timer.task_spec.bpmn_id

    def _check_lane(self, task: Any) -> None:
        step = task.task_spec.bpmn_id
        lane = self.definition.lanes.get(step, "")
        if lane and (self.roles is None or lane in self.roles):
            return
        self.elements.append(step)
        where = f"berada di lane '{lane}' yang tidak dikerjakan peran mana pun" if lane else "tidak berada di lane"
        raise _Cut(Outcome.NO_ROLE, Problem(step, f"{self._name(step)} {where}"))

    def _options(self, task: Any) -> list[tuple[str, Mapping[str, Any]]]:
        step = task.task_spec.bpmn_id
        info = self.definition.user_tasks.get(step)
        options = list(self.samples.get(info.form_key, ())) if info is not None else []
        if not options:
            self.elements.append(step)
            raise _Cut(
                Outcome.ERROR,
                Problem(step, f"{self._name(step)}: tidak ada contoh data yang diterima formulirnya"),
            )
        return [(_label(o, options) if len(options) > 1 else "", o) for o in options]

    def _check_ends(self) -> None:
        """A finished run whose branches all stopped at end events; a flow node with no way on that is
        not an end event ends the run silently (the "every application completes" failure)."""
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            spec = task.task_spec
            if getattr(spec, "bpmn_id", None) and not spec.outputs and not isinstance(spec, EndEvent):
                raise _Cut(
                    Outcome.UNFINISHED_END,
                    Problem(spec.bpmn_id, f"jalur berhenti di {self._name(spec.bpmn_id)} tanpa mencapai end event"),
                )

    def _name(self, bpmn_id: str) -> str:
        spec = self.definition.spec.task_specs.get(bpmn_id)
        name = getattr(spec, "bpmn_name", None)
        if name:
            return f"«{name}» ({bpmn_id})"
        return f"gateway {bpmn_id}" if "Gateway" in type(spec).__name__ else bpmn_id or "diagram"


def _label(option: Mapping[str, Any], options: Sequence[Mapping[str, Any]]) -> str:
    """What tells a sample from the others: its ``decision`` (the built-in forms' choice), else the values
    of the fields the samples differ in (an owner form's choice fields a condition reads)."""
    if "decision" in option:
        return str(option["decision"])
    differing = [k for k in option if any(other.get(k) != option[k] for other in options)]
    return ", ".join(str(option[k]) for k in differing)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))
