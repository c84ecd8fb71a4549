"""Small request helpers shared by the blueprints."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from flask import Flask, request

from .errors import ApiError


def json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 for another media type, 400 for malformed JSON."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Kirim data sebagai application/json.")
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "JSON tidak sah.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Data harus berupa objek JSON.")
    return body


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters() -> None:
    """400 for a URL (path or query) holding control characters: no handler has a use for them, and
    some databases cannot even compare them."""
    raw = request.query_string.decode("latin-1")
    if _CONTROL.search(request.path) or _CONTROL.search(unquote(raw)):
        raise ApiError(400, "bad_request", "Alamat permintaan berisi karakter yang tidak diizinkan.")


def register(app: Flask) -> None:
    app.before_request(refuse_control_characters)
