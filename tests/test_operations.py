"""What operators watch: /healthz, /readyz, /metrics (Prometheus), JSON logs with the request id, and
``kia serve`` on gunicorn with one scheduler. ``/readyz`` with PostgreSQL stopped is in
tests/test_crash_safety.py (a private cluster)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from api import logs, outbox
from api.extensions import db
from bench.server import request, stop
from engine.models import DeliveryAttempt, Event, Outbox
from engine.ops import monitoring
from engine.workflow.clock import clock

from .helpers import ROOT, Mailbox, free_port
from .scripted import at, new_application, sweep


def samples(client: FlaskClient, **kwargs: object) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def beat(app: Flask, when: datetime | None = None) -> None:
    with app.app_context():
        monitoring.beat(db.session, when)
        db.session.commit()


def notice(app: Flask, channel: str, recipient: str, payload: dict) -> None:
    with app.app_context():
        kind = "application_code" if channel == "email" else "receipt"
        db.session.add(
            Outbox(channel=channel, kind=kind, recipient=recipient, payload=payload, next_attempt_at=clock.now())
        )
        db.session.commit()


def test_healthz_answers_without_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "alive"}
    assert response.headers["X-Request-Id"]


def test_readyz_wants_the_database_migrations_and_a_fresh_scheduler_heartbeat(app: Flask, client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"] is True
    assert body["reason"].startswith("scheduler: no scheduler heartbeat")

    beat(app, datetime.now(UTC) - timedelta(seconds=app.config["HEARTBEAT_MAX_AGE_SECONDS"] + 60))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] in {f"scheduler: scheduler heartbeat {n} s old (limit 30 s)" for n in (90, 91)}

    beat(app)
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ready" and "reason" not in response.get_json()


def test_readyz_answers_503_when_the_schema_is_behind_the_migrations(app: Flask, client: FlaskClient) -> None:
    from sqlalchemy import text

    beat(app)
    with app.app_context():
        versions = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        reason = response.get_json()["reason"]
        assert reason.startswith("migrations: database at revision none, code at ") and "kia db upgrade" in reason
    finally:
        with app.app_context():
            for version in versions:
                db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
            db.session.commit()
    assert client.get("/readyz").status_code == 200


def test_readyz_answers_503_when_the_database_is_unreachable(app_factory) -> None:  # noqa: ANN001
    nowhere = app_factory(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/kia")
    response = nowhere.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"] == {"database": {"ok": False, "reason": "unreachable (OperationalError)"}}
    assert body["reason"] == "database: unreachable (OperationalError)"
    assert nowhere.test_client().get("/healthz").status_code == 200


def test_the_scheduler_stamps_its_heartbeat(app: Flask) -> None:
    from api.scheduler import Sweeper

    Sweeper(app).beat()
    with app.app_context():
        stamped = monitoring.last_heartbeat(db.session)
    assert stamped is not None and abs((datetime.now(UTC) - stamped).total_seconds()) < 5


def test_metrics_hold_requests_tasks_backlog_lag_escalations_and_deliveries(
    app: Flask, client: FlaskClient, smtp: Mailbox
) -> None:
    before = samples(client)
    at("2027-09-02 10:00")
    new_application(client)  # an admin task in Binawidya (14.71.08)
    notice(app, "email", "siti@example.com", {"subject": "Kode", "text": "Kode permohonan"})
    notice(app, "whatsapp", "6281234567890", {"text": "Permohonan diterima."})  # no WhatsApp settings: waits
    at("2027-09-02 11:30")  # the admin's hour ran out at 11:00 and no sweep ran yet
    found = samples(client)
    submitted = ("kia_http_requests_total", {"endpoint": "/api/v1/applications", "method": "POST", "status": "201"})
    assert (value(found, submitted[0], **submitted[1]) or 0) - (value(before, submitted[0], **submitted[1]) or 0) == 1
    latency = {"endpoint": "/api/v1/applications", "method": "POST", "status": "201"}
    assert value(found, "kia_http_request_duration_seconds_count", **latency) >= 1
    assert value(found, "kia_http_request_duration_seconds_bucket", **latency, le="+Inf") >= 1
    assert value(found, "kia_tasks_open", lane="admin", kecamatan="14.71.08") == 1
    assert value(found, "kia_tasks_overdue", lane="admin", kecamatan="14.71.08") == 0
    assert value(found, "kia_scheduler_lag_seconds") == 30 * 60
    pending = {labels: n for (name, labels), n in found.items() if name == "kia_outbox_backlog"}
    assert pending and all(dict(labels)["state"] == "pending" for labels in pending), pending
    assert value(found, "kia_outbox_backlog", channel="email", state="pending") == 1
    assert value(found, "kia_outbox_backlog", channel="whatsapp", state="pending") == 1

    assert sweep(app) == 1  # the escalation
    report = outbox.deliver(app)  # the e-mails go out through the loopback SMTP server
    assert report.sent and smtp.messages
    found = samples(client)
    assert value(found, "kia_tasks_overdue", lane="admin", kecamatan="14.71.08") == 1
    assert value(found, "kia_scheduler_lag_seconds") == 0
    with app.app_context():
        escalated = db.session.scalars(select(Event.lane).where(Event.kind == "escalated")).all()
        delivered = db.session.query(DeliveryAttempt).filter_by(ok=True).count()
    assert escalated == ["admin"]
    assert value(found, "kia_escalations_total", lane="admin") == 1
    assert value(found, "kia_deliveries_total", channel="email", result="delivered") == delivered >= 1
    assert value(found, "kia_outbox_backlog", channel="email", state="pending") is None
    assert value(found, "kia_outbox_backlog", channel="whatsapp", state="pending") == 1
    assert value(found, "kia_scheduler_heartbeat_age_seconds") == float("inf")  # no scheduler ran


def test_running_counts_read_only_new_rows_and_settle(app: Flask) -> None:
    with app.app_context():
        session = db.session
        counter = monitoring.escalation_counter(settle=0)

        def add(lane: str, n: int) -> None:
            session.add_all(Event(kind="escalated", lane=lane, detail={}) for _ in range(n))
            session.add(Event(kind="completed", lane=lane, detail={}))  # not an escalation
            session.commit()

        add("admin", 2)
        assert counter.counts(session) == {("admin",): 2}
        add("operator", 1)
        assert counter.counts(session) == {("admin",): 2, ("operator",): 1}
        assert counter.watermark > 0 and counter.settled == {("admin",): 2}  # the first read settled
        add("admin", 3)
        assert counter.counts(session) == {("admin",): 5, ("operator",): 1}
        assert counter.counts(session) == {("admin",): 5, ("operator",): 1}  # nothing new: the same
        session.rollback()


def test_metrics_are_for_the_configured_addresses_or_token_only(app: Flask, client: FlaskClient) -> None:
    outside = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert client.get("/metrics", **outside).status_code == 403
    app.config["METRICS_TOKEN"] = "rahasia-metrik"
    try:
        assert client.get("/metrics", headers={"Authorization": "Bearer salah"}, **outside).status_code == 403
        assert samples(client, headers={"Authorization": "Bearer rahasia-metrik"}, **outside)
        app.config["METRICS_ALLOW"] = ["203.0.113.0/24"]
        assert samples(client, **outside)
    finally:
        app.config["METRICS_TOKEN"], app.config["METRICS_ALLOW"] = "", ["127.0.0.1", "::1"]
    assert client.get("/healthz", **outside).status_code == 200  # health is for everyone


def test_metrics_off_means_no_endpoint(app_factory, database_url: str) -> None:  # noqa: ANN001
    quiet = app_factory(database_url, KIA_METRICS=False)
    assert quiet.test_client().get("/metrics").status_code == 404


def test_json_log_lines_carry_the_request_id(app: Flask, client: FlaskClient) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        response = client.get("/readyz", headers={"X-Request-Id": "lb-7f3a.01"})  # 503: logs its reason
        generated = client.get("/readyz", headers={"X-Request-Id": "not a token; x" * 9})
        logging.getLogger("kia.test").warning("outside a request")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.headers["X-Request-Id"] == "lb-7f3a.01"
    assert generated.headers["X-Request-Id"] != "not a token; x" * 9 and len(generated.headers["X-Request-Id"]) == 32
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message", "request_id"} <= set(records[0])
    ids = [r["request_id"] for r in records if r["logger"] == "api.health"]
    assert ids == ["lb-7f3a.01", generated.headers["X-Request-Id"]]
    assert records[-1]["request_id"] == "-" and records[-1]["message"] == "outside a request"


@pytest.mark.slow
def test_kia_serve_runs_gunicorn_workers_and_one_scheduler(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KIA_INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "serve-test",
        "KIA_WORKING_TIME": "off",
        "KIA_HEARTBEAT_INTERVAL": "1",
    }
    env.pop("DATABASE_URL", None)  # SQLite under the instance path, as `make run`
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    kia = [sys.executable, "-c", "from api.cli import main; main()"]
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [*kia, "serve", "--port", str(port), "--workers", "2"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if request(port, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        output = (tmp_path / "serve.log").read_text()
        assert "dengan gunicorn (server WSGI produksi), 2 worker" in output and "penjadwal: 1 proses" in output
        children = _children(process.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children]
        assert sum(1 for c in commands if b"scheduler" in c) == 1
        gunicorn = next(pid for pid, c in zip(children, commands, strict=True) if b"gunicorn" in c)
        assert len(_children(gunicorn)) == 2  # the workers

        for _ in range(20):  # spread over both workers
            assert request(port, "GET", "/healthz")[0] == 200
        status, body = request(port, "GET", "/metrics")
        assert status == 200
        counted = {
            s.name: s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
            if s.labels.get("endpoint") == "/healthz" and s.name == "kia_http_requests_total"
        }
        assert counted == {"kia_http_requests_total": 20}  # every worker's requests, added up
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        finally:
            stop(process, 5)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []
