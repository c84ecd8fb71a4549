"""Typed errors of the engine. The API maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class. ``message`` is shown to officers, so it is in Bahasa Indonesia."""

    code = "engine_error"
    fields: dict  # field paths to messages, on the errors that have them (InvalidData; a named bulk failure)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The state changed under the caller (a second completion, a lost race, a task no longer open)."""

    code = "conflict"


class Forbidden(EngineError):
    code = "forbidden"


class InvalidData(EngineError):
    """Form data that does not validate; ``fields`` maps field paths to messages."""

    code = "invalid_data"

    def __init__(self, message: str, fields: dict) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class Problem:
    """One lint finding, naming the offending element."""

    element_id: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"element_id": self.element_id, "message": self.message}


class DiagramRejected(EngineError):
    """An uploaded diagram failed to parse or lint; nothing was deployed."""

    code = "diagram_rejected"

    def __init__(self, problems: list[Problem]) -> None:
        summary = "; ".join(f"{p.element_id}: {p.message}" for p in problems[:5])
        super().__init__(f"Diagram ditolak: {summary}")
        self.problems = problems
