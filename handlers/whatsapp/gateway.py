"""One interface to the WhatsApp Cloud API (Graph API), implemented with httpx.

Callers (the delivery worker, the conversation) see only this module's types: ``Gateway``, ``Media``
and ``GatewayError``; no HTTP library type leaks out. Error texts name the HTTP status or the
exception type, never a message body or a phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ..errors import SendError

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"


class GatewayError(SendError):
    """A call to the Graph API failed."""


@dataclass(frozen=True)
class Media:
    media_id: str
    url: str
    mime_type: str
    file_size: int | None = None


class Gateway(Protocol):
    def send_text(self, to: str, text: str) -> str: ...

    def send_template(self, to: str, name: str, language: str, parameters: list[str]) -> str: ...

    def send_document(self, to: str, media_id: str, filename: str, caption: str = "") -> str: ...

    def upload_media(self, content: bytes, media_type: str, filename: str) -> str: ...

    def media(self, media_id: str) -> Media: ...

    def download(self, url: str, max_bytes: int) -> bytes: ...


def addressee(to: str) -> dict[str, str]:
    """A phone number (digits) goes in ``to``; a business-scoped user id ("ID.123...") in ``recipient``."""
    return {"to": to} if to.isdigit() else {"recipient": to}


def _permanent(status: int) -> bool:
    """4xx other than auth/throttling/timeouts: the request itself is wrong, retrying will not help."""
    return 400 <= status < 500 and status not in (401, 403, 408, 409, 425, 429)


class GraphGateway:
    """The real gateway: ``base_url`` is the Graph API base including its version."""

    def __init__(self, base_url: str, token: str, phone_number_id: str, timeout: float = 15.0) -> None:
        self.phone_number_id = phone_number_id
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayError(f"network: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise GatewayError(
                f"graph api: HTTP {response.status_code}{_error_code(response)}",
                retryable=not _permanent(response.status_code),
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise GatewayError("graph api: answer is not JSON") from None
        if not isinstance(body, dict):
            raise GatewayError("graph api: answer is not a JSON object")
        return body

    def _send(self, to: str, message: dict[str, Any]) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **addressee(to), **message}
        answer = self._json("POST", f"{self.phone_number_id}/messages", json=body)
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GatewayError("graph api: answer has no message id") from None

    def send_text(self, to: str, text: str) -> str:
        return self._send(to, {"type": "text", "text": {"preview_url": False, "body": text}})

    def send_template(self, to: str, name: str, language: str, parameters: list[str]) -> str:
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
        return self._send(to, {"type": "template", "template": template})

    def send_document(self, to: str, media_id: str, filename: str, caption: str = "") -> str:
        document = {"id": media_id, "filename": filename}
        if caption:
            document["caption"] = caption
        return self._send(to, {"type": "document", "document": document})

    def upload_media(self, content: bytes, media_type: str, filename: str) -> str:
        answer = self._json(
            "POST",
            f"{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": media_type},
            files={"file": (filename, content, media_type)},
        )
        if "id" not in answer:
            raise GatewayError("graph api: upload answer has no media id")
        return str(answer["id"])

    def media(self, media_id: str) -> Media:
        if not media_id or not all(ch.isalnum() or ch in "._-" for ch in media_id):
            raise GatewayError("invalid media id", retryable=False)
        answer = self._json("GET", media_id)
        if not isinstance(answer.get("url"), str):
            raise GatewayError("graph api: media answer has no url")
        size = answer.get("file_size")
        return Media(
            media_id,
            answer["url"],
            str(answer.get("mime_type", "")),
            int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        )

    def download(self, url: str, max_bytes: int) -> bytes:
        """The media file behind a (short-lived) media URL, refused beyond ``max_bytes``."""
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise GatewayError(
                        f"media download: HTTP {response.status_code}", retryable=not _permanent(response.status_code)
                    )
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise GatewayError("media download: file too large", retryable=False)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise GatewayError(f"network: {type(exc).__name__}") from None
        return b"".join(chunks)


def _error_code(response: httpx.Response) -> str:
    """Meta's numeric error code (e.g. 131047), which carries no personal data."""
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return ""
    return f" code {code}" if isinstance(code, int | str) and str(code).isdigit() else ""
