"""marshmallow fields, validators and a base ``Form`` that speak Bahasa Indonesia.

Every string is stripped, refused if it holds control characters or invalid Unicode, and limited in
length (``max_length``, default 255) so an oversized value gets a clear message, not a database error.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import validate

DEFAULT_MAX_LENGTH = 255
NOTE_MAX_LENGTH = 2000

COMMON_MESSAGES = {
    "required": "Wajib diisi.",
    "null": "Tidak boleh kosong.",
    "validator_failed": "Nilai tidak sah.",
}
BLANK = "Tidak boleh kosong."
CHOICE = "Pilihan tidak sah: harus salah satu dari {choices}."

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Unicode category Cc except tab, line feed and carriage return; and the bidirectional embeddings,
# overrides and isolates, which make a text display other than it reads ("Trojan source").
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A person's name: letters of any script (with their combining accents), spaces and . ' - , only.
_NAME_PUNCTUATION = frozenset(" .'-,\u2019")
_MAX_MARKS_PER_LETTER = 2


# Validators with Indonesian messages (error= passed explicitly).


def length(
    min: int | None = None,
    max: int | None = None,
    *,
    equal: int | None = None,
    unit: str = "karakter",
) -> validate.Length:
    if equal is not None:
        error = f"Harus tepat {{equal}} {unit}."
    elif min is not None and max is not None:
        error = f"Panjang harus antara {{min}} dan {{max}} {unit}."
    elif max is not None:
        error = f"Terlalu panjang: maksimal {{max}} {unit}."
    else:
        error = f"Terlalu pendek: minimal {{min}} {unit}."
    return validate.Length(min=min, max=max, equal=equal, error=error)


def one_of(choices: Iterable[Any], labels: Iterable[str] | None = None, error: str = CHOICE) -> validate.OneOf:
    return validate.OneOf(list(choices), labels=labels, error=error)


def regexp(pattern: str, error: str = "Format tidak sah.") -> validate.Regexp:
    return validate.Regexp(pattern, error=error)


def value_range(min: Any = None, max: Any = None) -> validate.Range:
    if min is not None and max is not None:
        error = "Harus antara {min} dan {max}."
    elif max is not None:
        error = "Tidak boleh lebih dari {max}."
    else:
        error = "Tidak boleh kurang dari {min}."
    return validate.Range(min=min, max=max, error=error)


# Fields.


class String(ma.fields.String):
    """A stripped, length-limited string in Unicode normal form C (a decomposed "e" + accent is "é").

    ``allow_blank`` defaults to ``not required``: a required text must say something, an optional
    one may be sent as "" (as browser forms do).
    """

    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Bukan teks yang sah.",
        "invalid_utf8": "Bukan teks Unicode yang sah.",
        "control": "Mengandung karakter yang tidak diizinkan.",
    }

    def __init__(
        self,
        *,
        max_length: int | None = DEFAULT_MAX_LENGTH,
        allow_blank: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.allow_blank = (not self.required) if allow_blank is None else allow_blank
        checks = [] if self.allow_blank else [validate.Length(min=1, error=BLANK)]
        if max_length is not None:
            checks.append(length(max=max_length))
        self.validators[:0] = checks

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:  # lone surrogates from JSON "\ud800"
            raise self.make_error("invalid_utf8") from error
        if _CONTROL_CHARS.search(text):
            raise self.make_error("control")
        return unicodedata.normalize("NFC", text)


class PersonName(String):
    """A person's name: letters of any script with their accents, spaces and . ' - , (no digits, emoji,
    invisible characters or piles of combining marks)."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **String.default_error_messages,
        "name": "Nama hanya boleh berisi huruf, spasi, titik, koma, apostrof dan tanda hubung.",
    }

    def __init__(self, *, max_length: int = 100, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and not is_person_name(text):
            raise self.make_error("name")
        return text


def is_person_name(text: str) -> bool:
    """Letters, each with at most two combining marks, separated by spaces and . ' - , only."""
    marks = 0
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("M"):
            marks += 1
            if marks > _MAX_MARKS_PER_LETTER:
                return False
            continue
        marks = 0
        if not (category.startswith("L") or char in _NAME_PUNCTUATION):
            return False
    return any(unicodedata.category(c).startswith("L") for c in text)


class Choice(String):
    """A string that must be one of ``choices``; ``labels`` are shown to people."""

    def __init__(
        self, choices: Iterable[str], labels: Iterable[str] | None = None, *, error: str = CHOICE, **kwargs: Any
    ) -> None:
        # No blank or length check: anything else than a choice gets the one OneOf message (``error``).
        validator = one_of(choices, labels, error)
        super().__init__(allow_blank=True, max_length=None, validate=validator, **kwargs)


class Email(String, ma.fields.Email):
    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Alamat e-mail tidak sah."}

    def __init__(self, *, max_length: int = 254, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)


class Integer(ma.fields.Integer):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Bukan bilangan bulat yang sah.",
        "too_large": "Angka terlalu besar.",
    }

    def __init__(self, *, strict: bool = True, **kwargs: Any) -> None:
        super().__init__(strict=strict, **kwargs)


class Boolean(ma.fields.Boolean):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Harus bernilai true atau false.",
    }


class Date(ma.fields.Date):
    """A calendar date written ``YYYY-MM-DD`` (no other ISO forms)."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Format tanggal tidak sah (gunakan YYYY-MM-DD).",
        "not_a_day": "Tanggal tersebut tidak ada dalam kalender.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
            raise self.make_error("invalid")
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as error:
            raise self.make_error("not_a_day") from error


class DateTime(ma.fields.DateTime):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Format tanggal dan waktu tidak sah (gunakan ISO 8601, mis. 2024-01-31T08:00:00+07:00).",
        "invalid_awareness": "Tanggal dan waktu harus mencantumkan zona waktu.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if isinstance(value, str) and len(value) > 64:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Nested(ma.fields.Nested):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "type": "Harus berupa objek.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not (self.many or self.schema.many) and not isinstance(value, Mapping):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


class List(ma.fields.List):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Bukan daftar yang sah.",
    }


class Dict(ma.fields.Dict):
    default_error_messages: ClassVar[dict[str, str]] = {
        **COMMON_MESSAGES,
        "invalid": "Bukan objek yang sah.",
    }


# The base form.


class Form(ma.Schema):
    """A user-task form: unknown fields are refused, messages are Indonesian.

    ``title`` is the form's Indonesian heading (used as the JSON Schema title).
    """

    title: ClassVar[str] = ""

    error_messages: ClassVar[dict[str, str]] = {
        "unknown": "Kolom tidak dikenal.",
        "type": "Data formulir harus berupa objek JSON.",
    }

    class Meta:
        unknown = ma.RAISE
