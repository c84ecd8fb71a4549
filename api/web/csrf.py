"""CSRF tokens: one random token per session, sent back as a form field or an ``X-CSRF-Token`` header."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def request_is_valid() -> bool:
    """True when the request carries this session's token (header or form field)."""
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or (
        request.form.get(FIELD)
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}
        else None
    )
    return bool(expected and sent and hmac.compare_digest(str(expected), str(sent)))
