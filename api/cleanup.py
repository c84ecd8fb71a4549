"""The daily clean-up (``engine.ops.retention``): ``kia cleanup`` by hand, and a job of the scheduler."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import sessionmaker

from engine.ops import retention

from .extensions import db

log = logging.getLogger(__name__)
JOB_ID = "cleanup"
INTERVAL_HOURS = 24


def run(app: Flask, retention_days: int | None = None) -> retention.CleanupReport:
    with app.app_context():
        sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
        days = app.config["DOCUMENT_RETENTION_DAYS"] if retention_days is None else retention_days
        return retention.run(sessions, app.config["DOCUMENT_DIR"], days)


def add_job(scheduler: Any, app: Flask) -> None:
    """Register the clean-up on the scheduler: once a day (and an hour after the scheduler starts)."""

    def job() -> None:
        try:
            run(app)
        except Exception as exc:  # the database may be down: try again tomorrow
            log.warning("clean-up failed: %s", type(exc).__name__)

    scheduler.add_job(
        job,
        "interval",
        hours=INTERVAL_HOURS,
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now().astimezone() + timedelta(hours=1),
    )


@click.command("cleanup")
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=None,
    help="delete the documents of applications handed over longer ago (default KIA_DOCUMENT_RETENTION_DAYS)",
)
@with_appcontext
def cleanup_command(retention_days: int | None) -> None:
    """Delete document files no row refers to, old applications' documents, stale chat drafts; blank
    sent messages that held personal data."""
    report = run(current_app._get_current_object(), retention_days)  # type: ignore[attr-defined]
    click.echo(
        f"{report.orphan_files} orphan file(s) deleted; documents of {report.expired_applications} application(s) "
        f"deleted ({report.expired_documents} document(s)); {report.cleared_drafts} stale chat draft(s) cleared; "
        f"{report.blanked_messages} sent message(s) blanked"
    )
