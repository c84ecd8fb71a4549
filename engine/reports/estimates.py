"""The expected completion of an application, from the working-time deadlines of the steps left.

Read from the projection (open tasks and their ``due_at``) and the cached diagram; no workflow is
deserialized. The steps still to come are the staff user tasks reachable from the open ones along the
diagram's flows; the walk stops at the applicant's own tasks (a correction loop is not the expected
path), leaves out a step that only leads back to where the walk has been (a rework step, such as a
card that did not arrive), and a step without a deadline (one waiting for the applicant, such as the
hand-over). Each later step is due one time standard after the previous deadline, in its own time basis.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, EndEvent
from sqlalchemy.orm import Session

from engine.workflow import instances, worktime
from engine.workflow.clock import clock
from engine.workflow.definitions import Definition, definition_of
from engine.workflow.models import Instance

APPLICANT_LANE = "applicant"


def later_steps(definition: Definition, step: str) -> list[str]:
    """Staff user tasks reachable after ``step`` in flow order (breadth first), each once."""
    found: list[str] = []
    seen: set[str] = {step}
    queue: deque[Any] = deque(definition.spec.task_specs[step].outputs)
    while queue:
        spec = queue.popleft()
        name = spec.name
        if name in seen:
            continue
        seen.add(name)
        info = definition.user_tasks.get(name)
        if info is not None:
            if info.lane == APPLICANT_LANE:
                continue
            if _has_deadline(spec) and _leads_on(spec, seen):
                found.append(name)
        queue.extend(spec.outputs)
    return found


def _is_boundary(spec: Any) -> bool:
    return isinstance(spec, BoundaryEvent)


def _has_deadline(spec: Any) -> bool:
    """A user task with a boundary event (its deadline timer) attached."""
    return any(isinstance(parent, BoundaryEventSplit) for parent in spec.inputs)


def _leads_on(spec: Any, seen: set[str]) -> bool:
    """Whether some path from ``spec`` (not through its boundary events) reaches an end event without
    coming back to a node the walk has been at."""
    stack, visited = [o for o in spec.outputs if not _is_boundary(o)], set(seen)
    while stack:
        node = stack.pop()
        if node.name in visited:
            continue
        visited.add(node.name)
        if isinstance(node, EndEvent):
            return True
        stack.extend(o for o in node.outputs if not _is_boundary(o))
    return False


def expected_completion(session: Session, instance: Instance) -> datetime | None:
    """When the card is expected to be handed over; None while the applicant must act first.

    A finished instance gives its completion time. An overdue step counts as ending now at the earliest."""
    if instance.completed_at is not None:
        return instance.completed_at
    rows = [r for r in instances.open_tasks_of(session, instance.id) if r.lane != APPLICANT_LANE]
    if not rows or any(r.due_at is None for r in rows):
        return None
    definition = definition_of(instance.process_version)
    expected = max(max(cast(datetime, r.due_at) for r in rows), clock.now())  # an overdue step is not done yet
    steps: list[str] = []
    for row in rows:
        steps += [s for s in later_steps(definition, row.step) if s not in steps]
    for step in steps:
        info = definition.user_tasks[step]
        expected = worktime.deadline_for(expected, info.time_standard, info.time_basis)
    return expected
