"""Service-task handlers: the diagram names a handler, ``tasks/`` registers it here.

A handler receives a ``ServiceContext`` (the database session, the instance, the time) and the service
task's evaluated parameters. It runs inside the step's transaction: whatever it writes (an outbox row, an
event) commits with the workflow state or not at all.

A handler may also have a *batch* form (``handler(name, batch=func)``): ``func(session, due, now)`` does
the same work for many due timers at once with set-based statements. The timer sweep uses it for the
service task a boundary timer leads to, at the timer's deadline, before the workflow itself catches up
(``engine.workflow.timers``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.workflow.models import Instance

Handler = Callable[..., "dict[str, Any] | None"]
BatchHandler = Callable[["Session", "list[DueTimer]", datetime], int]  # returns how many it escalated

_HANDLERS: dict[str, Handler] = {}
_BATCH_HANDLERS: dict[str, BatchHandler] = {}


@dataclass
class ServiceContext:
    session: Session
    instance: Instance
    now: datetime
    actor: str
    task_id: str = ""
    step: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DueTimer:
    """A timer whose deadline has passed, as a batch handler sees it (a ``timers`` row, read-only)."""

    id: str
    instance_id: int
    due_at: datetime
    params: dict[str, Any]

    @classmethod
    def of(cls, timer: Any) -> DueTimer:
        """From a ``Timer`` or a row of its columns."""
        return cls(timer.id, timer.instance_id, timer.due_at, timer.params or {})


def handler(name: str, batch: BatchHandler | None = None) -> Callable[[Handler], Handler]:
    """Register ``func`` as the handler for service tasks whose operator id is ``name`` (and ``batch`` as
    its form for many due timers at once)."""

    def register(func: Handler) -> Handler:
        _HANDLERS[name] = func
        if batch is not None:
            _BATCH_HANDLERS[name] = batch
        return func

    return register


def get_handler(name: str) -> Handler | None:
    return _HANDLERS.get(name)


def get_batch_handler(name: str) -> BatchHandler | None:
    return _BATCH_HANDLERS.get(name)


def handler_names() -> frozenset[str]:
    return frozenset(_HANDLERS)


def batch_handler_names() -> frozenset[str]:
    return frozenset(_BATCH_HANDLERS)
