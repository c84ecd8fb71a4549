"""The outbox delivery job: channel settings from the app's configuration, run by the scheduler."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import sessionmaker

from engine.kia import notifications
from engine.workflow.clock import clock
from handlers.delivery import Report, Senders, deliver_due
from handlers.mail import SmtpSettings
from handlers.whatsapp import templates
from handlers.whatsapp.gateway import Gateway, GraphGateway, MediaPolicy

from .extensions import db

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would fill the log on every send
JOB_ID = "outbox"


def gateway_for(app: Flask) -> Gateway | None:
    """The app's WhatsApp gateway (one per app), or None without WHATSAPP_TOKEN and phone number id."""
    config = app.config
    if not (config.get("WHATSAPP_TOKEN") and config.get("WHATSAPP_PHONE_NUMBER_ID")):
        return None
    if "kia_whatsapp_gateway" not in app.extensions:
        policy = MediaPolicy(
            hosts=tuple(config["WHATSAPP_MEDIA_HOSTS"]),
            token_hosts=tuple(config["WHATSAPP_MEDIA_TOKEN_HOSTS"]),
            allow_loopback=config["WHATSAPP_MEDIA_ALLOW_LOOPBACK"],
        )
        app.extensions["kia_whatsapp_gateway"] = GraphGateway(
            config["WHATSAPP_GRAPH_URL"],
            config["WHATSAPP_TOKEN"],
            config["WHATSAPP_PHONE_NUMBER_ID"],
            media_policy=policy,
        )
    return app.extensions["kia_whatsapp_gateway"]


def senders_for(app: Flask) -> Senders:
    config = app.config
    smtp = (
        SmtpSettings(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_USER"],
            config["SMTP_PASSWORD"],
            config["MAIL_FROM"],
            config["SMTP_TIMEOUT"],
        )
        if config.get("SMTP_HOST")
        else None
    )
    return Senders(
        whatsapp=gateway_for(app),
        smtp=smtp,
        templates=templates.configured(config["WHATSAPP_TEMPLATES"], config["WHATSAPP_TEMPLATE_LANGUAGE"]),
        public_url=config["PUBLIC_BASE_URL"],
        max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
    )


def deliver(app: Flask, only: list[int] | None = None) -> Report:
    """Deliver what is due (or just ``only``) with the app's settings; then mark the correction tasks
    whose note has not reached the applicant (``engine.kia.notifications``)."""
    with app.app_context():
        sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
    report = deliver_due(sessions, senders_for(app), only=only)
    with sessions() as session, session.begin():
        notifications.flag_undelivered_notes(
            session, clock.now(), timedelta(seconds=app.config["KIA_NOTE_UNDELIVERED_AFTER"])
        )
    return report


def add_job(scheduler: Any, app: Flask) -> None:
    """Register the delivery job on the scheduler (an APScheduler ``BackgroundScheduler``)."""

    def run() -> None:
        try:
            deliver(app)
        except Exception as exc:  # the database may be down: try again at the next tick
            log.warning("outbox delivery tick failed: %s", type(exc).__name__)

    scheduler.add_job(
        run,
        "interval",
        seconds=app.config["OUTBOX_INTERVAL_SECONDS"],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=1),
    )
    app.extensions["kia_outbox_scheduler"] = scheduler


def kick(app: Flask) -> None:
    """Run the delivery job now (new replies are waiting) when this process runs the scheduler."""
    scheduler = app.extensions.get("kia_outbox_scheduler")
    if scheduler is not None:
        try:
            scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))
        except Exception as exc:  # the scheduler is shutting down
            log.debug("outbox kick skipped: %s", type(exc).__name__)
