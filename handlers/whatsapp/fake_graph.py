"""A local stand-in for the Graph API calls the gateway uses, for tests and the simulator.

A real HTTP server on 127.0.0.1 (a free port): ``POST /{version}/{phone_number_id}/messages``,
``POST /{version}/{phone_number_id}/media``, ``GET /{version}/{media_id}`` (the media URL) and
``GET /download/{media_id}`` (the file, behind the bearer token like Meta's lookaside URLs). It keeps
what was sent, holds the files a simulated phone "sent", and can be told to fail the next calls.

It enforces Meta's rules: free-form messages only within 24 hours of the person's last message
(:meth:`FakeGraph.inbound` records one; otherwise error 131047), templates only by an approved name and
language (132001) with the right number of body parameters (132000), at most ``pair_limit`` messages to
one person within ``pair_window`` seconds (131056), and numbers marked :attr:`unreachable` refused with
131026.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.workflow.clock import clock

from . import templates as catalogue

VERSION = "v21.0"
WINDOW = timedelta(hours=24)
FREE_FORM = ("text", "document", "image", "interactive", "audio", "video", "sticker", "location", "contacts")


class FakeGraph:
    def __init__(
        self,
        token: str = "test-token",
        phone_number_id: str = "1234567890",
        templates: dict[str, catalogue.Template] | None = None,
        now: Callable[[], datetime] = clock.now,
        pair_limit: int = 50,
        pair_window: float = 10.0,
    ) -> None:
        self.token, self.phone_number_id = token, phone_number_id
        self.sent: list[dict[str, Any]] = []  # message bodies as received
        self.refused: list[tuple[dict[str, Any], int]] = []  # (message body, Meta error code)
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_urls: dict[str, str] = {}  # a media id's download URL, when a test wants another one
        self.calls: list[tuple[str, str, int]] = []  # (method, path, status)
        # approved templates: (name, language) -> the template (its parameter count, its header)
        self.templates = {(t.name, t.language): t for t in (templates or catalogue.configured()).values()}
        self.now = now  # the window is measured on this clock (the engine's: tests move it)
        self.last_inbound: dict[str, datetime] = {}  # phone or user id -> their last message to us
        self.unreachable: set[str] = set()  # numbers that are not on WhatsApp (131026)
        self.pair_limit, self.pair_window = pair_limit, pair_window
        self._recent: dict[str, list[float]] = {}
        self._failures: list[tuple[int, int]] = []
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-graph")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def graph_url(self) -> str:
        """The value for WHATSAPP_GRAPH_URL."""
        return f"{self.base_url}/{VERSION}"

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the phone's side and failure injection ------------------------------------------------------

    def add_media(self, content: bytes, mime_type: str) -> str:
        """A file the simulated user sends; its id goes in the webhook's image/document part."""
        media_id = str(uuid.uuid4().int)[:16]
        with self._lock:
            self.media[media_id] = (content, mime_type)
        return media_id

    def fail_next(self, count: int, status: int = 500, code: int = 2) -> None:
        """The next ``count`` calls to the messages endpoint answer ``status`` with Meta's error ``code``."""
        with self._lock:
            self._failures += [(status, code)] * count

    def inbound(self, *addresses: str | None, at: datetime | None = None) -> None:
        """The person (by phone and/or user id) wrote to the business: their 24-hour window opens."""
        with self._lock:
            for address in filter(None, addresses):
                self.last_inbound[address] = at or self.now()

    def _rule_broken(self, message: dict[str, Any]) -> tuple[int, str] | None:
        """Meta's refusal of ``message`` as (error code, message), or None when it may go."""
        who = message.get("to") or message.get("recipient")
        if who in self.unreachable:
            return 131026, "Message undeliverable."
        kind = message.get("type", "text")
        if kind == "template":
            broken = self._template_broken(message.get("template"))
            if broken:
                return broken
        elif kind in FREE_FORM:
            last = self.last_inbound.get(who)
            if last is None or self.now() - last > WINDOW:
                return 131047, "Re-engagement message: more than 24 hours have passed since the recipient last replied."
        moments = [t for t in self._recent.get(who, []) if time.monotonic() - t < self.pair_window]
        if len(moments) >= self.pair_limit:
            return 131056, "(Business Account, Consumer Account) pair rate limit hit."
        self._recent[who] = [*moments, time.monotonic()]
        return None

    def _template_broken(self, template: Any) -> tuple[int, str] | None:
        if not isinstance(template, dict):
            return 100, "Invalid parameter."
        language = (template.get("language") or {}).get("code")
        approved = self.templates.get((template.get("name"), language))
        if approved is None:
            return 132001, "Template name does not exist in the translation."
        components = {c.get("type"): c for c in template.get("components") or [] if isinstance(c, dict)}
        body = components.get("body", {}).get("parameters") or []
        if len(body) != approved.parameter_count or not all(isinstance(p.get("text"), str) for p in body):
            return 132000, "Number of parameters does not match the expected number of params."
        header = components.get("header", {}).get("parameters") or []
        if approved.header_document != bool(header):
            return 132000, "Number of parameters does not match the expected number of params."
        return None

    def messages_to(self, recipient: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.sent if recipient in (m.get("to"), m.get("recipient"))]

    def wait_for_messages(self, recipient: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``recipient`` has received ``count`` messages in all (or the timeout passes)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.messages_to(recipient)) >= count, timeout=timeout)
            return self.messages_to(recipient)

    # --- the server's side -----------------------------------------------------------------------------

    def _take_failure(self) -> tuple[int, int] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _record(self, body: dict[str, Any]) -> str:
        message_id = f"wamid.{uuid.uuid4().hex}"
        with self._lock:
            self.sent.append({**body, "id": message_id})
            self._lock.notify_all()
        return message_id


