"""Every error leaves as JSON ``{"error": {"code", "message", "fields"}}`` with a fitting status."""

from __future__ import annotations

import contextlib
import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.kia import documents
from engine.workflow.decisions import DecisionFailed
from engine.workflow.errors import Conflict, DiagramRejected, EngineError, Forbidden, InvalidData, NotFound
from engine.workflow.instances import StepFailed
from forms import FormValidationError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by the API layer itself (authentication, rate limits, bad requests)."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}
        self.headers = headers or {}


STATUS_OF: dict[type[EngineError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    StepFailed: 409,
    InvalidData: 422,
    DiagramRejected: 422,
    DecisionFailed: 422,
    documents.UnsupportedMediaType: 415,
    documents.TooLarge: 413,
}

HTTP_MESSAGES = {
    400: "Permintaan tidak sah.",
    401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak berwenang.",
    404: "Tidak ditemukan.",
    405: "Metode tidak diizinkan.",
    409: "Terjadi konflik; muat ulang dan coba lagi.",
    413: "Permintaan terlalu besar.",
    415: "Jenis konten tidak didukung.",
    422: "Data tidak sah.",
    429: "Terlalu banyak permintaan; coba lagi nanti.",
    503: "Layanan sedang tidak tersedia; coba lagi sebentar lagi.",
}


def message_of(exc: EngineError) -> str:
    """The officer's message; a failed step names the incident it was recorded as."""
    if isinstance(exc, StepFailed) and exc.incident_id is not None:
        return f"{exc.message} Dicatat sebagai insiden #{exc.incident_id} untuk pemilik proses dan supervisor."
    return exc.message


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict | None = None,
    headers: dict[str, str] | None = None,
    incident_id: int | None = None,
) -> tuple[Response, int, dict]:
    body: dict[str, Any] = {"code": code, "message": message}
    if incident_id is not None:
        body["incident_id"] = incident_id
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status, headers or {}


def register(app: Flask) -> None:
    from .extensions import db

    @app.errorhandler(ApiError)
    def _api(exc: ApiError):  # noqa: ANN202
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(EngineError)
    def _engine(exc: EngineError):  # noqa: ANN202
        db.session.rollback()
        fields = getattr(exc, "fields", None)
        if isinstance(exc, DiagramRejected):
            fields = {}
            for p in exc.problems:
                fields.setdefault(p.element_id or "diagram", []).append(p.message)
        status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 400)
        incident_id = exc.incident_id if isinstance(exc, StepFailed) else None
        return error_response(status, exc.code, message_of(exc), fields, incident_id=incident_id)

    @app.errorhandler(FormValidationError)
    def _form(exc: FormValidationError):  # noqa: ANN202
        db.session.rollback()
        return error_response(422, "invalid_data", "Data formulir tidak sah.", exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # noqa: ANN202
        status = exc.code or 500
        fields = None
        data = getattr(exc, "data", None)  # webargs/flask-smorest put parser messages here
        if isinstance(data, dict) and "messages" in data:
            messages = data["messages"]
            fields = next(iter(messages.values())) if len(messages) == 1 else messages
            status = 422
            if not isinstance(fields, dict):  # the body itself was unreadable (malformed JSON)
                return error_response(400, "bad_request", "JSON tidak sah.")
        code = (exc.name or "error").lower().replace(" ", "_")
        message = HTTP_MESSAGES.get(status, exc.description or "Terjadi kesalahan.")
        return error_response(status, code, message, fields)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):  # noqa: ANN202
        _rollback_quietly(db)
        return error_response(409, "conflict", "Data ini baru saja diubah oleh orang lain; muat ulang dan coba lagi.")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)  # SQLite: an integer from the URL beyond 64 bits
    def _data(exc: Exception):  # noqa: ANN202
        # a value the database cannot hold (a NUL character, a number out of range): the request's fault
        _rollback_quietly(db)
        return error_response(400, "bad_request", "Data berisi nilai yang tidak dapat disimpan.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError):  # noqa: ANN202
        _rollback_quietly(db)
        if "locked" in str(exc).lower():
            return error_response(409, "conflict", "Basis data sedang sibuk; coba lagi.")
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_response(503, "unavailable", HTTP_MESSAGES[503], headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        _rollback_quietly(db)
        # frames only: an exception's message may quote request data (personal data never goes to logs)
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unhandled error %s at\n%s", type(exc).__name__, frames)
        return error_response(500, "internal_error", "Terjadi kesalahan pada server.")


def _rollback_quietly(db: Any) -> None:
    with contextlib.suppress(Exception):  # the connection itself may be gone
        db.session.rollback()
