"""SpiffWorkflow's timers on the engine's clock.

SpiffWorkflow decides whether a timer event has fired by comparing its deadline with
``datetime.now(timezone.utc)`` in its timer module. :func:`install` gives that module a ``datetime`` whose
``now`` is :data:`engine.workflow.clock.clock`: real time in production (nothing changes there), and in
tests the same frozen or advanced time the engine's own sweeps use, so a workflow never fires a timer
because the real calendar moved past a scripted date.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module

from engine.workflow.clock import clock


class EngineDatetime(datetime):
    """``datetime`` with ``now`` read from the engine's clock (the rest is ``datetime``'s own)."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> EngineDatetime:
        current = clock.now()
        local = current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)
        return cls.combine(local.date(), local.timetz())


def install() -> None:
    timer_module.datetime = EngineDatetime
