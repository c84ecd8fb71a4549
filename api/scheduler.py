"""The scheduler: fires due timers (and, later, delivers the outbox) in the background.

It wakes at the next deadline it knows of, and checks once a second for deadlines created by other
processes, so an escalation fires within about a second of its deadline. Every few seconds
(``KIA_HEARTBEAT_INTERVAL``) it stamps its heartbeat in the database, which ``/readyz`` checks.
Several schedulers may run at once (PostgreSQL): the sweep takes timers with SKIP LOCKED, so none fires twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import sessionmaker

from engine.ops import monitoring
from engine.workflow import timers
from engine.workflow.clock import clock

from . import cleanup, outbox
from .extensions import db

log = logging.getLogger(__name__)


class Sweeper:
    """Plans the next wake-up from the ``timers`` table and fires what is due."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._lock = threading.Lock()
        # ``plan`` adds a job, which takes APScheduler's job-store lock; ``shutdown(wait=True)`` holds that
        # lock while it waits for running jobs. So a plan must never be between the two when the scheduler
        # stops: ``stop`` waits for a running plan under ``_planning`` and then lets none add a job.
        self._planning = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        self.scheduler.add_job(
            self.plan,
            "interval",
            seconds=1,
            id="plan",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(clock.now().tzinfo),
        )
        self.scheduler.add_job(
            self.beat,
            "interval",
            seconds=self.app.config["HEARTBEAT_INTERVAL_SECONDS"],
            id="heartbeat",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        outbox.add_job(self.scheduler, self.app)
        cleanup.add_job(self.scheduler, self.app)
        self.scheduler.start()

    def stop(self) -> None:
        with self._planning:  # a running plan ends first; later ones return at once
            self._stopping = True
        self.scheduler.shutdown(wait=True)

    def plan(self) -> None:
        """Fire what is due now; schedule an exact wake-up for the next deadline."""
        with self._planning:
            if not self._stopping:
                self._plan()

    def _plan(self) -> None:
        try:
            self.fire()
            with self.sessions() as session:
                due = timers.next_due(session)
            if due is not None:
                self.scheduler.add_job(
                    self.fire,
                    "date",
                    run_date=clock.to_system(due),  # APScheduler sleeps on the system clock
                    id="fire",
                    replace_existing=True,
                    misfire_grace_time=None,
                )
        except Exception as exc:  # the database may be down: try again at the next tick
            log.warning("scheduler tick failed: %s", type(exc).__name__)

    def beat(self) -> None:
        """Say this scheduler is alive (``/readyz`` wants a fresh heartbeat)."""
        try:
            with self.sessions() as session:
                monitoring.beat(session)
                session.commit()
        except Exception as exc:  # the database may be down: /readyz says so meanwhile
            log.warning("scheduler heartbeat failed: %s", type(exc).__name__)

    def fire(self) -> int:
        with self._lock:
            fired = timers.fire_due(self.sessions)
        if fired:
            log.info("fired %d timer(s)", fired)
        return fired


def start_scheduler(app: Flask) -> Sweeper:
    sweeper = Sweeper(app)
    sweeper.start()
    app.extensions["kia_scheduler"] = sweeper
    return sweeper


def run_forever(app: Flask) -> None:
    sweeper = start_scheduler(app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler running")
    stop.wait()
    sweeper.stop()
