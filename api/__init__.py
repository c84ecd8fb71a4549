"""The Flask application factory."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.kia import collection, siak
from engine.kia import documents as uploads
from engine.kia import notifications as staff_notices
from engine.ops import schema
from engine.workflow import escalation, worktime
from engine.workflow.clock import clock
from engine.workflow.database import configure_sqlite, engine_options

from . import audit, config, errors, headers, health, http, logs, metrics, papers, web
from .extensions import db, migrate
from .schemas import ErrorResponse


class KiaApi(Api):
    """flask-smorest's Api, documenting our error body for every error response (422 and default)."""

    ERROR_SCHEMA = ErrorResponse


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask("kia", instance_path=os.environ.get("KIA_INSTANCE_PATH") or str(config.ROOT / "instance"))
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_environment(app.instance_path))
    app.config.update(
        API_TITLE="Layanan KIA via WhatsApp – Disdukcapil Kota Pekanbaru",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]

    logs.configure(app.config["LOG_FORMAT"])
    offset = timedelta(seconds=app.config["CLOCK_OFFSET_SECONDS"])
    if offset != clock.start_offset:
        clock.start_offset = offset
        logging.getLogger("kia").warning("KIA_CLOCK_OFFSET: the engine clock runs %s from the system clock", offset)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per second otherwise
    logging.getLogger("spiff").setLevel(logging.WARNING)  # about 80 lines per case (every task state change)
    for noisy in ("weasyprint", "fontTools"):  # a line per rendering step / font subset otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(schema.DIRECTORY))
    with app.app_context():
        configure_sqlite(db.engine)

    api = KiaApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    from . import (
        applications,
        batches,
        calendar,
        decisions,
        distribution,
        documents,
        incidents,
        migrations,
        notifications,
        processes,
        reference,
        sla,
        status,
        tasks,
        tokens,
        users,
        whatsapp,
    )

    for module in (
        tokens,
        applications,
        status,
        tasks,
        processes,
        decisions,
        migrations,
        audit,
        calendar,
        sla,
        distribution,
        batches,
        documents,
        incidents,
        reference,
        whatsapp,
        notifications,
        users,
    ):
        api.register_blueprint(module.blp)
    errors.register(app)
    logs.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    audit.register(app)
    headers.register(app)
    http.register(app)
    web.init_app(app)
    worktime.configure(enabled=app.config["KIA_WORKING_TIME"])
    siak.configure(app.config["KIA_SIAK"])  # KIA_SIAK=remote refuses to start: not connected here
    escalation.configure(app.config["KIA_ESCALATION_CAP"])
    collection.configure(app.config["KIA_COLLECTION_REMINDER_DAYS"], app.config["KIA_UNCOLLECTED_DAYS"])
    uploads.configure(max_pixels=app.config["MAX_IMAGE_PIXELS"])
    staff_notices.configure(app.config["KIA_ESCALATION_RECIPIENTS"], app.config["PUBLIC_BASE_URL"])
    papers.configure_papers(app.config)

    import handlers as service_handlers  # noqa: F401  registers the diagram's service-task handlers

    from . import cli

    cli.register(app)
    return app
