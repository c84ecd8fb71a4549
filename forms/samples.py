"""What the process tools need to know about each form: its choice fields' allowed values, and sample data
it accepts (one sample per value of its decision), both derived from the form's JSON Schema.

The lint checks a decision gateway's branches against ``form_choices()``; the dry run completes each user
task with ``sample_data(key)``, one run per sample. Every sample is checked by the form itself
(``load_form``). A field's ``examples`` in the schema give a value no schema can describe (a valid NIK).
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from forms.schemas import FORMS, FormValidationError, form_json_schema, load_form

MAX_SAMPLES_PER_FORM = 16
DECISION = "decision"  # the field the diagram's gateways branch on: a sample per value
_TEXT = "Contoh"


def choice_values(key: str) -> dict[str, tuple[str, ...]]:
    """The form's top-level fields that take one of a fixed set of text values, with those values."""
    properties = form_json_schema(key).get("properties", {})
    return {
        name: tuple(str(v) for v in prop["enum"])
        for name, prop in properties.items()
        if prop.get("type") == "string" and prop.get("enum")
    }


def form_choices() -> dict[str, dict[str, tuple[str, ...]]]:
    """Every form key with its choice fields and their allowed values (the lint's ``FormChoices``)."""
    return {key: choice_values(key) for key in FORMS}


@cache
def _samples(key: str) -> tuple[dict[str, Any], ...]:
    """One sample per value of the form's decision (another choice field, such as the hand-over's
    relationship, takes its first value: every value of it would only multiply the dry run's paths)."""
    schema = form_json_schema(key)
    choices = {name: values for name, values in choice_values(key).items() if name == DECISION}
    samples = []
    for combination in itertools.islice(itertools.product(*choices.values()), MAX_SAMPLES_PER_FORM):
        sample = _accepted(key, schema, dict(zip(choices, combination, strict=True)))
        if sample is not None:
            samples.append(sample)
    return tuple(samples)


def sample_data(key: str) -> list[dict[str, Any]]:
    """Data form ``key`` accepts, cleaned as a completion stores it: one per value of its decision.

    Empty when no sample could be made (the form needs data a schema cannot describe, e.g. a valid NIK)."""
    return [dict(s) for s in _samples(key)]


def form_samples() -> dict[str, list[dict[str, Any]]]:
    """Every form key with its samples (what the dry run completes each user task with)."""
    return {key: sample_data(key) for key in FORMS}


def _accepted(key: str, schema: dict, fixed: dict[str, str]) -> dict[str, Any] | None:
    """Required fields filled from the schema; an optional field the form then asks for (a note required
    when the decision sends the file back) is filled too. None when the form still refuses."""
    properties = schema.get("properties", {})
    data = {name: _value(properties[name]) for name in schema.get("required", []) if name in properties}
    data.update(fixed)
    for _ in range(3):
        try:
            return load_form(key, data)
        except FormValidationError as error:
            missing = [name for name in error.fields if name in properties and name not in data]
            if not missing:
                return None
            data.update({name: _value(properties[name]) for name in missing})
    return None


def _value(prop: dict) -> Any:
    """A value the JSON Schema ``prop`` allows (its first example, the first choice, a short text within
    its length)."""
    if prop.get("examples"):
        return prop["examples"][0]
    if "enum" in prop:
        return prop["enum"][0]
    if "const" in prop:
        return prop["const"]
    kind = prop.get("type")
    if kind == "boolean":
        return True
    if kind in {"integer", "number"}:
        return prop.get("minimum", 1)
    if kind == "array":
        return []
    if kind == "object":
        inner = prop.get("properties", {})
        return {name: _value(inner[name]) for name in prop.get("required", []) if name in inner}
    if prop.get("format") == "date":
        return "2020-01-01"
    if prop.get("format") == "email":
        return "contoh@example.org"
    return _TEXT[: prop.get("maxLength", len(_TEXT))]
