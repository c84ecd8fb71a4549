"""Owner-designed forms: form-js JSON documents deployed with a diagram (``version_files``), read into an
``OwnerForm`` that the server itself validates a completion against, describes as JSON Schema and fills
with sample data for the dry run.

A form-js document is ``{"id", "type": "default", "components": [...]}``; each data component has a
``key`` (the variable its value goes to), a ``type`` and optionally ``label``, ``description``,
``validate`` (``required``, ``minLength``, ``maxLength``, ``pattern`` with its ``patternErrorMessage``,
``validationType`` email or phone, ``min``, ``max``) and, for choices, static ``values``
``[{"label", "value"}]``. The data types the server checks are those of ``DATA_TYPES``; ``text``,
``separator`` and ``spacer`` only show something. Anything else (FEEL expressions, conditions, dynamic
options, nested groups, file pickers...) cannot be checked by the server, so ``problems`` refuses it with
a message naming the component, and the lint refuses the form.

Messages to officers are in Bahasa Indonesia, like the built-in forms' (``forms.fields``). No KIA domain
here: this is the runtime's, as the forms a diagram carries are.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DATA_TYPES = ("textfield", "textarea", "number", "select", "radio", "checkbox", "checklist", "datetime")
DISPLAY_TYPES = ("text", "separator", "spacer")
DATETIME_SUBTYPES = ("date", "time", "datetime")
TEXT_LIMITS = {"textfield": 255, "textarea": 2000}  # when the form sets no maxLength
MAX_TEXT_LENGTH = 10_000  # the largest maxLength a form may set
MAX_COMPONENTS = 100
MAX_OPTIONS = 200
MAX_PATTERN_LENGTH = 200
MAX_SAMPLES = 16
MAX_UNKNOWN_REPORTED = 20  # unknown fields named in one refusal
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,49}")
TIMEZONE = ZoneInfo("Asia/Jakarta")  # "today" for a date that may not lie in the past
# properties a data component may carry that the server either checks or that change nothing it checks
# (layout, appearance, the editor's own bookkeeping)
KNOWN_PROPERTIES = frozenset(
    {
        "id",
        "key",
        "type",
        "label",
        "description",
        "validate",
        "values",
        "defaultValue",
        "layout",
        "appearance",
        "subtype",
        "dateLabel",
        "timeLabel",
        "use24h",
        "timeInterval",
        "timeSerializingFormat",
        "disallowPassedDates",
        "decimalDigits",
        "increment",
        "serializeToString",
        "searchable",
        "text",
        "height",
        "properties",
        "readonly",
        "disabled",
    }
)
RULES_OF = {
    "textfield": {"required", "minLength", "maxLength", "pattern", "patternErrorMessage", "validationType"},
    "textarea": {"required", "minLength", "maxLength", "pattern", "patternErrorMessage"},
    "number": {"required", "min", "max"},
    "select": {"required"},
    "radio": {"required"},
    "checkbox": {"required"},
    "checklist": {"required"},
    "datetime": {"required"},
}
# a group with a quantifier, itself repeated: (a+)+, (\w*)*, (x{2,})+ ... can take exponential time
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")  # E.164 without spaces, as form-js's phone pattern asks
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?"
_TIME_VALUE = re.compile(_TIME + _ZONE)
_DATETIME_VALUE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T" + _TIME + _ZONE)

REQUIRED = "Wajib diisi."
REQUIRED_CHECKBOX = "Wajib dicentang."
NOT_TEXT = "Bukan teks yang sah."
CONTROL = "Mengandung karakter yang tidak diizinkan."
NOT_NUMBER = "Bukan angka yang sah."
NOT_BOOLEAN = "Harus bernilai true atau false."
NOT_LIST = "Bukan daftar yang sah."
BAD_FORMAT = "Format tidak sah."
BAD_EMAIL = "Alamat e-mail tidak sah."
BAD_PHONE = "Nomor telepon tidak sah: tulis dengan kode negara tanpa spasi, mis. +6281234567890."
BAD_DATE = "Format tanggal tidak sah (gunakan YYYY-MM-DD)."
NOT_A_DAY = "Tanggal tersebut tidak ada dalam kalender."
PAST_DATE = "Tanggal tidak boleh sebelum hari ini."
BAD_TIME = "Format waktu tidak sah (gunakan JJ:MM, mis. 08:30)."
BAD_DATETIME = "Format tanggal dan waktu tidak sah (gunakan YYYY-MM-DDTJJ:MM, mis. 2027-01-31T08:30)."
UNKNOWN_FIELD = "Kolom tidak dikenal."
NOT_AN_OBJECT = "Data formulir harus berupa objek JSON."
INVALID = "Data formulir tidak sah."
SAMPLE_TEXTS = ("Contoh", "contoh", "CONTOH", "1", "123", "A1", "contoh@example.org", "0812345678")


class FormInvalid(ValueError):
    """A form-js document the server cannot use; ``problems`` are Indonesian, one per finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One component of a form: a data field (``key`` set) or a display-only one (text, separator)."""

    type: str
    key: str = ""
    label: str = ""
    description: str = ""
    text: str = ""  # a text component's content (shown as plain text)
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str = ""  # the form's own message when the pattern does not match
    validation_type: str = ""  # email | phone
    minimum: float | None = None
    maximum: float | None = None
    decimal_digits: int | None = None
    options: tuple[Option, ...] = ()
    subtype: str = ""  # datetime: date | time | datetime
    not_before_today: bool = False
    default: Any = None

    @property
    def is_data(self) -> bool:
        return self.type in DATA_TYPES

    @property
    def is_choice(self) -> bool:
        return self.type in {"select", "radio"}


@dataclass(frozen=True)
class OwnerForm:
    """A form-js document the server can check, in its components' order."""

    id: str
    title: str
    components: tuple[Field, ...] = field(default_factory=tuple)
    document: Mapping[str, Any] = field(default_factory=dict, compare=False)  # as deployed

    @property
    def fields(self) -> tuple[Field, ...]:
        """The data fields (those a completion carries)."""
        return tuple(c for c in self.components if c.is_data)

    def choices(self) -> dict[str, tuple[str, ...]]:
        """The fields that take one of a fixed set of values (select, radio), with those values: what a
        gateway after the form may branch on (the lint's ``FormChoices``)."""
        return {f.key: tuple(o.value for o in f.options) for f in self.fields if f.is_choice}

    def validate(self, raw: Any) -> dict[str, Any]:
        """The completion ``raw`` checked against the form; raises ``InvalidData`` with the messages per
        field (422). Returns every field of the form with its cleaned value (an optional field left
        empty: "" for a text, False for a checkbox, [] for a checklist, None otherwise), so that the
        diagram's conditions may read any of them."""
        if not isinstance(raw, Mapping):
            raise InvalidData(INVALID, {"_schema": [NOT_AN_OBJECT]})
        errors: dict[str, list[str]] = {}
        known = {f.key for f in self.fields}
        for key in itertools.islice((k for k in raw if k not in known), MAX_UNKNOWN_REPORTED):
            errors[str(key)[:100]] = [UNKNOWN_FIELD]
        cleaned: dict[str, Any] = {}
        for f in self.fields:
            try:
                cleaned[f.key] = _clean(f, raw.get(f.key))
            except _Refused as refused:
                errors[f.key] = [refused.message]
        if errors:
            raise InvalidData(INVALID, errors)
        return cleaned

    def json_schema(self, title: str = "") -> dict[str, Any]:
        """The form as JSON Schema (draft 2020-12): what a client may send (``validate`` decides). Its title
        is the form's heading (its first text), else ``title`` (e.g. the step's name), else its id."""
        properties = {f.key: _schema_of(f) for f in self.fields}
        schema: dict[str, Any] = {
            "$schema": DIALECT,
            "title": self.title or title or self.id,
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        required = [f.key for f in self.fields if f.required]
        if required:
            schema["required"] = required
        return schema

    def samples(self, branching: Collection[str] = ()) -> list[dict[str, Any]]:
        """Data the form accepts, as a completion stores it: one per combination of the values of the
        choice fields named in ``branching`` (the variables the diagram's conditions read), the other
        fields with a first valid value. Empty when no valid data could be made (a required text whose
        pattern none of the sample texts matches, and no default value that does)."""
        branched = [f for f in self.fields if f.is_choice and f.key in branching]
        base: dict[str, Any] = {}
        for f in self.fields:
            if f in branched:
                continue
            value = _sample_value(f)
            if value is _NO_SAMPLE:
                return []
            if value is not _OMIT:
                base[f.key] = value
        combos = itertools.product(*[[o.value for o in f.options] for f in branched])
        out = []
        for combo in itertools.islice(combos, MAX_SAMPLES):
            data = {**base, **dict(zip([f.key for f in branched], combo, strict=True))}
            try:
                out.append(self.validate(data))
            except InvalidData:
                continue
        return out


def parse(document: Any) -> OwnerForm:
    """Read a form-js document; raises ``FormInvalid`` naming everything the server cannot check."""
    problems: list[str] = []
    if not isinstance(document, Mapping):
        raise FormInvalid(["harus berupa objek JSON formulir form-js"])
    form_id = document.get("id")
    if not isinstance(form_id, str) or not form_id:
        problems.append("id formulir wajib diisi")
        form_id = ""
    if document.get("type", "default") != "default":
        problems.append(f"jenis formulir '{_short(document.get('type'))}' tidak didukung (hanya 'default')")
    components = document.get("components")
    if not isinstance(components, list):
        raise FormInvalid([*problems, "formulir harus punya daftar komponen (components)"])
    if len(components) > MAX_COMPONENTS:
        raise FormInvalid([*problems, f"paling banyak {MAX_COMPONENTS} komponen per formulir"])
    parsed: list[Field] = []
    keys: set[str] = set()
    for number, component in enumerate(components, start=1):
        found, component_problems = _component(component, number)
        problems += component_problems
        if found is None:
            continue
        if found.key:
            if found.key in keys:
                problems.append(f"kunci '{found.key}' dipakai oleh lebih dari satu komponen")
            keys.add(found.key)
        parsed.append(found)
    if not any(f.is_data for f in parsed) and not problems:
        problems.append("formulir tidak punya satu pun kolom isian")
    if problems:
        raise FormInvalid(problems)
    return OwnerForm(form_id, _title(parsed), tuple(parsed), document)


def problems(document: Any) -> list[str]:
    """What the server cannot check in ``document`` (empty: the form is usable)."""
    try:
        parse(document)
    except FormInvalid as invalid:
        return invalid.problems
    return []


def read_all(documents: Mapping[str, Any]) -> dict[str, OwnerForm]:
    """The usable forms among ``documents`` (form id -> form-js JSON), by id; the unusable ones left out
    (the lint refuses them at deploy, so a stored version only has usable ones)."""
    out = {}
    for form_id, document in documents.items():
        try:
            out[form_id] = parse(document)
        except FormInvalid:
            continue
    return out


# Reading the components.


def _component(component: Any, number: int) -> tuple[Field | None, list[str]]:
    if not isinstance(component, Mapping):
        return None, [f"komponen ke-{number} bukan objek JSON"]
    kind = component.get("type")
    name = _name(component, number)
    if kind in DISPLAY_TYPES:
        text = component.get("text", "") if kind == "text" else ""
        if not isinstance(text, str):
            return None, [f"{name}: teks harus berupa teks"]
        if text.lstrip().startswith("="):
            return None, [f"{name}: ekspresi FEEL tidak didukung, tulis teksnya langsung"]
        return Field(kind, text=text[:MAX_TEXT_LENGTH]), []
    if kind not in DATA_TYPES:
        supported = ", ".join(DATA_TYPES + DISPLAY_TYPES)
        return None, [
            f"{name}: jenis komponen '{_short(kind)}' tidak dapat diperiksa server (yang didukung: {supported})"
        ]
    found: list[str] = []
    key = component.get("key")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        found.append(
            f"{name}: kunci (key) wajib berupa nama: huruf, angka atau garis bawah, diawali huruf, paling banyak 50"
        )
        key = ""
    for prop in component:
        if prop not in KNOWN_PROPERTIES:
            found.append(f"{name}: properti '{_short(prop)}' tidak dapat diperiksa server")
    for prop in ("readonly", "disabled"):
        if component.get(prop) not in (None, False):
            found.append(f"{name}: kolom '{prop}' tidak didukung; hapus komponennya bila tidak diisi petugas")
    label_prop = next((p for p in ("label", "dateLabel", "timeLabel") if component.get(p)), "label")
    texts = {p: component.get(p, "") for p in (label_prop, "description")}
    for prop, value in texts.items():
        if not isinstance(value, str):
            found.append(f"{name}: {prop} harus berupa teks")
        elif value.lstrip().startswith("="):
            found.append(f"{name}: ekspresi FEEL pada {prop} tidak didukung, tulis teksnya langsung")
    validate = component.get("validate") or {}
    if not isinstance(validate, Mapping):
        return None, [*found, f"{name}: validate harus berupa objek"]
    for rule in validate:
        if rule not in RULES_OF[kind]:
            found.append(f"{name}: aturan validasi '{_short(rule)}' tidak dapat diperiksa server untuk {kind}")
    required = validate.get("required", False)
    if not isinstance(required, bool):
        found.append(f"{name}: required harus true atau false")
    spec: dict[str, Any] = {}
    if kind in {"textfield", "textarea"}:
        spec, text_problems = _text_rules(kind, validate, name)
        found += text_problems
    elif kind == "number":
        spec, number_problems = _number_rules(component, validate, name)
        found += number_problems
    elif kind in {"select", "radio", "checklist"}:
        options, option_problems = _options(component, name)
        found += option_problems
        spec = {"options": options}
    elif kind == "datetime":
        subtype = component.get("subtype", "date")
        if subtype not in DATETIME_SUBTYPES:
            found.append(f"{name}: subtype '{_short(subtype)}' tidak dikenal (date, time atau datetime)")
        if not isinstance(component.get("disallowPassedDates", False), bool):
            found.append(f"{name}: disallowPassedDates harus true atau false")
        spec = {"subtype": subtype, "not_before_today": component.get("disallowPassedDates") is True}
    if found:
        return None, found
    label = texts[label_prop] if isinstance(texts[label_prop], str) and texts[label_prop].strip() else key
    parsed = Field(
        kind,
        key=key,
        label=label.strip(),
        description=str(texts["description"]).strip(),
        required=bool(required),
        default=component.get("defaultValue"),
        **spec,
    )
    if parsed.default is not None:
        try:
            _clean(parsed, parsed.default)
        except _Refused as refused:
            return None, [f"{name}: nilai bawaan (defaultValue) tidak sah: {refused.message}"]
    return parsed, []


def _text_rules(kind: str, validate: Mapping[str, Any], name: str) -> tuple[dict[str, Any], list[str]]:
    found = []
    lengths = {}
    for rule in ("minLength", "maxLength"):
        value = _as_number(validate.get(rule))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TEXT_LENGTH:
            found.append(f"{name}: {rule} harus bilangan bulat 0 sampai {MAX_TEXT_LENGTH}")
        else:
            lengths[rule] = value
    low, high = lengths.get("minLength"), lengths.get("maxLength", TEXT_LIMITS[kind])
    if low is not None and low > high:
        found.append(f"{name}: minLength lebih besar dari maxLength ({high})")
    pattern = validate.get("pattern")
    if pattern in ("", None):
        pattern = None
    elif not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_LENGTH:
        found.append(f"{name}: pola (pattern) harus teks, paling banyak {MAX_PATTERN_LENGTH} karakter")
        pattern = None
    else:
        try:
            re.compile(pattern)
        except re.error as exc:
            found.append(f"{name}: pola (pattern) tidak sah: {exc}")
        if _NESTED_QUANTIFIER.search(pattern):
            found.append(f"{name}: pola (pattern) dengan pengulangan bersarang, mis. (a+)+, bisa sangat lambat")
    validation_type = validate.get("validationType") or ""
    if validation_type not in ("", "email", "phone"):
        found.append(
            f"{name}: validationType '{_short(validation_type)}' tidak dapat diperiksa server (hanya email atau "
            "phone; untuk yang lain gunakan pola)"
        )
    message = validate.get("patternErrorMessage") or ""
    if not isinstance(message, str) or len(message) > 200 or message.lstrip().startswith("="):
        found.append(f"{name}: pesan pola (patternErrorMessage) harus teks biasa, paling banyak 200 karakter")
        message = ""
    spec = {
        "min_length": low,
        "max_length": high,
        "pattern": pattern,
        "pattern_message": message.strip(),
        "validation_type": validation_type,
    }
    return spec, found


def _number_rules(
    component: Mapping[str, Any], validate: Mapping[str, Any], name: str
) -> tuple[dict[str, Any], list[str]]:
    found = []
    bounds: dict[str, float | None] = {}
    for rule in ("min", "max"):
        value = _as_number(validate.get(rule))
        if value is None:
            bounds[rule] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            found.append(f"{name}: {rule} harus berupa angka")
            bounds[rule] = None
        else:
            bounds[rule] = value
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        found.append(f"{name}: min lebih besar dari max")
    digits = component.get("decimalDigits")
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 10):
        found.append(f"{name}: decimalDigits harus bilangan bulat 0 sampai 10")
        digits = None
    return {"minimum": bounds["min"], "maximum": bounds["max"], "decimal_digits": digits}, found


