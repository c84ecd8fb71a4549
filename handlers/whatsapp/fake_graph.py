"""A local stand-in for the Graph API calls the gateway uses, for tests and the simulator.

A real HTTP server on 127.0.0.1 (a free port): ``POST /{version}/{phone_number_id}/messages``,
``POST /{version}/{phone_number_id}/media``, ``GET /{version}/{media_id}`` (the media URL) and
``GET /download/{media_id}`` (the file, behind the bearer token like Meta's lookaside URLs). It keeps
what was sent, holds the files a simulated phone "sent", and can be told to fail the next calls.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "v21.0"


class FakeGraph:
    def __init__(self, token: str = "test-token", phone_number_id: str = "1234567890") -> None:
        self.token, self.phone_number_id = token, phone_number_id
        self.sent: list[dict[str, Any]] = []  # message bodies as received
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_urls: dict[str, str] = {}  # a media id's download URL, when a test wants another one
        self.calls: list[tuple[str, str, int]] = []  # (method, path, status)
        self._failures: list[int] = []
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

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next ``count`` calls to the messages endpoint answer ``status``."""
        with self._lock:
            self._failures += [status] * count

    def messages_to(self, recipient: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.sent if recipient in (m.get("to"), m.get("recipient"))]

    def wait_for_messages(self, recipient: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``recipient`` has received ``count`` messages in all (or the timeout passes)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.messages_to(recipient)) >= count, timeout=timeout)
            return self.messages_to(recipient)

    # --- the server's side -----------------------------------------------------------------------------

    def _take_failure(self) -> int | None:
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
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            fake.calls.append((self.command, self.path, status))

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
                    return self._error(failure, "Service temporarily unavailable.", 2)
                try:
                    message = json.loads(body)
                except ValueError:
                    return self._error(400, "Invalid JSON.")
                if message.get("messaging_product") != "whatsapp" or not (
                    message.get("to") or message.get("recipient")
                ):
                    return self._error(400, "Invalid parameter.", 100)
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
