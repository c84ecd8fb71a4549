"""Migration of running instances from one version of a process to another, deadlines kept.

The old and new task specs are paired by BPMN id (SpiffWorkflow's ``SpecDiff``, which also pairs by
structure); an explicit ``mapping`` of old to new ids overrides the pairing. An instance can move when
none of its running tasks (a ready user task, a waiting timer) was removed or changed, and none of the
steps it already passed was removed (its history must stay readable on the new version).

Moving keeps what the service already promised: tasks are reset with ``reset_mask=READY`` only, so a
ready task keeps its id (and with it its row: claim, deadline, escalation level) and a waiting timer
keeps its due time; only what lies ahead is predicted again from the new version. Each instance moves
in its own transaction and gains a ``migrated`` event; one that cannot move is left as it was.

A dry run does the same in memory and reports, per instance, whether it can move and why not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.workflow import instances, serialization, worktime
from engine.workflow.definitions import Definition, definition_of, get_version
from engine.workflow.errors import Conflict, EngineError, InvalidData
from engine.workflow.events import record
from engine.workflow.models import Instance, ProcessVersion, TaskRow, Timer

RUNNING = TaskState.READY | TaskState.STARTED | TaskState.WAITING
# a ready task is reset onto the new version, so where it leads may change; anything else may not
_REPREDICTED = frozenset({"inputs", "outputs"})


@dataclass(frozen=True)
class Plan:
    """What moving instances of ``source`` to ``target`` means, computed once for all instances."""

    process_key: str
    source: ProcessVersion
    target: ProcessVersion
    source_definition: Definition
    target_definition: Definition
    spec_diff: SpecDiff
    mapped: frozenset[str]  # names of the source specs paired by the explicit mapping


@dataclass
class Outcome:
    """One instance: whether it can move (dry run) or moved, and why not."""

    business_key: str
    from_version: int | None
    to_version: int
    movable: bool
    moved: bool = False
    reason: str | None = None
    current_steps: list[str] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def plan(
    session: Session, process_key: str, from_version: int, to_version: int, mapping: dict[str, str] | None = None
) -> Plan:
    """The pairing of ``from_version``'s elements with ``to_version``'s. Raises NotFound for a version
    that does not exist and InvalidData for a mapping naming unknown elements."""
    if from_version == to_version:
        raise InvalidData("Versi asal dan tujuan sama.", {"to_version": ["Pilih versi tujuan yang lain."]})
    source, target = get_version(session, process_key, from_version), get_version(session, process_key, to_version)
    source_definition, target_definition = definition_of(source), definition_of(target)
    old_spec, new_spec = source_definition.spec, target_definition.spec
    spec_diff = SpecDiff(serialization.registry(), old_spec, new_spec)
    mapped: set[str] = set()
    problems: dict[str, list[str]] = {}
    for old_id, new_id in (mapping or {}).items():
        olds = [s for s in old_spec.task_specs.values() if s.name == old_id or s.name.startswith(f"{old_id}.")]
        if not olds:
            problems.setdefault(old_id, []).append(f"elemen '{old_id}' tidak ada di versi {from_version}")
        if new_id not in new_spec.task_specs:
            problems.setdefault(old_id, []).append(f"elemen '{new_id}' tidak ada di versi {to_version}")
        if problems.get(old_id):
            continue
        for spec in olds:
            paired = new_spec.task_specs.get(new_id + spec.name[len(old_id) :])
            if paired is not None:
                spec_diff.alignment[spec] = paired
                mapped.add(spec.name)
    if problems:
        raise InvalidData("Pemetaan elemen tidak sah.", {"mapping": problems})
    return Plan(process_key, source, target, source_definition, target_definition, spec_diff, frozenset(mapped))


def _title(definition: Definition, spec: Any) -> str:
    """The name of the element a task spec stands for (SpiffWorkflow adds helpers like "x.BoundaryEventSplit")."""
    element = definition.spec.task_specs.get(spec.name.split(".")[0], spec)
    return getattr(element, "bpmn_name", None) or getattr(element, "bpmn_id", None) or element.name


def _movable(plan: Plan, workflow: Any) -> WorkflowDiff:
    """The workflow's diff against the target, or ``_Refused`` with the reason it cannot move."""
    if workflow.subprocesses:
        raise _Refused("permohonan dengan subproses belum dapat dipindahkan")
    diff = WorkflowDiff(workflow, plan.spec_diff)
    number = plan.target.version
    for task in diff.removed:
        if task.has_state(RUNNING):
            name = _title(plan.source_definition, task.task_spec)
            raise _Refused(f"langkah yang sedang berjalan '{name}' dihapus di versi {number}")
    for task in diff.removed:
        if task.has_state(TaskState.COMPLETED):
            name = _title(plan.source_definition, task.task_spec)
            raise _Refused(f"langkah yang sudah dilalui '{name}' tidak ada lagi di versi {number}")
    changes = plan.spec_diff.changed
    for task in diff.changed:
        if task.task_spec.name in plan.mapped or not task.has_state(RUNNING):
            continue
        if task.has_state(TaskState.WAITING) and isinstance(task.task_spec, Join):
            continue  # a join waiting for its inputs: which inputs it has may change
        what = set(changes[task.task_spec]) - (_REPREDICTED if task.has_state(TaskState.READY) else set())
        if what:
            name = _title(plan.source_definition, task.task_spec)
            raise _Refused(
                f"langkah yang sedang berjalan '{name}' berubah di versi {number} ({', '.join(sorted(what))})"
            )
    return diff


