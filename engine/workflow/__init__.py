"""The BPMN runtime, knowing nothing of KIA: definitions, instances, projections, timers, working time."""

from engine.workflow import spiff_clock

spiff_clock.install()  # SpiffWorkflow's timers compare with the engine's clock, not the system's