def _handler(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: bodies may hold personal data
            pass

        def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            # Recorded before the answer is written: a client that has read the answer must find its call
            # in ``calls`` (recording after the write raced with the test reading it).
            fake.calls.append((self.command, self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, code: int = 100) -> None:
            self._answer(status, {"error": {"message": message, "type": "OAuthException", "code": code}})

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._error(401, "Invalid OAuth access token.", 190)
                return False
            return True

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if not self._authorized():
                return
            parts = self.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "download" and parts[1] in fake.media:
                content, mime_type = fake.media[parts[1]]
                return self._answer(200, content, mime_type)
            if len(parts) == 2 and parts[0] == VERSION and parts[1] in fake.media:
                content, mime_type = fake.media[parts[1]]
                return self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "id": parts[1],
                        "url": fake.media_urls.get(parts[1], f"{fake.base_url}/download/{parts[1]}"),
                        "mime_type": mime_type,
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "file_size": len(content),
                    },
                )
            self._error(404, "Unsupported get request.")

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorized():
                return
            parts = self.path.strip("/").split("/")
            body = self._body()
            if len(parts) != 3 or parts[0] != VERSION or parts[1] != fake.phone_number_id:
                return self._error(404, "Unknown path.")
            if parts[2] == "messages":
                failure = fake._take_failure()
                if failure:
                    return self._error(failure[0], "Service temporarily unavailable.", failure[1])
                try:
                    message = json.loads(body)
                except ValueError:
                    return self._error(400, "Invalid JSON.")
                if (
                    not isinstance(message, dict)
                    or message.get("messaging_product") != "whatsapp"
                    or not (message.get("to") or message.get("recipient"))
                ):
                    return self._error(400, "Invalid parameter.", 100)
                with fake._lock:
                    broken = fake._rule_broken(message)
                    if broken:
                        fake.refused.append((message, broken[0]))
                if broken:
                    return self._error(429 if broken[0] == 130429 else 400, broken[1], broken[0])
                message_id = fake._record(message)
                who = message.get("to") or message.get("recipient")
                return self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": who, "wa_id": who}],
                        "messages": [{"id": message_id}],
                    },
                )
            if parts[2] == "media":
                fields = _multipart(self.headers.get("Content-Type", ""), body)
                if "file" not in fields or fields.get("messaging_product", (b"",))[0] != b"whatsapp":
                    return self._error(400, "Invalid media upload.")
                content, mime_type = fields["file"]
                return self._answer(200, {"id": fake.add_media(content, mime_type)})
            self._error(404, "Unknown path.")

    return Handler


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    """Parts of a multipart/form-data body: name -> (bytes, content type)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = (part.get_payload(decode=True) or b"", part.get_content_type())
    return fields
