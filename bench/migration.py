"""Migration of running applications: 1,000 applications moved to a new version (target: under a minute).

Set-up: one real application is submitted and waits at verification; it is cloned ``count`` times with
fresh task ids (``bench.timers.clone``: instance, application, task and timer rows), half of the copies
claimed by an officer. Version 2 adds a quality check after printing (``tests.diagrams``). Each run
moves every running application with ``engine.workflow.migration`` exactly as
``POST /api/v1/processes/{key}/migrations`` does: one transaction per application. The runs alternate
direction (1 -> 2, 2 -> 1, ...), so each moves all of them. Reported: the dry run and each execution in
seconds, per-application milliseconds, and a check that every open task kept its id, claimant and
deadline.

python -m bench.migration                       # 1,000 applications, 3 runs, SQLite and PostgreSQL
python -m bench.migration --count 200 --runs 1 --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from engine.models import Instance, TaskRow
from engine.workflow import definitions, migration
from engine.workflow.database import make_session_factory

from .common import Database, database, pg_available
from .engine_bound import _register_handlers
from .timers import clone

PROCESS_KEY = "kia_whatsapp"


def _open_tasks(session: Any) -> list[tuple]:
    return list(
        session.execute(
            select(TaskRow.id, TaskRow.claimed_by, TaskRow.due_at, TaskRow.escalations)
            .where(TaskRow.state == "open")
            .order_by(TaskRow.id)
        ).all()
    )


def measure(db: Database, count: int = 1000, runs: int = 3) -> dict[str, Any]:
    import forms
    from api import diagrams
    from tests.diagrams import BUNDLED, with_quality_check

    _register_handlers()
    started = time.perf_counter()
    clone(db, count - 1, datetime.now(UTC) + timedelta(days=30))  # plus the source: ``count`` in all
    sessions = make_session_factory(db.url)
    with sessions() as session:
        half = select(TaskRow.id).where(TaskRow.state == "open").order_by(TaskRow.id).limit(count // 2)
        session.execute(
            update(TaskRow)
            .where(TaskRow.id.in_(half.scalar_subquery()))
            .values(claimed_by="admin1", claimed_at=datetime.now(UTC))
        )
        files = diagrams.files_beside(BUNDLED)  # its decision table
        definitions.deploy(
            session, with_quality_check(), forms.FORMS.keys(), "bench", files=files, note="pemeriksaan mutu"
        )
        session.commit()
        before = _open_tasks(session)
    setup_s = time.perf_counter() - started

    with sessions() as session:
        t0 = time.perf_counter()
        dry = migration.migrate(session, migration.plan(session, PROCESS_KEY, 1, 2), None, actor="bench", dry_run=True)
        dry_run_s = time.perf_counter() - t0
        session.rollback()
    executions, moved, kept = [], [], True
    for run in range(runs):
        source, target = (1, 2) if run % 2 == 0 else (2, 1)
        with sessions() as session:
            t0 = time.perf_counter()
            outcomes = migration.migrate(
                session, migration.plan(session, PROCESS_KEY, source, target), None, actor="bench", dry_run=False
            )
            executions.append(time.perf_counter() - t0)
            moved.append(sum(o.moved for o in outcomes))
            on_target = session.scalar(select(Instance.id).where(Instance.process_version.has(version=source)).limit(1))
            kept = kept and on_target is None and _open_tasks(session) == before
    sessions.kw["bind"].dispose()
    median = statistics.median(executions)
    return {
        "applications": count,
        "setup_s": round(setup_s, 1),
        "dry_run_s": round(dry_run_s, 2),
        "dry_run_movable": sum(o.movable for o in dry),
        "runs_s": [round(s, 2) for s in executions],
        "moved_per_run": moved,
        "median_s": round(median, 2),
        "per_application_ms": round(median / count * 1000, 2),
        "tasks_kept": kept,
        "target_met": median < 60 and all(m == count for m in moved) and kept,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.migration", description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    results = {}
    for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
        if kind == "postgresql" and pg_available():
            results[kind] = {"skipped": pg_available()}
            continue
        with database(kind) as db:
            results[kind] = measure(db, args.count, args.runs)
        print(f"{kind}: {json.dumps(results[kind])}", flush=True)
    print(json.dumps({"migration": results}, indent=2))


if __name__ == "__main__":
    main()
