"""One interface to the WhatsApp Cloud API (Graph API), implemented with httpx.

Callers (the delivery worker, the conversation) see only this module's types: ``Gateway``, ``Media``
and ``GatewayError``; no HTTP library type leaks out. Error texts name the HTTP status or the
exception type, never a message body or a phone number.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ..errors import SendError

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
META_MEDIA_HOSTS = ("lookaside.fbsbx.com",)  # where the Cloud API's media URLs point

# Meta's error codes that decide what happens next (see /docs and the README's "WhatsApp's rules"):
OUTSIDE_WINDOW = 131047  # more than 24 hours since the person's last message: only a template goes through
RATE_LIMITED = frozenset({130429, 131056})  # throughput of the number; too many to the same person
UNDELIVERABLE = frozenset({131026, 131021, 131049})  # cannot be delivered to this person (not a WhatsApp
# number, the recipient is the sender, withheld by Meta): another channel is needed
TEMPLATE_ERRORS = frozenset({132000, 132001})  # parameter count wrong; template missing in that language


class GatewayError(SendError):
    """A call to the Graph API failed."""


@dataclass(frozen=True)
class Media:
    media_id: str
    url: str
    mime_type: str
    file_size: int | None = None


@dataclass(frozen=True)
class MediaPolicy:
    """Where a media URL from the Graph API may be followed.

    Only ``https`` to a host in ``hosts`` (an entry starting with ``.`` also matches its subdomains) or
    to the Graph API host itself, never to an address that is private, loopback, link-local, multicast
    or reserved. The access token goes to the Graph API host and to ``token_hosts`` only (Meta's media
    host wants it); any other allowed host gets the request without it. Redirects are not followed.
    ``allow_loopback`` lets tests point the download at their fake on 127.0.0.1 over plain http."""

    hosts: tuple[str, ...] = META_MEDIA_HOSTS
    token_hosts: tuple[str, ...] = META_MEDIA_HOSTS
    allow_loopback: bool = False


def _host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern and (host == pattern.lstrip(".") or (pattern.startswith(".") and host.endswith(pattern))):
            return True
    return False


def _address_refusal(host: str, port: int, allow_loopback: bool) -> str | None:
    """Why the addresses ``host`` resolves to may not be contacted, or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            if not allow_loopback:
                return "loopback address"
        elif (
            address.is_private
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        ):
            return "private or reserved address"
    return None


class Gateway(Protocol):
    def send_text(self, to: str, text: str) -> str: ...

    def send_template(
        self, to: str, name: str, language: str, parameters: list[str], document: tuple[str, str] | None = None
    ) -> str: ...

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

    def __init__(
        self,
        base_url: str,
        token: str,
        phone_number_id: str,
        timeout: float = 15.0,
        media_policy: MediaPolicy | None = None,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.media_policy = media_policy or MediaPolicy()
        self._graph_host = (urlsplit(base_url).hostname or "").lower()
        self._token = token
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )
        self._media_client = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()
        self._media_client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayError(f"network: {type(exc).__name__}") from None
        if response.status_code >= 400:
            code = error_code(response)
            retryable = not _permanent(response.status_code)
            if code in RATE_LIMITED:
                retryable = True
            elif code == OUTSIDE_WINDOW or code in UNDELIVERABLE or code in TEMPLATE_ERRORS:
                retryable = False
            raise GatewayError(
                f"graph api: HTTP {response.status_code}" + (f" code {code}" if code is not None else ""),
                retryable=retryable,
                code=code,
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

    def send_template(
        self, to: str, name: str, language: str, parameters: list[str], document: tuple[str, str] | None = None
    ) -> str:
        """An approved template; ``document`` (media id, file name) fills a document header."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        components: list[dict[str, Any]] = []
        if document is not None:
            header = {"type": "document", "document": {"id": document[0], "filename": document[1]}}
            components.append({"type": "header", "parameters": [header]})
        if parameters:
            components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]})
        if components:
            template["components"] = components
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

    def media_url_refusal(self, url: str) -> str | None:
        """Why ``url`` may not be downloaded under the media policy, or None when it may."""
        policy = self.media_policy
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return "malformed url"
        if not host or parts.username is not None or parts.password is not None:
            return "no host, or credentials in the url"
        if parts.scheme != "https" and not (parts.scheme == "http" and policy.allow_loopback):
            return "not https"
        if host != self._graph_host and not _host_matches(host, policy.hosts):
            return "host not on the allow-list"
        refusal = _address_refusal(host, port or (443 if parts.scheme == "https" else 80), policy.allow_loopback)
        if refusal is None and parts.scheme == "http" and not _is_loopback_only(host):
            return "not https"  # plain http only ever to a test fake on loopback
        return refusal

    def download(self, url: str, max_bytes: int) -> bytes:
        """The media file behind a (short-lived) media URL, refused beyond ``max_bytes`` and when the
        URL is outside the media policy (nothing is sent then)."""
        refusal = self.media_url_refusal(url)
        if refusal is not None:
            raise GatewayError(f"media download refused: {refusal}", retryable=False)
        host = (urlsplit(url).hostname or "").lower()
        headers = {}
        if host == self._graph_host or _host_matches(host, self.media_policy.token_hosts):
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._media_client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 300:
                    raise GatewayError(
                        f"media download: HTTP {response.status_code}",
                        retryable=response.status_code >= 400 and not _permanent(response.status_code),
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


def _is_loopback_only(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def error_code(response: httpx.Response) -> int | None:
    """Meta's numeric error code (e.g. 131047), which carries no personal data."""
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None
    return int(code) if isinstance(code, int | str) and str(code).isdigit() and len(str(code)) < 10 else None
