"""What the runtime needs to know of the domain that runs on it, given to it rather than hard-coded.

The runtime knows nothing of KIA: the domain (``engine.kia.process``) hands it a ``WorkflowConfig`` when
it is imported, and the runtime reads it here. Without one the runtime is generic: any lane id (a role
name) is accepted, a completion records no form fields, and an instance starts with the status ``"new"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkflowConfig:
    # the lane ids a diagram may use (each the role that works it); None: any lane id (a role name)
    lane_roles: frozenset[str] | None = None
    # roles of the domain that are no lane: a lane may not take their id
    reserved_roles: frozenset[str] = frozenset()
    # the form fields a completion copies onto its "completed" event (the control card shows them)
    completion_fields: tuple[str, ...] = ()
    # an instance's status before its first milestone
    initial_status: str = "new"
    # the words a staff search compares with for an instance's open tasks, lowercased (``tasks.search_text``;
    # the domain keeps open rows up to date when they change): called with the instance when its tasks
    # open; None: tasks carry no words
    search_text: Callable[[Any], str | None] | None = None


GENERIC = WorkflowConfig()
_current = GENERIC


def configure(config: WorkflowConfig) -> WorkflowConfig:
    """Make ``config`` the runtime's configuration (the domain calls this once, at import)."""
    global _current
    _current = config
    return config


def current() -> WorkflowConfig:
    return _current
