"""Helpers for the WhatsApp tests: Meta-shaped webhook payloads, signed posts, a chat driver."""

from __future__ import annotations

import itertools
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api import outbox
from handlers.whatsapp.fake_graph import FakeGraph
from handlers.whatsapp.webhook import sign

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE = "6281234567890"
USER_ID = "ID.1297456843157"
_ids = itertools.count(1)
# Answers for application_data(): a girl under five in Binawidya, her mother applying.
ANSWERS = [
    "Siti Rahmawati",
    "2",
    "ini",
    "siti@example.com",
    "Aisyah Putri Ramadhani",
    "1471085005230001",
    "2",
    "10-05-2023",
    "Pekanbaru",
    "1471081506230002",
    "1471-LT-15062023-0001",
    "Jl. Garuda Sakti Km 3 No. 12",
    "Binawidya",
]


def new_message_id() -> str:
    return f"wamid.TEST{next(_ids):08d}"


def message_payload(
    part: dict[str, Any], phone: str | None = PHONE, user_id: str | None = USER_ID, message_id: str | None = None
) -> dict[str, Any]:
    """A ``messages`` webhook as Meta documents it; ``phone`` None for a username-only user."""
    contact: dict[str, Any] = {"profile": {"name": "Siti"}}
    message: dict[str, Any] = {"id": message_id or new_message_id(), "timestamp": "1764300000", **part}
    if phone:
        contact["wa_id"] = phone
        message["from"] = phone
    if user_id:
        contact["user_id"] = user_id
        message["from_user_id"] = user_id
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
                            "contacts": [contact],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text}}


def media_part(fake: FakeGraph, content: bytes, mime_type: str, as_document: bool) -> dict[str, Any]:
    media_id = fake.add_media(content, mime_type)
    if as_document:
        return {
            "type": "document",
            "document": {"id": media_id, "mime_type": mime_type, "filename": "kk.pdf", "sha256": "x"},
        }
    return {"type": "image", "image": {"id": media_id, "mime_type": mime_type, "sha256": "x"}}


def status_payload(message_id: str, status: str, recipient: str = PHONE) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1234567890"},
                            "statuses": [
                                {
                                    "id": message_id,
                                    "status": status,
                                    "timestamp": "1764300100",
                                    "recipient_id": recipient,
                                    "recipient_user_id": USER_ID,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def post(client: FlaskClient, payload: dict[str, Any], secret: str = APP_SECRET):  # noqa: ANN201
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/whatsapp",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(secret, body)},
    )


def configure(app: Flask, fake: FakeGraph, monkeypatch: Any) -> None:
    """Point ``app`` at the fake Graph API (settings restored after the test)."""
    for key, value in {
        "WHATSAPP_GRAPH_URL": fake.graph_url,
        "WHATSAPP_TOKEN": fake.token,
        "WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_MEDIA_ALLOW_LOOPBACK": True,  # the fake serves its media on 127.0.0.1 over http
    }.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.delitem(app.extensions, "kia_whatsapp_gateway", raising=False)


class Phone:
    """The applicant's phone: sends through the real webhook, reads what the fake Graph API received."""

    def __init__(
        self, client: FlaskClient, app: Flask, fake: FakeGraph, phone: str | None = PHONE, user_id: str | None = USER_ID
    ) -> None:
        self.client, self.app, self.fake, self.phone, self.user_id = client, app, fake, phone, user_id
        self.seen = 0

    @property
    def address(self) -> str:
        return self.phone or self.user_id or ""

    def send(self, part: dict[str, Any], message_id: str | None = None) -> list[str]:
        self.fake.inbound(self.phone, self.user_id)  # as Meta sees it: this person wrote to the business
        response = post(self.client, message_payload(part, self.phone, self.user_id, message_id))
        assert response.status_code == 200, response.get_json()
        return self.replies()

    def say(self, text: str) -> list[str]:
        return self.send(text_part(text))

    def replies(self) -> list[str]:
        outbox.deliver(self.app)
        received = self.fake.messages_to(self.address)
        new, self.seen = received[self.seen :], len(received)
        return [m["text"]["body"] for m in new if m.get("type") == "text"]
