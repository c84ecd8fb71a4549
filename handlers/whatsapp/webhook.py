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
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


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


MAX_ID_LENGTH = 200  # message ids ("wamid." + base64) are far shorter; the column holds 200
MAX_TEXT_LENGTH = 4096  # WhatsApp's own limit for a text message
TEXT_PARTS = {"text": "body", "button": "text"}


def _str(value: Any, limit: int = MAX_ID_LENGTH) -> str | None:
    """A non-empty printable string of at most ``limit`` characters, else None."""
    return value if isinstance(value, str) and value and len(value) <= limit and value.isprintable() else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array (anything else in their place is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _timestamp(value: Any) -> datetime | None:
    """Meta's Unix time (a string of digits), None when it is not one or out of range."""
    if value is None:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _text_of(message: dict[str, Any], kind: str) -> str | None:
    """The message's text, "" for a type without one, None when its part is malformed."""
    part = message.get(kind)
    if (kind in TEXT_PARTS or kind in MEDIA_TYPES or kind == "interactive") and not isinstance(part, dict):
        return None
    if kind in TEXT_PARTS:
        return _plain(part.get(TEXT_PARTS[kind]), required=True)
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply")
        if not isinstance(reply, dict):
            return None
        return _plain(reply.get("id") or reply.get("title"), required=True)
    if kind in MEDIA_TYPES:
        return _plain(part.get("caption"), required=False)
    return ""


def _plain(value: Any, required: bool) -> str | None:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
        return None
    return value


def _values(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        return []
    return [
        change["value"]
        for entry in _dicts(payload.get("entry"))
        for change in _dicts(entry.get("changes"))
        if isinstance(change.get("value"), dict)
    ]


def parse(payload: Any) -> tuple[list[Inbound], list[StatusUpdate]]:
    """Messages and statuses from a webhook body; malformed parts are skipped, never raised on."""
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for value in _values(payload):
        contacts = _dicts(value.get("contacts"))
        for message in _dicts(value.get("messages")):
            inbound = _inbound(message, contacts)
            if inbound is not None:
                messages.append(inbound)
        for status in _dicts(value.get("statuses")):
            at, errors = _timestamp(status.get("timestamp")), status.get("errors", [])
            if (
                not _str(status.get("id"))
                or not _str(status.get("status"), 16)
                or at is None
                or not isinstance(errors, list)
                or len(_dicts(errors)) != len(errors)
            ):
                continue
            code = errors[0].get("code") if errors else None
            statuses.append(
                StatusUpdate(
                    status["id"], status["status"], at, str(code)[:32] if isinstance(code, int | str) else None
                )
            )
    return messages, statuses


def _inbound(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Inbound | None:
    """One message as Meta documents it, or None when a part of it is not what Meta sends."""
    if not _str(message.get("id")):
        return None
    phone = _str(message.get("from"), 32)
    user_id = _str(message.get("from_user_id"))
    contact = next(
        (c for c in contacts if (phone and c.get("wa_id") == phone) or (user_id and c.get("user_id") == user_id)),
        contacts[0] if len(contacts) == 1 else {},
    )
    phone = phone or _str(contact.get("wa_id"), 32)
    user_id = user_id or _str(contact.get("user_id"))
    kind = _str(message.get("type"), 32)
    if not (phone or user_id) or kind is None:
        return None
    text = _text_of(message, kind)
    media = message.get(kind) if kind in MEDIA_TYPES else {}
    if text is None or (kind in MEDIA_TYPES and not _str(media.get("id"))):
        return None
    return Inbound(
        message_id=message["id"],
        user_id=user_id,
        phone=phone if phone and phone.isdigit() else None,
        kind=kind,
        text=text,
        media_id=_str(media.get("id")),
        mime_type=_str(media.get("mime_type"), 100),
        filename=_str(media.get("filename"), 255),
    )
