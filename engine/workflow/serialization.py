"""Instance state <-> bytes, without the process spec.

SpiffWorkflow's default serialization embeds the whole diagram in every instance (about 17 KB of a
25 KB mid-process instance). Versions are immutable and cached, so we store only the instance part
and hand the cached spec back on load.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.workflow.definitions import Definition

FORMAT = 1


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, spec: Any = None, subprocess_specs: dict | None = None) -> BpmnWorkflow:
        dct = dict(dct, spec=None, subprocess_specs={})
        workflow = BpmnWorkflow(spec, subprocess_specs or {}, deserializing=True)
        from uuid import UUID

        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dump(workflow: BpmnWorkflow) -> bytes:
    """Serialize the instance part of ``workflow`` (compressed JSON)."""
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        dct = _serializer.to_dict(workflow)
        dct["format"] = FORMAT
        text = json.dumps(dct, cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False
    return zlib.compress(text.encode("utf-8"), 1)


def load(state: bytes, definition: Definition) -> BpmnWorkflow:
    """Restore a workflow from ``dump`` output and the cached definition of its version."""
    dct = json.loads(zlib.decompress(state))
    dct.pop("format", None)
    return _serializer.registry.restore(dct, spec=definition.spec, subprocess_specs=definition.subprocess_specs)
