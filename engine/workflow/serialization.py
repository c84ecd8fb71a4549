"""Instance state <-> bytes, without the process spec.

SpiffWorkflow's default serialization embeds the whole diagram in every instance (about 17 KB of a
25 KB mid-process instance). Versions are immutable and cached, so we store only the instance part
and hand the cached spec back on load.

Every state carries the version of SpiffWorkflow's serialization it was written in
(``serializer_version``, the library's ``BpmnWorkflowSerializer.VERSION``), so that after a library
upgrade the stored workflows still load: an older one goes through the library's own migrations
(``SpiffWorkflow.bpmn.serializer.migration``) on load, and is written in the current format at its next
step. States of our format 1 (the stop-12 release) carry no version: SpiffWorkflow 3.2.0 wrote them,
whose version is 1.5.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.workflow.definitions import Definition
from engine.workflow.errors import EngineError

FORMAT = 2  # 1: no serializer version (SpiffWorkflow 3.2.0's, "1.5"); 2: with it
VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY
FORMAT_1_VERSION = "1.5"

# Where each of the library's migration functions leaves a state: those up to 1.2 call the next ones
# themselves as far as the 1.3 format, the later ones do one step each. A library upgrade that adds a
# migration fails tests/test_serialization.py until it is named here.
MIGRATION_REACHES = {"1.0": "1.3", "1.1": "1.3", "1.2": "1.3", "1.3": "1.4", "1.4": "1.5"}


class UnknownStateVersion(EngineError):
    """A stored workflow in a serialization this SpiffWorkflow cannot read (written by a newer one)."""

    code = "unknown_state_version"


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


def registry() -> Any:
    """The serializer's registry (SpiffWorkflow's spec comparison converts specs with it)."""
    return _serializer.registry


def dump(workflow: BpmnWorkflow) -> bytes:
    """Serialize the instance part of ``workflow`` (compressed JSON), with the serializer's version."""
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        dct = _serializer.to_dict(workflow)
        dct["format"] = FORMAT
        dct[VERSION_KEY] = _serializer.VERSION
        text = json.dumps(dct, cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False
    return zlib.compress(text.encode("utf-8"), 1)


def version_of(state: bytes) -> str:
    """The serializer version ``state`` was written in."""
    dct = json.loads(zlib.decompress(state))
    return dct.get(VERSION_KEY) or FORMAT_1_VERSION


def load(state: bytes, definition: Definition) -> BpmnWorkflow:
    """Restore a workflow from ``dump`` output and the cached definition of its version; a state in an
    older serialization is migrated first."""
    dct = json.loads(zlib.decompress(state))
    dct.pop("format", None)
    migrate(dct, definition)
    return _serializer.registry.restore(dct, spec=definition.spec, subprocess_specs=definition.subprocess_specs)


def migrate(dct: dict, definition: Definition) -> None:
    """Bring a stored state to the current serializer version with the library's migrations.

    They read (and some rewrite) the process spec, which we do not store: they get the spec of the
    definition, serialized by the current library, and it is dropped after (the cached spec is used)."""
    version = dct.pop(VERSION_KEY, None) or FORMAT_1_VERSION
    if version == _serializer.VERSION:
        return
    if version not in MIGRATIONS or version not in MIGRATION_REACHES:
        raise UnknownStateVersion(
            f"Status alur kerja tersimpan dalam format SpiffWorkflow {version}, yang tidak dikenal versi ini."
        )
    dct["spec"] = _serializer.registry.convert(definition.spec)
    dct["subprocess_specs"] = {
        name: _serializer.registry.convert(spec) for name, spec in definition.subprocess_specs.items()
    }
    try:
        while version != _serializer.VERSION:
            MIGRATIONS[version](dct)
            version = MIGRATION_REACHES[version]
    finally:
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
