"""Service-task handlers: the diagram names a handler, ``tasks/`` registers it here.

A handler receives a ``ServiceContext`` (the database session, the instance, the time) and the service
task's evaluated parameters. It runs inside the step's transaction: whatever it writes (an outbox row, an
event) commits with the workflow state or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import Instance

Handler = Callable[..., "dict[str, Any] | None"]

_HANDLERS: dict[str, Handler] = {}


@dataclass
class ServiceContext:
    session: Session
    instance: Instance
    now: datetime
    actor: str
    task_id: str = ""
    step: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register ``func`` as the handler for service tasks whose operator id is ``name``."""

    def register(func: Handler) -> Handler:
        _HANDLERS[name] = func
        return func

    return register


def get_handler(name: str) -> Handler | None:
    return _HANDLERS.get(name)


def handler_names() -> frozenset[str]:
    return frozenset(_HANDLERS)
