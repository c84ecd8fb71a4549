"""``kia whatsapp simulate``: play the applicant's phone against the real webhook, no Meta account needed.

The service runs on a local port with the WhatsApp settings pointed at a local fake Graph API
(``handlers.whatsapp.fake_graph``). Each line typed is sent as a signed webhook delivery over HTTP; what
the service sends back through the Graph API is printed. ``/kirim FILE`` sends a photo or PDF.
"""

from __future__ import annotations

import itertools
import json
import logging
import mimetypes
import secrets
import threading
from pathlib import Path
from typing import Any

import click
import httpx
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server

from handlers.whatsapp.fake_graph import FakeGraph
from handlers.whatsapp.webhook import sign

from . import outbox
from .provisioning import init_database

HELP = (
    "Ketik pesan seperti di WhatsApp (mis. Halo). Perintah simulator:\n"
    "  /kirim FILE   kirim foto (JPEG/PNG) atau PDF\n"
    "  /keluar       selesai"
)


@click.group("whatsapp")
def whatsapp() -> None:
    """The WhatsApp channel."""


@whatsapp.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, help="0 picks a free port")
@click.option("--phone", default="6281234567890", show_default=True, help="the simulated user's number")
@click.option("--user-id", default="ID.1000000000001", show_default=True, help="business-scoped user id")
@click.option("--verbose", is_flag=True, help="show the service's log lines between the messages")
@with_appcontext
def simulate(host: str, port: int, phone: str, user_id: str, verbose: bool) -> None:
    """Serve the service with a local fake Graph API and chat with it from this terminal."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    init_database(app.config["KIA_BUNDLED_DIAGRAM"])
    with FakeGraph(token=secrets.token_hex(8)) as fake, _Settings(app, fake) as secret:
        server = make_server(host, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="kia-simulated-service")
        thread.start()
        sweeper = _scheduler(app)
        url = f"http://{host}:{server.server_port}"
        click.echo(f"Layanan KIA (simulasi WhatsApp) berjalan di {url}/ ; nomor Anda: +{phone}\n{HELP}")
        try:
            _Phone(app, fake, url, secret, phone, user_id).run()
        finally:
            if sweeper is not None:
                sweeper.stop()
            server.shutdown()
            thread.join(timeout=5)


class _Settings:
    """Point the app at the fake Graph API for the session and restore its settings afterwards."""

    def __init__(self, app: Flask, fake: FakeGraph) -> None:
        self.app, self.fake, self.saved = app, fake, {}

    def __enter__(self) -> str:
        secret = secrets.token_hex(16)
        values = {
            "WHATSAPP_GRAPH_URL": self.fake.graph_url,
            "WHATSAPP_TOKEN": self.fake.token,
            "WHATSAPP_PHONE_NUMBER_ID": self.fake.phone_number_id,
            "WHATSAPP_APP_SECRET": secret,
            "WHATSAPP_MEDIA_ALLOW_LOOPBACK": True,  # the local fake serves the media on 127.0.0.1
        }
        self.saved = {key: self.app.config.get(key) for key in values}
        self.app.config.update(values)
        self.app.extensions.pop("kia_whatsapp_gateway", None)
        return secret

    def __exit__(self, *exc: object) -> None:
        self.app.config.update(self.saved)
        self.app.extensions.pop("kia_whatsapp_gateway", None)


def _scheduler(app: Flask) -> Any:
    if not app.config["KIA_SCHEDULER"]:
        return None
    from .scheduler import start_scheduler

    return start_scheduler(app)


class _Phone:
    def __init__(self, app: Flask, fake: FakeGraph, url: str, secret: str, phone: str, user_id: str) -> None:
        self.app, self.fake, self.secret, self.phone, self.user_id = app, fake, secret, phone, user_id
        self.http = httpx.Client(base_url=url, timeout=30)
        self.ids = itertools.count(1)
        self.shown = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        stop = threading.Event()
        printer = threading.Thread(target=self._print_forever, args=(stop,), daemon=True)
        printer.start()
        try:
            while True:
                try:
                    line = input().strip()
                except EOFError:
                    break
                if line in ("/keluar", "/exit"):
                    break
                if line:
                    self._send(line)
        finally:
            stop.set()
            printer.join(timeout=5)
            self._show_new()
            self.http.close()

    def _send(self, line: str) -> None:
        if line.startswith("/kirim"):
            path = Path(line[len("/kirim") :].strip()).expanduser()
            if not path.is_file():
                click.echo(f"(berkas tidak ditemukan: {path})")
                return
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            media_id = self.fake.add_media(path.read_bytes(), mime_type)
            kind = "image" if mime_type.startswith("image/") else "document"
            part: dict[str, Any] = {"type": kind, kind: {"id": media_id, "mime_type": mime_type}}
            if kind == "document":
                part[kind]["filename"] = path.name
        else:
            part = {"type": "text", "text": {"body": line}}
        before = len(self.fake.messages_to(self.phone))
        self.fake.inbound(self.phone, self.user_id)  # the phone wrote: its 24-hour window opens
        body = json.dumps(
            _payload(part, f"wamid.SIM{secrets.token_hex(6)}{next(self.ids)}", self.phone, self.user_id)
        ).encode()
        response = self.http.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(self.secret, body)},
        )
        if response.status_code != 200:
            click.echo(f"(webhook menjawab HTTP {response.status_code})")
            return
        outbox.deliver(self.app)  # also when no scheduler runs in this process
        self.fake.wait_for_messages(self.phone, before + 1, timeout=5)
        self._show_new()

    def _print_forever(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            self._show_new()

    def _show_new(self) -> None:
        with self.lock:
            messages = self.fake.messages_to(self.phone)
            for message in messages[self.shown :]:
                click.echo(_render(message))
            self.shown = len(messages)


def _payload(part: dict[str, Any], message_id: str, phone: str, user_id: str) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "0", "phone_number_id": "0"},
                            "contacts": [{"profile": {"name": "Simulator"}, "wa_id": phone, "user_id": user_id}],
                            "messages": [
                                {"from": phone, "from_user_id": user_id, "id": message_id, "timestamp": "0", **part}
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _render(message: dict[str, Any]) -> str:
    kind = message.get("type")
    if kind == "text":
        text = message["text"]["body"]
    elif kind == "template":
        template = message["template"]
        values = [p.get("text", "") for c in template.get("components", []) for p in c.get("parameters", [])]
        text = f"[template {template['name']}] " + " | ".join(values)
    elif kind == "document":
        text = f"[dokumen {message['document'].get('filename', '')}] {message['document'].get('caption', '')}"
    else:
        text = f"[{kind}]"
    return "KIA > " + text.replace("\n", "\n      ") + "\n"
