"""Configuration from the environment, with safe defaults for a local run."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from .headers import PAGE_CSP

ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "off", "false", "no"}


def _list(value: str | None, default: list[str]) -> list[str]:
    if value is None or not value.strip():
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def from_environment(instance_path: str) -> dict[str, Any]:
    """Flask config keys built from environment variables (documented in the README)."""
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'kia.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DOCUMENT_DIR": env.get("KIA_DOCUMENT_DIR") or str(Path(instance_path) / "documents"),
        "MAX_UPLOAD_BYTES": int(env.get("KIA_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)),
        "DOCUMENT_RETENTION_DAYS": int(env.get("KIA_DOCUMENT_RETENTION_DAYS", 365)),  # after the hand-over
        "MAX_IMAGE_PIXELS": int(env.get("KIA_MAX_IMAGE_PIXELS", 40_000_000)),  # width x height an upload may declare
        "MAX_CONTENT_LENGTH": int(env.get("KIA_MAX_REQUEST_BYTES", 20 * 1024 * 1024)),
        "KIA_WORKING_TIME": _bool(env.get("KIA_WORKING_TIME"), True),
        "KIA_SCHEDULER": _bool(env.get("KIA_SCHEDULER"), True),
        "KIA_ESCALATION_CAP": int(env.get("KIA_ESCALATION_CAP", 3)),
        # who is told at each escalation level (engine.notifications): "1=lane;2=lane,supervisor"
        "KIA_ESCALATION_RECIPIENTS": env.get("KIA_ESCALATION_RECIPIENTS") or "1=lane;2=lane,supervisor",
        # a correction note not delivered after this long marks the correction task and tells the admins
        "KIA_NOTE_UNDELIVERED_AFTER": int(env.get("KIA_NOTE_UNDELIVERED_AFTER") or 4 * 3600),
        # the parent's reminder after this many working days at the UPTD; not collected after these calendar days
        "KIA_COLLECTION_REMINDER_DAYS": int(env.get("KIA_COLLECTION_REMINDER_DAYS") or 5),
        "KIA_UNCOLLECTED_DAYS": int(env.get("KIA_UNCOLLECTED_DAYS") or 30),
        "KIA_SIAK": env.get("KIA_SIAK") or "local",
        "KIA_BUNDLED_DIAGRAM": str(ROOT / "bpmn" / "kia_whatsapp.bpmn"),
        "PUBLIC_BASE_URL": env.get("KIA_PUBLIC_URL", "http://127.0.0.1:5000"),
        "TOKEN_TTL_SECONDS": int(env.get("KIA_TOKEN_TTL", 8 * 3600)),
        "SESSION_IDLE_SECONDS": 60 * int(env.get("KIA_SESSION_IDLE_MINUTES", 30)),  # staff sessions
        "STATUS_RATE_LIMIT": int(env.get("KIA_STATUS_RATE_LIMIT", 30)),  # lookups per client per minute
        "LOGIN_RATE_LIMIT": int(env.get("KIA_LOGIN_RATE_LIMIT", 10)),
        "SUBMIT_RATE_LIMIT": int(env.get("KIA_SUBMIT_RATE_LIMIT", 10)),  # per client (or WhatsApp user) per hour
        "TRUST_PROXY": _bool(env.get("KIA_TRUST_PROXY"), False),
        "HSTS_SECONDS": int(env.get("KIA_HSTS_SECONDS", 0)),
        "CONTENT_SECURITY_POLICY": env.get("KIA_CSP") or PAGE_CSP,
        **whatsapp_and_mail(env),
        **operations(env),
        **papers(env),
    }


def papers(env: Any) -> dict[str, Any]:
    """The letterhead (kop surat) and the letter numbers of the printed papers."""
    return {
        "LETTERHEAD_GOVERNMENT": env.get("KIA_LETTERHEAD_GOVERNMENT") or "Pemerintah Kota Pekanbaru",
        "LETTERHEAD_OFFICE": env.get("KIA_LETTERHEAD_OFFICE") or "Dinas Kependudukan dan Pencatatan Sipil",
        "LETTERHEAD_ADDRESS": env.get("KIA_LETTERHEAD_ADDRESS") or "Jl. Jenderal Sudirman, Kota Pekanbaru, Riau",
        "LETTERHEAD_PHONE": env.get("KIA_LETTERHEAD_PHONE", ""),
        "LETTERHEAD_WEBSITE": env.get("KIA_LETTERHEAD_WEBSITE", ""),
        "LETTERHEAD_LOGO": env.get("KIA_LETTERHEAD_LOGO") or "",  # empty: the bundled neutral mark
        "LETTER_NUMBER_FORMAT": env.get("KIA_LETTER_NUMBER_FORMAT") or "470/{seq:03d}/Disdukcapil/{roman_month}/{year}",
    }


def whatsapp_and_mail(env: Any) -> dict[str, Any]:
    """The WhatsApp Cloud API and SMTP settings; without them the service runs and notices wait."""
    return {
        "WHATSAPP_GRAPH_URL": env.get("WHATSAPP_GRAPH_URL") or "https://graph.facebook.com/v21.0",
        "WHATSAPP_TOKEN": env.get("WHATSAPP_TOKEN", ""),
        "WHATSAPP_PHONE_NUMBER_ID": env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        "WHATSAPP_PUBLIC_NUMBER": env.get("KIA_WHATSAPP_NUMBER", ""),  # shown on the public page, e.g. 0811...
        "WHATSAPP_APP_SECRET": env.get("WHATSAPP_APP_SECRET", ""),
        "WHATSAPP_VERIFY_TOKEN": env.get("WHATSAPP_VERIFY_TOKEN", ""),
        "WHATSAPP_TEMPLATE_LANGUAGE": env.get("WHATSAPP_TEMPLATE_LANGUAGE") or "id",
        # media downloads: https only, to these hosts (or the Graph API host), never to private addresses
        "WHATSAPP_MEDIA_HOSTS": _list(env.get("WHATSAPP_MEDIA_HOSTS"), ["lookaside.fbsbx.com"]),
        "WHATSAPP_MEDIA_TOKEN_HOSTS": _list(env.get("WHATSAPP_MEDIA_TOKEN_HOSTS"), ["lookaside.fbsbx.com"]),
        "WHATSAPP_MEDIA_ALLOW_LOOPBACK": _bool(env.get("WHATSAPP_MEDIA_ALLOW_LOOPBACK"), False),
        # approved template names (and languages) per notice kind: "correction_note=name:id;receipt=..."
        "WHATSAPP_TEMPLATES": env.get("WHATSAPP_TEMPLATES", ""),
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT") or 587),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT") or 20),
        "MAIL_FROM": env.get("MAIL_FROM") or "Disdukcapil Kota Pekanbaru <noreply@localhost>",
        "OUTBOX_INTERVAL_SECONDS": float(env.get("KIA_OUTBOX_INTERVAL") or 2),
        "OUTBOX_MAX_ATTEMPTS": int(env.get("KIA_OUTBOX_MAX_ATTEMPTS") or 12),
    }


def operations(env: Any) -> dict[str, Any]:
    """Health, readiness, metrics and logging (the README's "Operating it")."""
    return {
        "KIA_METRICS": _bool(env.get("KIA_METRICS"), True),
        "METRICS_TOKEN": env.get("KIA_METRICS_TOKEN", ""),
        "METRICS_ALLOW": [a.strip() for a in (env.get("KIA_METRICS_ALLOW") or "127.0.0.1,::1").split(",") if a.strip()],
        "HEARTBEAT_INTERVAL_SECONDS": float(env.get("KIA_HEARTBEAT_INTERVAL") or 5),
        "HEARTBEAT_MAX_AGE_SECONDS": float(env.get("KIA_HEARTBEAT_MAX_AGE") or 30),
        "LOG_FORMAT": (env.get("KIA_LOG_FORMAT") or "text").strip().lower(),
        # seconds the engine clock runs ahead of (negative: behind) the system clock: training and tests
        "CLOCK_OFFSET_SECONDS": float(env.get("KIA_CLOCK_OFFSET") or 0),
    }
