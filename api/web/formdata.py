"""Pages' forms: the fields to draw, from a built-in form's JSON Schema (``forms.form_json_schema``) or from
a form deployed with the version (``owner_forms``, drawn by its components' own types and labels); the
posted values back into the JSON the form validates; and the messages per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

import forms
from engine.models import ProcessVersion
from engine.workflow import definitions
from engine.workflow.owner_forms import OwnerForm

LONG_TEXT = 200  # strings allowed to be longer than this get a textarea


@dataclass
class Field:
    name: str  # dotted path: "decision", "child.name"
    title: str
    # radio | select | text | textarea | checkbox | checklist | date | email | group; an owner's form also
    # number | time | datetime, and the display-only note (a text) and separator
    kind: str
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    max_length: int | None = None
    pattern: str | None = None
    children: list[Field] = field(default_factory=list)
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: str | None = None  # a number's step ("1", "0.01", "any")


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


# form-js component type -> the kind of input the page draws (a datetime: its subtype date | time | datetime)
_OWNER_KINDS = {
    "textfield": "text",
    "textarea": "textarea",
    "number": "number",
    "select": "select",
    "radio": "radio",
    "checkbox": "checkbox",
    "checklist": "checklist",
    "text": "note",
    "separator": "separator",
    "spacer": "separator",
}


def owner_fields(form: OwnerForm) -> list[Field]:
    """The fields of a form deployed with the version, in its order, with its own labels."""
    out = []
    title = form.json_schema()["title"]
    for c in form.components:
        kind = c.subtype if c.type == "datetime" else _OWNER_KINDS[c.type]
        if kind == "note":
            text = " ".join(line.strip().lstrip("#").strip() for line in c.text.splitlines()).strip()
            if text and text != title:  # the heading is the page's already
                out.append(Field("", text, kind))
            continue
        out.append(
            Field(
                c.key,
                c.label or c.text,
                kind,
                c.required,
                [(o.value, o.label) for o in c.options],
                c.max_length,
                None,  # a form-js pattern is the server's to check (JavaScript's and HTML's syntax differ)
                description=c.description,
                minimum=c.minimum,
                maximum=c.maximum,
                step=_step(c.decimal_digits) if c.type == "number" else None,
            )
        )
    return out


def _step(digits: int | None) -> str:
    """A number input's step for a number of decimal digits (any without a limit)."""
    if digits is None:
        return "any"
    return "1" if digits == 0 else "0." + "0" * (digits - 1) + "1"


def from_owner_form(form: OwnerForm, posted: MultiDict) -> dict[str, Any]:
    """The posted values as the JSON a form deployed with the version checks: a checkbox true when ticked,
    a checklist the ticked values, every other input its text (empty ones left out; a number's text is
    the form's to read)."""
    data: dict[str, Any] = {}
    for f in form.fields:
        if f.type == "checkbox":
            data[f.key] = posted.get(f.key) in {"on", "true", "1"}
        elif f.type == "checklist":
            data[f.key] = [v.strip() for v in posted.getlist(f.key) if v.strip()]
        else:
            value = (posted.get(f.key) or "").strip()
            if value:
                data[f.key] = value
    return data


def task_fields(version: ProcessVersion, form_key: str) -> list[Field]:
    """The fields of the form a task of ``version`` names: deployed with the version, or built in."""
    owner = definitions.owner_form(version, form_key)
    return owner_fields(owner) if owner is not None else fields_of(forms.form_json_schema(form_key))


def task_data(version: ProcessVersion, form_key: str, posted: MultiDict) -> dict[str, Any]:
    """The posted values as the JSON the form a task of ``version`` names validates."""
    owner = definitions.owner_form(version, form_key)
    if owner is not None:
        return from_owner_form(owner, posted)
    return from_form(forms.form_json_schema(form_key), posted)