def _as_number(value: Any) -> Any:
    """A limit as the form-js editor writes it: a number, or its text ("200"); "" or None is no limit.
    Anything else (a FEEL expression "=...") is returned as it is, for the caller to refuse."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and len(value) <= 40 and _NUMBER.fullmatch(value.strip()):
        text = value.strip().replace(",", ".")
        return float(text) if "." in text else int(text)
    return value


def _options(component: Mapping[str, Any], name: str) -> tuple[tuple[Option, ...], list[str]]:
    for dynamic in ("valuesKey", "valuesExpression"):
        if component.get(dynamic):
            return (), [f"{name}: pilihan dari {dynamic} tidak didukung; isi pilihannya langsung (values)"]
    values = component.get("values")
    if not isinstance(values, list) or not values:
        return (), [f"{name}: pilihan (values) wajib diisi, paling sedikit satu"]
    if len(values) > MAX_OPTIONS:
        return (), [f"{name}: paling banyak {MAX_OPTIONS} pilihan"]
    options: list[Option] = []
    found = []
    for value in values:
        raw = value.get("value") if isinstance(value, Mapping) else None
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 100 or _CONTROL_CHARS.search(raw):
            found.append(f"{name}: setiap pilihan harus punya nilai (value) berupa teks, paling banyak 100 karakter")
            continue
        label = value.get("label")
        label = label.strip() if isinstance(label, str) and label.strip() else raw
        if label.startswith("="):
            found.append(f"{name}: ekspresi FEEL pada label pilihan tidak didukung")
        if raw in {o.value for o in options}:
            found.append(f"{name}: nilai pilihan '{raw}' muncul dua kali")
        options.append(Option(raw, label))
    return tuple(options), found


def _name(component: Mapping[str, Any], number: int) -> str:
    key = component.get("key")
    label = component.get("label")
    if isinstance(label, str) and label.strip() and not label.startswith("="):
        return f"komponen «{label.strip()[:60]}»" + (f" ({key})" if isinstance(key, str) and key else "")
    if isinstance(key, str) and key:
        return f"komponen '{key[:60]}'"
    return f"komponen ke-{number}"


def _short(value: Any) -> str:
    return str(value)[:40]


def _title(components: Iterable[Field]) -> str:
    """The form's heading: its first text component's first line (without markdown's #), if any."""
    for component in components:
        if component.type == "text":
            line = next((ln.strip().lstrip("#").strip() for ln in component.text.splitlines() if ln.strip()), "")
            if line:
                return line[:200]
    return ""


# Checking a value.


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(f: Field, value: Any) -> Any:
    if f.type in {"textfield", "textarea"}:
        return _clean_text(f, value)
    if f.type == "number":
        return _clean_number(f, value)
    if f.type in {"select", "radio"}:
        if _empty(value):
            if f.required:
                raise _Refused(REQUIRED)
            return None
        if not isinstance(value, str) or value not in {o.value for o in f.options}:
            raise _Refused(_choice_message(f))
        return value
    if f.type == "checkbox":
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise _Refused(NOT_BOOLEAN)
        if f.required and not value:
            raise _Refused(REQUIRED_CHECKBOX)
        return value
    if f.type == "checklist":
        if value is None:
            value = []
        if not isinstance(value, list):
            raise _Refused(NOT_LIST)
        allowed = [o.value for o in f.options]
        if any(not isinstance(v, str) or v not in allowed for v in value):
            raise _Refused(_choice_message(f))
        if f.required and not value:
            raise _Refused(REQUIRED)
        return [v for v in allowed if v in value]  # once each, in the form's order
    return _clean_datetime(f, value)


def _choice_message(f: Field) -> str:
    return "Pilihan tidak sah: harus salah satu dari " + ", ".join(o.value for o in f.options) + "."


def _clean_text(f: Field, value: Any) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Refused(NOT_TEXT)
    text = value.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(NOT_TEXT) from None
    if _CONTROL_CHARS.search(text):
        raise _Refused(CONTROL)
    text = unicodedata.normalize("NFC", text)
    if not text:
        if f.required:
            raise _Refused(REQUIRED)
        return ""
    if f.max_length is not None and len(text) > f.max_length:
        raise _Refused(f"Terlalu panjang: maksimal {f.max_length} karakter.")
    if f.min_length is not None and len(text) < f.min_length:
        raise _Refused(f"Terlalu pendek: minimal {f.min_length} karakter.")
    if f.validation_type == "email" and not _EMAIL.fullmatch(text):
        raise _Refused(BAD_EMAIL)
    if f.validation_type == "phone" and not _PHONE.fullmatch(text):
        raise _Refused(BAD_PHONE)
    if f.pattern is not None and not re.search(f.pattern, text):
        raise _Refused(f.pattern_message or BAD_FORMAT)
    return text


def _clean_number(f: Field, value: Any) -> int | float | None:
    if _empty(value):
        if f.required:
            raise _Refused(REQUIRED)
        return None
    if isinstance(value, str) and len(value) <= 40 and _NUMBER.fullmatch(value.strip()):
        text = value.strip().replace(",", ".")
        number: int | float = float(text) if "." in text else int(text)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    else:
        raise _Refused(NOT_NUMBER)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise _Refused(NOT_NUMBER)
    if f.decimal_digits is not None and round(number, f.decimal_digits) != number:
        if f.decimal_digits == 0:
            raise _Refused("Harus bilangan bulat.")
        raise _Refused(f"Paling banyak {f.decimal_digits} angka di belakang koma.")
    low, high = f.minimum, f.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            raise _Refused(f"Harus antara {_number_text(low)} dan {_number_text(high)}.")
        if high is not None:
            raise _Refused(f"Tidak boleh lebih dari {_number_text(high)}.")
        raise _Refused(f"Tidak boleh kurang dari {_number_text(low)}.")
    if isinstance(number, float) and number.is_integer() and f.decimal_digits == 0:
        return int(number)
    return number


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def _today() -> date:
    """Today where the office is (what a date that may not lie in the past is compared with)."""
    return clock.now().astimezone(TIMEZONE).date()


def _clean_datetime(f: Field, value: Any) -> str | None:
    if _empty(value):
        if f.required:
            raise _Refused(REQUIRED)
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise _Refused({"date": BAD_DATE, "time": BAD_TIME}.get(f.subtype, BAD_DATETIME))
    text = value.strip()
    if f.subtype == "time":
        if not _TIME_VALUE.fullmatch(text):
            raise _Refused(BAD_TIME)
        return text
    if f.subtype == "date":
        if not _DATE.fullmatch(text):
            raise _Refused(BAD_DATE)
        day_text = text
    else:
        match = _DATETIME_VALUE.fullmatch(text)
        if match is None:
            raise _Refused(BAD_DATETIME)
        day_text = match.group(1)
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise _Refused(NOT_A_DAY) from None
    if f.not_before_today and day < _today():
        raise _Refused(PAST_DATE)
    return text


# JSON Schema and samples.


def _schema_of(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"title": f.label}
    if f.description:
        out["description"] = f.description
    if f.type in {"textfield", "textarea"}:
        out["type"] = "string"
        if f.max_length is not None:
            out["maxLength"] = f.max_length
        low = max(f.min_length or 0, 1 if f.required else 0)
        if low:
            out["minLength"] = low
        if f.pattern is not None:
            out["pattern"] = f.pattern
        if f.validation_type == "email":
            out["format"] = "email"
        elif f.validation_type == "phone":
            out["pattern"] = f"^{_PHONE.pattern}$"
    elif f.type == "number":
        out["type"] = "integer" if f.decimal_digits == 0 else "number"
        if f.minimum is not None:
            out["minimum"] = f.minimum
        if f.maximum is not None:
            out["maximum"] = f.maximum
    elif f.is_choice:
        out.update(_choice_schema(f))
    elif f.type == "checkbox":
        out["type"] = "boolean"
        if f.required:
            out["const"] = True
    elif f.type == "checklist":
        out.update(type="array", items=_choice_schema(f), uniqueItems=True)
        if f.required:
            out["minItems"] = 1
    elif f.subtype == "date":
        out.update(type="string", format="date")
    else:
        day = "[0-9]{4}-[0-9]{2}-[0-9]{2}T" if f.subtype == "datetime" else ""
        out.update(type="string", pattern=f"^{day}{_TIME}{_ZONE}$")
    return out


def _choice_schema(f: Field) -> dict[str, Any]:
    return {
        "type": "string",
        "enum": [o.value for o in f.options],
        "oneOf": [{"const": o.value, "title": o.label} for o in f.options],
    }


class _Marker:
    pass


_OMIT, _NO_SAMPLE = _Marker(), _Marker()


def _sample_value(f: Field) -> Any:
    """A first value ``f`` accepts; ``_OMIT`` for an optional field best left empty, ``_NO_SAMPLE`` when
    none could be found."""
    candidates: list[Any] = [f.default] if f.default is not None else []
    if f.type in {"textfield", "textarea"}:
        need = f.min_length or 0
        candidates += [text if len(text) >= need else (text * need)[:need] for text in SAMPLE_TEXTS]
    elif f.type == "number":
        low, high = f.minimum, f.maximum
        candidates.append(low if low is not None else (min(1, high) if high is not None else 1))
    elif f.is_choice:
        candidates.append(f.options[0].value)
    elif f.type == "checkbox":
        candidates.append(True)
    elif f.type == "checklist":
        candidates.append([f.options[0].value] if f.required else [])
    else:
        today = _today().isoformat()
        candidates.append({"date": today, "time": "08:00"}.get(f.subtype, f"{today}T08:00"))
    for candidate in candidates:
        try:
            return _clean(f, candidate)
        except _Refused:
            continue
    return _OMIT if not f.required else _NO_SAMPLE
