"""The hot paths stay lean (issue 7): no N+1 queries, no diagram or state where a page needs neither,
one write of the instance per step, one atomic statement per rate-limit hit. On SQLite and PostgreSQL.

These count statements, not milliseconds: speed itself is measured by ``make bench``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import sessionmaker

from api.extensions import db
from engine.models import Instance, Outbox, RateLimit, Timer
from engine.workflow import timers
from engine.workflow.clock import clock
from engine.workflow.database import insert_rows

from .helpers import inbox, submit, token


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _lock_version(app: Flask, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Instance.lock_version).where(Instance.business_key == code))


def test_each_step_writes_the_instance_once(client: FlaskClient, app: Flask) -> None:
    code = submit(client).get_json()["code"]
    admin = token(client, "admin1")
    [task] = [t for t in inbox(client, admin) if t["application_code"] == code]
    before = _lock_version(app, code)
    with statements(app) as seen:
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=admin)
    assert response.status_code == 200, response.get_json()
    # the step passes a milestone (status) and saves the state: one UPDATE carries both
    assert _lock_version(app, code) == before + 1
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE INSTANCES")]
    assert len(updates) == 1, updates
    # the new task row is written whole (with its deadline), not inserted and then updated
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE TASKS SET DUE_AT")]


def _inbox_statements(client: FlaskClient, app: Flask, headers: dict) -> tuple[int, list[str]]:
    with statements(app) as seen:
        response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200
    return len(response.get_json()["items"]), list(seen)


def test_inbox_has_no_n_plus_1_and_reads_neither_state_nor_diagram(client: FlaskClient, app: Flask) -> None:
    admin = token(client, "admin1")
    submit(client)
    one, seen_one = _inbox_statements(client, app, admin)
    for _ in range(3):
        submit(client)
    four, seen_four = _inbox_statements(client, app, admin)
    assert (one, four) == (1, 4)
    assert len(seen_four) == len(seen_one)
    joined = " ".join(seen_four).lower()
    assert "bpmn_xml" not in joined and "instances.state" not in joined


def test_inbox_counts_and_pages_from_the_tasks_alone(client: FlaskClient, app: Flask) -> None:
    """The count and the page's ids read only ``tasks`` (the inbox index); pages are disjoint, complete and
    in deadline order, so paging through a large inbox never repeats or skips a task."""
    admin = token(client, "admin1")
    codes = {submit(client).get_json()["code"] for _ in range(5)}
    with statements(app) as seen:
        response = client.get("/api/v1/tasks?limit=2", headers=admin)
    assert response.status_code == 200 and response.get_json()["total"] == 5
    counts = [s.lower() for s in seen if "count(" in s.lower()]
    assert len(counts) == 1 and "applications" not in counts[0], counts
    everything = inbox(client, admin, limit="50")
    pages = [t for offset in (0, 2, 4) for t in inbox(client, admin, limit="2", offset=str(offset))]
    assert [t["id"] for t in pages] == [t["id"] for t in everything]
    assert {t["application_code"] for t in pages} == codes
    deadlines = [t["due_at"] for t in pages]
    assert deadlines == sorted(deadlines)


def test_status_lookup_reads_no_diagram(client: FlaskClient, app: Flask) -> None:
    code = submit(client).get_json()["code"]
    with statements(app) as seen:
        assert client.get(f"/api/v1/status/{code}").status_code == 200
    assert "bpmn_xml" not in " ".join(seen).lower()
    # rate-limit hit (one upsert), application, history, open tasks, kecamatan: nothing per step
    assert len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]) <= 6


def test_rate_limit_counts_in_one_statement_and_a_new_minute_starts_afresh(
    app_factory, database_url: str, app: Flask
) -> None:  # noqa: ANN001
    limited = app_factory(database_url, STATUS_RATE_LIMIT=3)
    client = limited.test_client()
    clock.freeze(datetime(2026, 11, 30, 3, 0, 10, tzinfo=UTC))
    with statements(limited) as seen:
        assert client.get("/api/v1/status/ABCDEFGHJKMN").status_code == 404
    hits = [s for s in seen if "rate_limits" in s.lower()]
    assert len(hits) == 1 and "on conflict" in hits[0].lower()
    assert [client.get("/api/v1/status/ABCDEFGHJKMN").status_code for _ in range(3)] == [404, 404, 429]
    clock.advance(timedelta(minutes=1))
    assert client.get("/api/v1/status/ABCDEFGHJKMN").status_code == 404
    with limited.app_context():
        [row] = db.session.scalars(select(RateLimit)).all()
        assert row.count == 1 and row.window_start == datetime(2026, 11, 30, 3, 1, tzinfo=UTC)


def test_concurrent_hits_are_all_counted(app: Flask) -> None:
    threads, per_thread = 4, 5
    clock.freeze(datetime(2026, 11, 30, 3, 0, 10, tzinfo=UTC))  # one window: a minute boundary would split the count
    barrier = threading.Barrier(threads)

    def hit() -> None:
        with app.test_client() as c:
            barrier.wait()
            for _ in range(per_thread):
                assert c.get("/api/v1/status/ABCDEFGHJKMN").status_code == 404

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    with app.app_context():
        assert sum(r.count for r in db.session.scalars(select(RateLimit))) == threads * per_thread


def _due_applications(client: FlaskClient, count: int) -> None:
    clock.freeze(datetime(2027, 9, 2, 3, 0, tzinfo=UTC))
    for _ in range(count):
        assert submit(client).status_code == 201
    clock.freeze(datetime(2027, 9, 2, 4, 0, tzinfo=UTC))  # verification's hour is up (working time off)


def _record(app: Flask) -> int:
    with app.app_context():
        return timers.record_due(sessionmaker(bind=db.engine, expire_on_commit=False), clock.now())


def test_recording_due_escalations_takes_the_same_statements_for_two_or_twenty(client: FlaskClient, app: Flask) -> None:
    """The record phase is set-based: its statements do not grow with the number of due timers."""
    counts = []
    for burst in (2, 20):
        _due_applications(client, burst)
        with statements(app) as seen:
            assert _record(app) == burst
        counts.append(len(seen))
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "recorded")) == sum(
                (2, 20)[: len(counts)]
            )
            db.session.rollback()
    assert counts[0] == counts[1] and counts[0] <= 12, counts


def test_bulk_insert_fills_the_model_defaults_and_json_like_the_orm(app: Flask) -> None:
    """``insert_rows`` (COPY on PostgreSQL) stores what an ORM insert of the same values would."""
    now = datetime(2027, 9, 2, 4, 0, tzinfo=UTC)
    row = dict(
        instance_id=None,
        channel="email",
        kind="staff_notice",
        recipient="supervisor1@example.com",
        payload={"text": "Eskalasi tingkat 1: ‘Verifikasi’ — ✓", "level": 1, "nested": [1, None]},
        next_attempt_at=now,
        created_at=now,
    )
    with app.app_context():
        insert_rows(db.session, Outbox.__table__, [dict(row, recipient=f"bulk{i}") for i in range(3)])
        db.session.add(Outbox(**dict(row, recipient="orm")))
        db.session.commit()
        stored = {
            o.recipient: o
            for o in db.session.scalars(select(Outbox).where(Outbox.kind == "staff_notice", Outbox.channel == "email"))
        }
        orm = stored.pop("orm")
        assert sorted(stored) == ["bulk0", "bulk1", "bulk2"]
        for bulk in stored.values():
            assert (bulk.payload, bulk.status, bulk.attempts, bulk.next_attempt_at, bulk.instance_id) == (
                orm.payload,
                orm.status,
                orm.attempts,
                orm.next_attempt_at,
                orm.instance_id,
            )
            assert (bulk.status, bulk.attempts) == ("pending", 0)
