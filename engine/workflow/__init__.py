"""The BPMN runtime, knowing nothing of KIA: definitions, instances, projections, timers, working time."""
