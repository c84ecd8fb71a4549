"""The SpiffWorkflow script engine used for every workflow: restricted expressions, no scripts, and
service tasks dispatched to registered handlers. It is re-attached after every load, because
SpiffWorkflow does not serialize it."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import WorkflowException

from engine.workflow import expressions, worktime
from engine.workflow.services import ServiceContext, get_handler


class ScriptsForbidden(WorkflowException):
    pass


class RestrictedScriptEngine(PythonScriptEngine):
    """Expressions through the restricted evaluator (``expressions``), scripts refused. What a decision
    table is evaluated with, inside a workflow and on its own (``decisions.evaluate``)."""

    def validate(self, expression: str) -> None:
        expressions.parse_expression(expression)  # ExpressionSyntaxError is a SyntaxError, as spiff expects

    def functions(self, task: Any) -> dict[str, Any]:
        """The engine functions an expression of ``task`` may call besides ``SAFE_FUNCTIONS``."""
        return {}

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        data = dict(task.data)
        if external_context:
            data.update(external_context)
        try:
            return expressions.evaluate(expression, data, self.functions(task))
        except expressions.ExpressionError as exc:  # names the element (task) that failed
            raise WorkflowTaskException(f"expression {expression!r} failed: {exc}", task=task) from None

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> Any:
        raise ScriptsForbidden("scripts are not allowed in this service")


class SandboxScriptEngine(RestrictedScriptEngine):
    def __init__(self, context: ServiceContext) -> None:
        super().__init__()
        self.context = context

    def functions(self, task: Any) -> dict[str, Any]:
        return {"deadline": lambda: self._deadline(task)}

    def call_service(self, task: Any, operation_name: str, operation_params: dict, **kwargs: Any) -> str:
        func = get_handler(operation_name)
        if func is None:
            raise WorkflowException(f"no handler for service task operator {operation_name!r}")
        params = {name: spec["value"] for name, spec in operation_params.items()}
        self.context.task_id = str(task.id)
        self.context.step = task.task_spec.bpmn_id
        result = func(self.context, **params)
        return json.dumps(result or {})

    def _deadline(self, timer_task: Any) -> str:
        """The deadline of the user task a boundary timer is attached to, as an ISO UTC string."""
        attached = attached_user_task(timer_task)
        if attached is None:
            raise WorkflowException("deadline() is only valid on a timer attached to a user task")
        props = attached.task_spec.extensions.get("properties", {})
        due = worktime.deadline_for(
            self.context.now, props.get("time_standard", ""), props.get("time_basis", "working")
        )
        return due.isoformat()


def attached_user_task(boundary_task: Any) -> Any | None:
    """The user task a boundary event task sits on (its sibling under the BoundaryEventSplit)."""
    parent = boundary_task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        if isinstance(sibling.task_spec, UserTask):
            return sibling
    return None