def _move(plan: Plan, workflow: Any) -> None:
    """Move ``workflow`` onto the target spec in memory; ``_Refused`` when it cannot."""
    diff = _movable(plan, workflow)
    migrate_workflow(diff, workflow, plan.target_definition.spec, reset_mask=TaskState.READY)
    known = set(map(id, plan.target_definition.spec.task_specs.values()))
    stray = next((t for t in workflow.get_tasks() if id(t.task_spec) not in known), None)
    if stray is not None:
        raise _Refused(f"langkah '{_title(plan.source_definition, stray.task_spec)}' tidak dapat dipetakan")


def _rename_timers(session: Session, definition: Definition, workflow: Any, row: TaskRow) -> None:
    """The timers of a renamed step follow it: its name, and the action its boundary timer now leads to."""
    timers = list(
        session.scalars(select(Timer).where(Timer.task_id == row.id, Timer.state.in_(("waiting", "recorded", "held"))))
    )
    boundary = next((t for t in timers if t.kind == "diagram"), None)
    action = None
    if boundary is not None:
        action = definition.timer_actions.get(workflow.get_task_from_id(UUID(boundary.id)).task_spec.bpmn_id)
    for timer in timers:
        timer.step = row.step
        if action is not None:
            timer.handler, timer.params = action[0], dict(action[1])


def _current_steps(definition: Definition, workflow: Any) -> list[str]:
    return [
        _title(definition, t.task_spec)
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
        if t.task_spec.bpmn_id in definition.user_tasks
    ]


def migrate(
    session: Session,
    plan: Plan,
    business_keys: Iterable[str] | None,
    *,
    actor: str,
    dry_run: bool,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Move the given instances (``None``: every running instance of the source version) to the target.

    Executing commits each instance on its own (and rolls back one that fails); a dry run writes
    nothing. Returns one outcome per instance, in the order given."""
    if business_keys is None:
        keys = list(
            session.scalars(
                select(Instance.business_key)
                .where(Instance.process_version_id == plan.source.id, Instance.completed_at.is_(None))
                .order_by(Instance.id)
            )
        )
    else:
        keys = list(dict.fromkeys(business_keys))
    source_id, target_id = plan.source.id, plan.target.id
    worktime.refresh(session)  # once: every moved instance's new deadlines use this calendar
    outcomes = []
    for key in keys:
        outcome = _one(session, plan, key, source_id, target_id, actor, dry_run)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _one(session: Session, plan: Plan, key: str, source_id: int, target_id: int, actor: str, dry_run: bool) -> Outcome:
    number = plan.target.version
    instance = session.scalar(select(Instance).where(Instance.business_key == key))
    if instance is None:
        return Outcome(key, None, number, movable=False, reason="permohonan tidak ditemukan")
    current = instance.process_version.version
    outcome = Outcome(key, current, number, movable=False)
    if instance.process_version_id != source_id:
        outcome.reason = f"berjalan pada versi {current}, bukan versi {plan.source.version}"
        return outcome
    if instance.completed_at is not None:
        outcome.reason = "permohonan sudah selesai"
        return outcome
    workflow = serialization.load(instance.state, plan.source_definition)
    outcome.current_steps = _current_steps(plan.source_definition, workflow)
    try:
        _move(plan, workflow)
    except _Refused as exc:
        outcome.reason = exc.reason
        return outcome
    outcome.movable = True
    if dry_run:
        return outcome
    try:
        _save(session, plan, instance, workflow, target_id, actor)
        session.commit()
    except (Conflict, StaleDataError):
        session.rollback()
        outcome.movable, outcome.reason = False, "permohonan baru saja diubah oleh orang lain; coba lagi"
        return outcome
    except EngineError as exc:
        session.rollback()
        outcome.movable, outcome.reason = False, exc.message
        return outcome
    outcome.moved = True
    return outcome


def _save(session: Session, plan: Plan, instance: Instance, workflow: Any, target_id: int, actor: str) -> None:
    """Write the moved workflow and keep its projections in step: the same task rows (claims,
    deadlines, escalation levels untouched), the same timers (due times untouched)."""
    definition = plan.target_definition
    with session.no_autoflush:  # one write of the instance, in ``advance``'s flush
        context = instances.attach(workflow, session, instance, actor, refresh=False)
        instance.process_version_id = target_id
        session.expire(instance, ["process_version"])  # loaded again only if someone asks
        open_rows = select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")
        for row in session.scalars(open_rows) if plan.mapped else ():
            info = definition.user_tasks.get(workflow.get_task_from_id(UUID(row.id)).task_spec.bpmn_id)
            if info is not None and info.step != row.step:  # a step paired by the mapping: its new name
                row.step, row.title, row.lane, row.form_key = info.step, info.title, info.lane, info.form_key
                _rename_timers(session, definition, workflow, row)
        record(
            session,
            instance,
            "migrated",
            actor=actor,
            at=context.now,
            from_version=plan.source.version,
            to_version=plan.target.version,
        )
    instances.advance(instances.Loaded(instance, definition, workflow, context))
