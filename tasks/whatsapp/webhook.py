"""The Cloud API webhook: signature check and the payload's messages and statuses as plain data.

Payloads follow Meta's documented shape: ``entry[].changes[].value`` with ``contacts[]`` (``wa_id``, the
phone, may be absent; ``user_id`` is the business-scoped user id), ``messages[]`` (``from``,
``from_user_id``, ``id``, ``type`` and a part per type) and ``statuses[]``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"
MEDIA_TYPES = ("image", "document")


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """``header`` is "sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>"."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send (used by the simulator and tests)."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Inbound:
    """One message from a WhatsApp user. ``text`` may hold personal data: never log it."""

    message_id: str
    user_id: str | None
    phone: str | None
    kind: str  # text | image | document | interactive | button | other types
    text: str = ""
    media_id: str | None = None
    mime_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str
    at: datetime
    error_code: str | None = None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _text_of(message: dict[str, Any], kind: str) -> str:
    if kind == "text":
        return str((message.get("text") or {}).get("body") or "")
    if kind == "button":
        return str((message.get("button") or {}).get("text") or "")
    if kind == "interactive":
        part = message.get("interactive") or {}
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return str(reply.get("id") or reply.get("title") or "")
    if kind in MEDIA_TYPES:
        return str((message.get(kind) or {}).get("caption") or "")
    return ""


def _values(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        return []
    values = []
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                values.append(change["value"])
    return values


def parse(payload: Any) -> tuple[list[Inbound], list[StatusUpdate]]:
    """Messages and statuses from a webhook body; malformed parts are skipped, never raised on."""
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for value in _values(payload):
        contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
        for message in value.get("messages") or []:
            if not isinstance(message, dict) or not _str(message.get("id")):
                continue
            phone = _str(message.get("from"))
            user_id = _str(message.get("from_user_id"))
            contact = next((c for c in contacts if (phone and c.get("wa_id") == phone)
                            or (user_id and c.get("user_id") == user_id)), contacts[0] if len(contacts) == 1 else {})
            phone = phone or _str(contact.get("wa_id"))
            user_id = user_id or _str(contact.get("user_id"))
            if not (phone or user_id):
                continue
            kind = _str(message.get("type")) or "unknown"
            media = message.get(kind) if kind in MEDIA_TYPES and isinstance(message.get(kind), dict) else {}
            messages.append(Inbound(
                message_id=message["id"], user_id=user_id, phone=phone if phone and phone.isdigit() else None,
                kind=kind, text=_text_of(message, kind), media_id=_str(media.get("id")),
                mime_type=_str(media.get("mime_type")), filename=_str(media.get("filename"))))
        for status in value.get("statuses") or []:
            if not isinstance(status, dict) or not _str(status.get("id")) or not _str(status.get("status")):
                continue
            errors = status.get("errors") or []
            code = errors[0].get("code") if errors and isinstance(errors[0], dict) else None
            statuses.append(StatusUpdate(status["id"], status["status"][:16], _timestamp(status.get("timestamp")),
                                         str(code)[:32] if code is not None else None))
    return messages, statuses
