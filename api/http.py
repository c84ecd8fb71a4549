"""Small request helpers shared by the blueprints."""

from __future__ import annotations

import json
from typing import Any

from flask import request

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
