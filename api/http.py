"""Small request helpers shared by the blueprints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import flask_smorest
from flask import Flask, request
from marshmallow import Schema, ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from .errors import ApiError
from .schemas import ErrorResponse

F = TypeVar("F", bound=Callable[..., Any])


def json_loads(data: bytes | str) -> Any:
    """Parse JSON from a request: 400 when malformed, not UTF-8 (RFC 8259), with an integer of more than
    4,300 digits, or nested too deep to parse."""
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "bad_request", "JSON tidak sah.") from None


class Parser(FlaskParser):
    """webargs' parser, answering every JSON that ``json_loads`` refuses as malformed (400); webargs
    itself lets a too-deep document or a too-long integer through as a server error."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return json_loads(req.get_data(cache=True))
        except ApiError:
            raise json.JSONDecodeError("malformed", "", 0) from None


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, with ``Parser`` for request arguments."""

    ARGUMENTS_PARSER = Parser()

    def errors(self, *statuses: int) -> Callable[[F], F]:
        """Document the error answers an endpoint can give, each with the JSON error body."""

        def decorate(func: F) -> F:
            for status in statuses:
                func = self.alt_response(status, schema=ErrorResponse)(func)
            return func

        return decorate


def json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 for another media type, 400 for malformed JSON."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Kirim data sebagai application/json.")
    body = json_loads(request.get_data(cache=True) or b"null")
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Data harus berupa objek JSON.")
    return body


def load_json(schema: type[Schema]) -> dict[str, Any]:
    """The request's JSON object loaded by ``schema``: 415/400 as ``json_object``, 422 per field."""
    try:
        return schema().load(json_object())
    except ValidationError as exc:
        raise ApiError(422, "invalid_data", "Data tidak sah.", exc.normalized_messages()) from None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters() -> None:
    """400 for a URL (path or query) holding control characters: no handler has a use for them, and
    some databases cannot even compare them."""
    raw = request.query_string.decode("latin-1")
    if _CONTROL.search(request.path) or _CONTROL.search(unquote(raw)):
        raise ApiError(400, "bad_request", "Alamat permintaan berisi karakter yang tidak diizinkan.")


def register(app: Flask) -> None:
    app.before_request(refuse_control_characters)
