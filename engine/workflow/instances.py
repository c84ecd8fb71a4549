"""Process instances: start, claim, unclaim, complete, and advance (fire timers, run engine steps).

Every change follows one path: load the workflow, change it, run engine steps, write the projections,
save the state; the caller commits. ``Instance.lock_version`` makes two requests racing on one instance
end with exactly one winner: the loser's flush fails and it gets ``Conflict`` with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.workflow import config, serialization, versions, worktime
from engine.workflow.clock import clock
from engine.workflow.definitions import Definition, definition_of, get_version
from engine.workflow.errors import Conflict, EngineError, NotFound
from engine.workflow.events import record
from engine.workflow.models import Instance, TaskRow, TaskRowState, Timer, TimerKind, TimerState
from engine.workflow.projection import sync_tasks, sync_timers
from engine.workflow.script_engine import SandboxScriptEngine
from engine.workflow.services import DueTimer, ServiceContext, get_batch_handler

MAX_ENGINE_ROUNDS = 50


class StepFailed(EngineError):
    """The diagram could not advance (a failing expression or service handler). Nothing was saved.

    ``element`` is the diagram element that failed when known, ``error`` the cause (for the incident);
    ``incident_id`` is set once the failure is recorded as an incident."""

    code = "step_failed"

    def __init__(self, message: str, element: str | None = None, error: str = "") -> None:
        super().__init__(message)
        self.element, self.error = element, error or message
        self.incident_id: int | None = None
        # what was being done, set by the caller that knows (a completion: the task, its data, who)
        self.task_id: str | None = None
        self.payload: dict[str, Any] | None = None
        self.actor: str | None = None

    @classmethod
    def of(cls, prefix: str, exc: BaseException) -> StepFailed:
        spec = getattr(exc, "task_spec", None)
        element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
        error = str(exc) if isinstance(exc, SpiffWorkflowException | EngineError) else f"{type(exc).__name__}: {exc}"
        return cls(f"{prefix}: {error[:500]}", element=element, error=error[:2000])


@dataclass
class Loaded:
    instance: Instance
    definition: Definition
    workflow: BpmnWorkflow
    context: ServiceContext


def attach(
    workflow: BpmnWorkflow, session: Session, instance: Instance, actor: str, refresh: bool = True
) -> ServiceContext:
    """Give ``workflow`` the sandboxed script engine for ``instance``; ``refresh=False`` when the caller
    has just refreshed the working-time calendar itself (one read for many instances)."""
    if refresh:
        worktime.refresh(session)  # deadlines use the overrides as last committed by any process
    context = ServiceContext(session=session, instance=instance, now=clock.now(), actor=actor)
    workflow.script_engine = SandboxScriptEngine(context)
    return context


def load(session: Session, instance: Instance, actor: str = "system") -> Loaded:
    """Deserialize ``instance`` with the sandboxed script engine attached."""
    definition = definition_of(instance.process_version)
    workflow = serialization.load(instance.state, definition)
    context = attach(workflow, session, instance, actor)
    return Loaded(instance, definition, workflow, context)


def start(
    session: Session, process_key: str, *, business_key: str, kecamatan: str | None, data: dict[str, Any], actor: str
) -> Instance:
    """Start an instance of the active version of ``process_key`` and run it to its first wait."""
    version = versions.active_version(session, process_key)
    definition = definition_of(version)
    now = clock.now()
    instance = Instance(
        process_version=version,
        business_key=business_key,
        kecamatan=kecamatan,
        state=b"",
        status=config.current().initial_status,
        created_at=now,
        updated_at=now,
    )
    session.add(instance)
    session.flush()
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs)
    context = attach(workflow, session, instance, actor)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    record(session, instance, "started", actor=actor, at=now, version=version.version)
    advance(Loaded(instance, definition, workflow, context))
    return instance


def advance(loaded: Loaded) -> list[TaskRow]:
    """Run engine steps until only user tasks and timers wait, then write projections and state."""
    workflow, instance, session = loaded.workflow, loaded.instance, loaded.context.session
    now = loaded.context.now
    passed: list[Any] = []
    try:
        for _ in range(MAX_ENGINE_ROUNDS):
            workflow.do_engine_steps(did_complete_task=passed.append)
            if not workflow.get_tasks(state=TaskState.READY, manual=False):
                break
    except (SQLAlchemyError, Conflict):
        raise  # the database or a lost race, not the diagram
    except Exception as exc:  # noqa: BLE001 - whatever the diagram's expressions or handlers raised
        raise StepFailed.of("Langkah proses gagal dijalankan", exc) from None
    # No autoflush while the projections are written: their two queries would otherwise each flush
    # half-made changes (an UPDATE of the instance per query, an INSERT then an UPDATE per new task);
    # everything goes out in the one flush below, events and rows batched.
    with session.no_autoflush:
        for task in passed:
            milestone = loaded.definition.milestones.get(task.task_spec.bpmn_id)
            if milestone:
                instance.status = milestone[0]
                record(
                    session,
                    instance,
                    "milestone",
                    actor="system",
                    at=now,
                    task_id=str(task.id),
                    step=task.task_spec.bpmn_id,
                    lane=loaded.definition.lanes.get(task.task_spec.bpmn_id),
                    milestone=milestone[0],
                    name=milestone[1],
                )
        opened = sync_tasks(session, instance, loaded.definition, workflow, now, loaded.context.actor)
        sync_timers(session, instance, loaded.definition, workflow, now, {r.id: r for r in opened})
        if workflow.is_completed() and instance.completed_at is None:
            instance.completed_at = now
            record(session, instance, "finished", actor="system", at=now)
        instance.state = serialization.dump(workflow)
        instance.updated_at = now
    flush(session)
    return opened


@contextmanager
def conflicts_as_409() -> Iterator[None]:
    """Turn a lost optimistic-lock race or a busy database into ``Conflict``, wherever SQLAlchemy
    flushes (explicitly or by autoflush before a query)."""
    try:
        yield
    except StaleDataError:
        raise Conflict("Permohonan ini baru saja diubah oleh orang lain; muat ulang dan coba lagi.") from None
    except OperationalError as exc:
        message = str(exc).lower()
        if "locked" in message or "deadlock" in message or "could not serialize" in message:
            raise Conflict("Basis data sedang sibuk; coba lagi.") from None
        raise


def flush(session: Session) -> None:
    with conflicts_as_409():
        session.flush()


def get_task(session: Session, task_id: str) -> TaskRow:
    row = session.get(TaskRow, task_id) if _is_uuid(task_id) else None
    if row is None:
        raise NotFound("Tugas tidak ditemukan.")
    return row


def require_open(row: TaskRow) -> None:
    if row.state != TaskRowState.OPEN:
        raise Conflict("Tugas ini sudah tidak terbuka.")


def require_not_held(row: TaskRow) -> None:
    """A held step (``engine.workflow.holds``) cannot be completed: it is resumed first (409)."""
    if row.held_at is not None:
        raise Conflict(f"Tugas ini sedang ditunda ({row.hold_reason}); lanjutkan dulu sebelum menyelesaikannya.")


def complete(session: Session, row: TaskRow, data: dict[str, Any], actor: str) -> list[TaskRow]:
    """Complete the user task of ``row`` with validated form data; returns the tasks it opened.

    The caller has fetched the row and checked that it is open and that the actor may complete it;
    a task claimed by another, or one the workflow no longer has ready (a concurrent completion), is a
    Conflict."""
    with conflicts_as_409():
        return _complete(session, row, data, actor)


def _complete(session: Session, row: TaskRow, data: dict[str, Any], actor: str) -> list[TaskRow]:
    require_not_held(row)
    if row.claimed_by not in (None, actor):
        raise Conflict(f"Tugas ini sedang dikerjakan oleh {row.claimed_by}.")
    loaded = load(session, row.instance, actor)
    task = loaded.workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.READY:
        raise Conflict("Tugas ini sudah tidak terbuka.")
    task.set_data(**data)
    try:
        task.run()
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - the task's own expressions (e.g. output assignments)
        raise StepFailed.of("Tugas gagal diselesaikan", exc) from None
    now = loaded.context.now
    row.completed_by = actor
    if row.claimed_by is None:
        row.claimed_by, row.claimed_at = actor, now
    record(
        session,
        loaded.instance,
        "completed",
        actor=actor,
        at=now,
        task_id=row.id,
        step=row.step,
        lane=row.lane,
        **{k: data[k] for k in config.current().completion_fields if k in data},
    )
    return advance(loaded)


def claim(session: Session, task_id: str, actor: str) -> TaskRow:
    """Take an open task; claiming one's own claimed task again is harmless."""
    row = get_task(session, task_id)
    now = clock.now()
    result = session.execute(
        update(TaskRow)
        .where(
            TaskRow.id == task_id,
            TaskRow.state == TaskRowState.OPEN,
            or_(TaskRow.claimed_by.is_(None), TaskRow.claimed_by == actor),
        )
        .values(claimed_by=actor, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        session.refresh(row)
        if row.state != TaskRowState.OPEN:
            raise Conflict("Tugas ini sudah tidak terbuka.")
        raise Conflict(f"Tugas ini sudah diambil oleh {row.claimed_by}.")
    session.refresh(row)
    record(session, row.instance, "claimed", actor=actor, at=now, task_id=task_id, step=row.step, lane=row.lane)
    flush(session)
    return row


def unclaim(session: Session, task_id: str, actor: str, force: bool = False) -> TaskRow:
    """Release a claimed task (its claimant, or a supervisor with ``force``)."""
    row = get_task(session, task_id)
    if row.state != TaskRowState.OPEN:
        raise Conflict("Tugas ini sudah tidak terbuka.")
    if row.claimed_by is None:
        return row
    if row.claimed_by != actor and not force:
        raise Conflict(f"Tugas ini diambil oleh {row.claimed_by}; hanya dia yang dapat melepasnya.")
    result = session.execute(
        update(TaskRow)
        .where(TaskRow.id == task_id, TaskRow.claimed_by == row.claimed_by)
        .values(claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        raise Conflict("Tugas ini baru saja diubah; muat ulang dan coba lagi.")
    session.refresh(row)
    record(
        session, row.instance, "unclaimed", actor=actor, at=clock.now(), task_id=task_id, step=row.step, lane=row.lane
    )
    flush(session)
    return row


def fire_timer(session: Session, timer: Timer) -> None:
    """Fire one due timer: mark it fired in the workflow and advance (runs the escalation path)."""
    with conflicts_as_409():
        _fire_timer(session, timer)


def _fire_timer(session: Session, timer: Timer) -> None:
    now = clock.now()
    if timer.kind == TimerKind.REPEAT:
        # normally done set-based by the sweep's record phase; here one at a time (its fallback)
        batch = get_batch_handler(timer.handler or "")
        if batch is not None:
            try:
                batch(session, [DueTimer.of(timer)], now)
            except SQLAlchemyError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failing handler fails the step, as in a workflow
                raise StepFailed.of("Eskalasi gagal dijalankan", exc) from None
        timer.state, timer.fired_at = (TimerState.FIRED, now) if batch is not None else (TimerState.CANCELLED, None)
        flush(session)
        return
    loaded = load(session, session.get_one(Instance, timer.instance_id), "system")
    task = loaded.workflow.get_task_from_id(UUID(timer.id))
    if task is None or task.state != TaskState.WAITING:
        # the workflow moved on first; an escalation the sweep already recorded stands
        timer.state = TimerState.FIRED if timer.state == TimerState.RECORDED else TimerState.CANCELLED
        flush(session)
        return
    task._set_internal_data(event_fired=True)
    loaded.workflow.refresh_timers()
    advance(loaded)


def move_to_version(session: Session, instance: Instance, number: int, actor: str) -> None:
    """Put ``instance`` on version ``number`` of its process, when that version has the same elements
    (its changes are in expressions and properties only: a fixed condition), so that the state loads
    onto it as it is. Anything else is a migration of running applications, refused here (``Conflict``)."""
    old = instance.process_version
    new = get_version(session, old.process_key, number)
    if new.id == old.id:
        return
    before, after = definition_of(old), definition_of(new)
    if _element_ids(before) != _element_ids(after):
        raise Conflict(
            f"Versi {new.version} mengubah susunan diagram; pindahkan permohonan ini dengan migrasi, bukan dengan "
            "mengulang insiden."
        )
    instance.process_version = new
    record(session, instance, "version_changed", actor=actor, at=clock.now(), version=new.version, previous=old.version)
    flush(session)


def _element_ids(definition: Definition) -> set[tuple[str, str, str]]:
    specs = [definition.spec, *definition.subprocess_specs.values()]
    return {(spec.name, name, type(task).__name__) for spec in specs for name, task in spec.task_specs.items()}


def open_tasks_of(session: Session, instance_id: int) -> list[TaskRow]:
    return list(
        session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == TaskRowState.OPEN))
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
