"""GET/POST /webhooks/whatsapp: the WhatsApp Cloud API webhook (handshake, signed deliveries)."""

from __future__ import annotations

import hmac

from flask import Response, current_app, request

from handlers.whatsapp import receive, webhook
from handlers.whatsapp.conversation import Context
from handlers.whatsapp.gateway import GatewayError

from . import outbox
from .errors import ApiError
from .extensions import db
from .http import Blueprint, json_loads

blp = Blueprint("whatsapp", __name__, url_prefix="/webhooks", description="WhatsApp Cloud API webhook")


@blp.route("/whatsapp", methods=["GET"])
def handshake() -> Response:
    """Meta's verification request: echo ``hub.challenge`` when ``hub.verify_token`` matches."""
    expected = current_app.config["WHATSAPP_VERIFY_TOKEN"]
    token = request.args.get("hub.verify_token", "")
    challenge = request.args.get("hub.challenge", "")
    if (
        request.args.get("hub.mode") == "subscribe"
        and expected
        and challenge
        and len(challenge) <= 200
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return Response(challenge, mimetype="text/plain")
    raise ApiError(403, "forbidden", "Verifikasi webhook gagal.")


@blp.route("/whatsapp", methods=["POST"])
def deliveries() -> dict:
    """A signed delivery of messages and statuses. The signature is checked on the raw body before
    anything is parsed; each message is processed once however often Meta delivers it."""
    body = request.get_data(cache=False)
    if not webhook.signature_valid(
        current_app.config["WHATSAPP_APP_SECRET"], body, request.headers.get(webhook.SIGNATURE_HEADER)
    ):
        raise ApiError(403, "invalid_signature", "Tanda tangan webhook tidak sah.")
    payload = json_loads(body)
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "Data harus berupa objek JSON.")
    messages, statuses = webhook.parse(payload)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ctx = Context(
        outbox.gateway_for(app),
        app.config["DOCUMENT_DIR"],
        app.config["MAX_UPLOAD_BYTES"],
        app.config["PUBLIC_BASE_URL"],
        app.config["SUBMIT_RATE_LIMIT"],
    )
    try:
        outcome = receive.process(db.session, messages, statuses, ctx, outbox.senders_for(app))
    except GatewayError:
        raise ApiError(
            503, "unavailable", "Media WhatsApp belum dapat diambil; coba lagi.", headers={"Retry-After": "30"}
        ) from None
    if outcome.replies or outcome.statuses:
        outbox.kick(app)
    return {"processed": outcome.processed, "duplicates": outcome.duplicates, "statuses": outcome.statuses}
