"""(5) Timers: N deadlines falling due at the same instant; how long until all are escalated, and the
delay from each deadline to its escalation being committed (p50, p99).

Set-up: one real application is submitted and waits at the admin's verification with its boundary
timer. Its serialized state is cloned N times with fresh task ids (every UUID in the state replaced),
together with its instance, application, task and timer rows, and every timer's deadline is set to one
instant a few seconds ahead. At that instant one or two sweeper processes (``engine.workflow.timers.fire_due``,
exactly what the scheduler runs; PostgreSQL's ``SKIP LOCKED`` shares the work) start firing.

The delay is measured to the commit that made the escalation visible: the sweep's record phase (the
task flagged overdue, the ``escalated`` event, the supervisors' notices, the next level planned, in
chunks of 500). ``workflows_caught_up_s`` is when every workflow had also taken its boundary path (the
catch-up phase). The real scheduler wakes at the
deadline it knows of (and checks every second for new ones), which adds up to a second to these figures
for deadlines it learned of late.
"""

from __future__ import annotations

import multiprocessing
import re
import time
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import sessionmaker

from engine.models import Application, Event, Instance, TaskRow, Timer
from engine.workflow.database import make_engine, make_session_factory

from .common import KECAMATAN, Database, percentile

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _one_waiting_case(db: Database) -> int:
    """Submit one real application (waits at verification); its instance id."""
    from .engine_bound import _register_handlers

    _register_handlers()
    import forms
    from engine.kia import applications
    from engine.kia.applications import Upload

    from .common import PDF_BYTES, PNG_BYTES, application

    sessions = make_session_factory(db.url)
    with sessions() as session:
        app, _ = applications.submit(
            session,
            forms.validate_application(application(KECAMATAN[7])),
            [Upload("kk", PDF_BYTES), Upload("akta", PNG_BYTES)],
            document_dir=f"{db.workdir}/documents",
        )
        session.commit()
        instance_id = app.instance_id
    sessions.kw["bind"].dispose()
    return instance_id


def clone(db: Database, count: int, due_at: datetime) -> None:
    """``count`` copies of one waiting case, every timer due at ``due_at``."""
    source_id = _one_waiting_case(db)
    sessions = make_session_factory(db.url)
    with sessions() as session:
        source = session.get(Instance, source_id)
        app = session.scalar(select(Application).where(Application.instance_id == source_id))
        [task] = session.scalars(select(TaskRow).where(TaskRow.instance_id == source_id, TaskRow.state == "open"))
        [timer] = session.scalars(select(Timer).where(Timer.instance_id == source_id, Timer.state == "waiting"))
        source_state = zlib.decompress(source.state)
        ids = sorted(set(_UUID.findall(source_state)))
        base_id = session.scalar(select(func.max(Instance.id)))
        instances, apps, tasks, timers = [], [], [], []
        for n in range(count):
            fresh = {old: str(uuid.uuid4()).encode() for old in ids}
            state = _UUID.sub(lambda m, fresh=fresh: fresh.get(m.group(0), m.group(0)), source_state)
            iid = base_id + 1 + n
            code = "T" + f"{n:011d}".replace("0", "C").replace("1", "D")
            instances.append(
                dict(
                    id=iid,
                    process_version_id=source.process_version_id,
                    business_key=code,
                    kecamatan=source.kecamatan,
                    status=source.status,
                    state=zlib.compress(state, 1),
                    lock_version=1,
                    created_at=source.created_at,
                    updated_at=source.updated_at,
                )
            )
            apps.append(
                dict(
                    instance_id=iid,
                    code=code,
                    pin_hash=app.pin_hash,
                    channel=app.channel,
                    kia_kind=app.kia_kind,
                    applicant=app.applicant,
                    child=app.child,
                    warnings={},
                    created_at=app.created_at,
                )
            )
            tasks.append(
                {c.key: getattr(task, c.key) for c in TaskRow.__table__.columns}
                | dict(id=fresh[task.id.encode()].decode(), instance_id=iid, due_at=due_at)
            )
            timers.append(
                {c.key: getattr(timer, c.key) for c in Timer.__table__.columns}
                | dict(
                    id=fresh[timer.id.encode()].decode(),
                    instance_id=iid,
                    task_id=fresh[timer.task_id.encode()].decode(),
                    due_at=due_at,
                )
            )
        for model, rows in ((Instance, instances), (Application, apps), (TaskRow, tasks), (Timer, timers)):
            for start in range(0, len(rows), 1000):
                session.execute(insert(model), rows[start : start + 1000])
        # the source case takes part too, due at the same instant
        session.execute(update(Timer).where(Timer.instance_id == source_id).values(due_at=due_at))
        session.execute(update(TaskRow).where(TaskRow.instance_id == source_id).values(due_at=due_at))
        session.commit()
    # planner statistics for the new rows, as autovacuum would gather them on a live database
    with sessions.kw["bind"].connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    sessions.kw["bind"].dispose()


def _sweeper(url: str, start_at: float, results: Any) -> None:
    """One sweeper process: wait for the deadline, fire until nothing is due, report commit times."""
    from .engine_bound import _register_handlers

    _register_handlers()
    commits: list[tuple[float, int]] = []
    sessions = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    time.sleep(max(0.0, start_at - time.time()))
    from engine.workflow.timers import fire_due

    fire_due(sessions, on_commit=lambda count: commits.append((time.time(), count)))
    results.put((commits, time.time()))
    sessions.kw["bind"].dispose()


def measure(db: Database, count: int = 10_000, sweepers: int = 1) -> dict[str, Any]:
    lead = 8.0  # seconds to start the sweeper processes before the deadline
    started = time.perf_counter()
    due_epoch = time.time() + 3600  # placeholder: cloning happens first, the real deadline is set below
    clone(db, count, datetime.fromtimestamp(due_epoch, UTC))
    setup_s = time.perf_counter() - started
    due_epoch = time.time() + lead
    due_at = datetime.fromtimestamp(due_epoch, UTC)
    sessions = make_session_factory(db.url)
    with sessions() as session:
        session.execute(update(Timer).where(Timer.state == "waiting").values(due_at=due_at))
        session.execute(update(TaskRow).where(TaskRow.state == "open").values(due_at=due_at))
        session.commit()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_sweeper, args=(db.url, due_epoch, queue)) for _ in range(sweepers)]
    for p in procs:
        p.start()
    reports = [queue.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join(60)
    commits = [c for sweeper_commits, _ in reports for c in sweeper_commits]
    caught_up_s = max(finished for _, finished in reports) - due_epoch
    delays = [t - due_epoch for t, n in commits for _ in range(n)]
    with sessions() as session:
        escalated = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "escalated"))
        escalated_tasks = session.scalar(
            select(func.count(func.distinct(Event.task_id))).where(Event.kind == "escalated")
        )
        waiting = session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.state.in_(("waiting", "recorded")), Timer.due_at <= due_at)
        )
    sessions.kw["bind"].dispose()
    total = count + 1
    return {
        "timers": total,
        "sweepers": sweepers,
        "setup_s": round(setup_s, 1),
        "escalated": escalated,
        "escalated_twice": escalated - escalated_tasks,
        "left_waiting": waiting,
        "workflows_caught_up_s": round(caught_up_s, 1),
        "all_escalated_s": round(max(delays), 1) if delays else None,
        "per_s": round(len(delays) / max(delays), 1) if delays else None,
        "delay": {
            "p50_s": round(percentile(delays, 50), 2),
            "p99_s": round(percentile(delays, 99), 2),
            "max_s": round(max(delays), 2),
        }
        if delays
        else None,
    }
