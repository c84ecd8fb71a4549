"""Stored workflows carry SpiffWorkflow's serializer version (issue 16): a state is written with it, a
state of the release (no version) and a state in an older library format load, the older one through
the library's own migrations."""

from __future__ import annotations

import json
import zlib
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from api.extensions import db
from engine.models import Instance
from engine.workflow import serialization

from .helpers import submit

# a sequential multi-instance step: the 1.3 -> 1.4 migration changes how such a task is stored
MULTI_INSTANCE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="checks" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check_document" name="Periksa dokumen">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check_document"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check_document" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _decoded(state: bytes) -> dict:
    return json.loads(zlib.decompress(state))


def _encoded(dct: dict) -> bytes:
    return zlib.compress(json.dumps(dct).encode("utf-8"))


def _multi_instance() -> tuple[SimpleNamespace, BpmnWorkflow]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(MULTI_INSTANCE)
    definition = SimpleNamespace(spec=parser.get_spec("checks"), subprocess_specs=parser.get_subprocess_specs("checks"))
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs)
    workflow.do_engine_steps()
    return definition, workflow


def _state_of(workflow: BpmnWorkflow, name: str) -> TaskState:
    [task] = [t for t in workflow.get_tasks() if t.task_spec.name == name]
    return task.state


def test_every_stored_state_carries_the_serializer_version(client: FlaskClient, app: Flask) -> None:
    code = submit(client).get_json()["code"]
    with app.app_context():
        state = db.session.scalar(select(Instance.state).where(Instance.business_key == code))
    dct = _decoded(state)
    assert (dct["format"], dct[BpmnWorkflowSerializer.VERSION_KEY]) == (2, VERSION)
    assert serialization.version_of(state) == VERSION


def test_a_release_state_without_a_version_loads_as_the_release_library_wrote_it() -> None:
    """The stop-12 release wrote format 1 without a version, with SpiffWorkflow 3.2.0 (serializer 1.5)."""
    definition, workflow = _multi_instance()
    release = _decoded(serialization.dump(workflow))
    release.pop(BpmnWorkflowSerializer.VERSION_KEY)
    release["format"] = 1
    state = _encoded(release)
    assert serialization.version_of(state) == serialization.FORMAT_1_VERSION == "1.5"
    loaded = serialization.load(state, definition)
    assert _state_of(loaded, "check_document") == TaskState.STARTED
    assert serialization.version_of(serialization.dump(loaded)) == VERSION


def test_a_state_in_an_older_library_format_is_migrated_on_load() -> None:
    """A hand-made 1.3 state: until 1.4 a reached multi-instance task was stored WAITING (it polled its
    children); the library's 1.3 -> 1.4 migration makes it STARTED. Without the migration the workflow
    would not merge its children."""
    definition, workflow = _multi_instance()
    old = _decoded(serialization.dump(workflow))
    [parent] = [t for t in old["tasks"].values() if t["task_spec"] == "check_document"]
    assert parent["state"] == TaskState.STARTED
    parent["state"] = TaskState.WAITING
    old[BpmnWorkflowSerializer.VERSION_KEY] = "1.3"
    loaded = serialization.load(_encoded(old), definition)
    assert _state_of(loaded, "check_document") == TaskState.STARTED
    for _ in range(2):  # both documents checked: the workflow runs to its end
        [ready] = loaded.get_tasks(state=TaskState.READY, manual=True)
        ready.run()
        loaded.do_engine_steps()
    assert loaded.is_completed()
    assert serialization.version_of(serialization.dump(loaded)) == VERSION


def test_a_state_from_a_newer_library_is_refused_clearly() -> None:
    definition, workflow = _multi_instance()
    newer = _decoded(serialization.dump(workflow))
    newer[BpmnWorkflowSerializer.VERSION_KEY] = "9.0"
    with pytest.raises(serialization.UnknownStateVersion, match="9.0"):
        serialization.load(_encoded(newer), definition)


def test_every_library_migration_is_chained_to_the_current_version() -> None:
    """After a SpiffWorkflow upgrade that adds a migration, this fails until MIGRATION_REACHES names it."""
    assert set(serialization.MIGRATION_REACHES) == set(MIGRATIONS)
    for version in MIGRATIONS:
        steps = 0
        while version != VERSION:
            version = serialization.MIGRATION_REACHES[version]
            steps += 1
            assert steps <= len(MIGRATIONS)
