"""Pages' forms from a form's JSON Schema (``forms.form_json_schema``): the fields to draw, the posted
values back into the nested JSON the form validates, and marshmallow's messages per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

LONG_TEXT = 200  # strings allowed to be longer than this get a textarea


@dataclass
class Field:
    name: str  # dotted path: "decision", "child.name"
    title: str
    kind: str  # radio | select | text | textarea | checkbox | checklist | date | email | group
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    max_length: int | None = None
    pattern: str | None = None
    children: list[Field] = field(default_factory=list)


def _kind(spec: dict[str, Any]) -> str:
    if spec.get("type") == "object":
        return "group"
    if spec.get("type") == "array":
        return "checklist"  # several of the items' choices
    if "oneOf" in spec or "enum" in spec:
        return "radio" if len(spec.get("oneOf") or spec.get("enum")) <= 3 else "select"
    if spec.get("type") == "boolean":
        return "checkbox"
    if spec.get("format") in {"date", "email"}:
        return spec["format"]
    return "textarea" if (spec.get("maxLength") or 0) > LONG_TEXT else "text"


def fields_of(schema: dict[str, Any], prefix: str = "") -> list[Field]:
    required = set(schema.get("required", []))
    out = []
    for name, spec in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        kind = _kind(spec)
        choices = spec.get("items", {}) if kind == "checklist" else spec
        options = [(o["const"], o.get("title", o["const"])) for o in choices.get("oneOf", [])] or [
            (v, v) for v in choices.get("enum", [])
        ]
        out.append(
            Field(
                path,
                spec.get("title", name),
                kind,
                name in required,
                options,
                spec.get("maxLength"),
                spec.get("pattern"),
                fields_of(spec, f"{path}.") if kind == "group" else [],
            )
        )
    return out


def from_form(schema: dict[str, Any], form: MultiDict, prefix: str = "") -> dict[str, Any]:
    """The posted values as the form's JSON; empty inputs are left out (optional fields stay unset)."""
    data: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if spec.get("type") == "object":
            nested = from_form(spec, form, f"{path}.")
            if nested:
                data[name] = nested
        elif spec.get("type") == "array":
            chosen = [v.strip() for v in form.getlist(path) if v.strip()]
            if chosen:
                data[name] = chosen
        elif spec.get("type") == "boolean":
            if path in form:
                data[name] = form.get(path) in {"on", "true", "1"}
        else:
            value = (form.get(path) or "").strip()
            if value:
                data[name] = value
    return data


def flat_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"child.name": [...]}``; ``_schema`` goes to ``""``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = prefix if key == "_schema" else f"{prefix}{key}"
            for sub, texts in flat_errors(value, f"{path}." if isinstance(value, dict) else path).items():
                out.setdefault(sub.rstrip("."), []).extend(texts)
    elif isinstance(messages, list):
        out[prefix] = [str(m) for m in messages]
    else:
        out[prefix] = [str(messages)]
    return out


def posted(form: MultiDict) -> dict[str, Any]:
    """The posted values to draw a refused form again: one text per input, a list where several were
    sent (a checklist)."""
    return {key: values if len(values) > 1 else values[0] for key, values in form.lists() if values}
