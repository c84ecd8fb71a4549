"""(1) The engine bound: complete five-step cases per second through the engine alone, on one core.

No HTTP and no Flask: one thread submits an application (``engine.kia.applications.submit``: start, store
documents, hash the PIN, complete the submission step) and completes the four staff steps with
``engine.kia.completion.complete_task`` (the officer's account read, access, validation, completion),
each in its own session and transaction, exactly as the API handlers call them. The state is saved (and
reloaded) around every step.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

import forms
from engine.kia import applications, completion
from engine.kia.access import Principal
from engine.kia.applications import Upload
from engine.models import Instance, TaskRow, User
from engine.workflow.catalogue import catalogue
from engine.workflow.database import make_session_factory

from .common import KECAMATAN, PDF_BYTES, PNG_BYTES, STEPS, Database, application, median, uptd_user


def _register_handlers() -> None:
    import handlers  # noqa: F401  registers the diagram's service-task handlers


def run_case(sessions: Any, document_dir: str, kecamatan: str, states: list[bytes] | None = None) -> str:
    """One application from submission to hand-over; returns its code. ``states`` collects the
    instance's serialized state after the submission and after each step."""
    data = forms.validate_application(application(kecamatan))
    with sessions() as session:
        app, _pin = applications.submit(
            session, data, [Upload("kk", PDF_BYTES), Upload("akta", PNG_BYTES)], document_dir=document_dir
        )
        instance_id, code = app.instance_id, app.code
        session.commit()
        if states is not None:
            states.append(app.instance.state)
    for lane, user, form in STEPS:
        with sessions() as session:
            task_id = session.scalar(
                select(TaskRow.id).where(
                    TaskRow.instance_id == instance_id, TaskRow.state == "open", TaskRow.lane == lane
                )
            )
            officer = session.scalar(select(User).where(User.username == (user or uptd_user(kecamatan))))
            principal = Principal(user=officer, lanes=catalogue(session))
            row = completion.complete_task(session, principal, task_id, form, forms.load_form).task
            session.commit()
            if states is not None:
                states.append(row.instance.state)
    return code


def run_case_states(sessions: Any, document_dir: str) -> list[bytes]:
    """The real serialized states of one case: open at steps 1..4 (admin..uptd), then finished."""
    states: list[bytes] = []
    run_case(sessions, document_dir, KECAMATAN[7], states)
    return states


def measure(db: Database, cases: int = 60, rounds: int = 3, profile: str | None = None) -> dict[str, Any]:
    """Cases per second: the median of ``rounds`` rounds of ``cases`` cases each (after one warm-up)."""
    _register_handlers()
    sessions = make_session_factory(db.url)
    document_dir = f"{db.workdir}/documents"
    run_case(sessions, document_dir, KECAMATAN[0])  # warm-up: parses and caches the definition
    rates = []
    profiler = _profiler(profile)
    for r in range(rounds):
        started = time.perf_counter()
        for i in range(cases):
            run_case(sessions, document_dir, KECAMATAN[(r * cases + i) % len(KECAMATAN)])
        rates.append(cases / (time.perf_counter() - started))
    if profiler is not None:
        profiler.stop()
        profiler.write_html(profile)
    with sessions() as session:
        finished = session.scalar(select(Instance.id).where(Instance.completed_at.is_(None)).limit(1))
    sessions.kw["bind"].dispose()
    if finished is not None:
        raise RuntimeError("engine bound: a case did not finish")
    return {
        "cases_per_s": round(median(rates), 1),
        "rounds": [round(x, 1) for x in rates],
        "cases_per_round": cases,
        "ms_per_case": round(1000 / median(rates), 1),
    }


def _profiler(path: str | None) -> Any:
    if not path:
        return None
    from pyinstrument import Profiler  # optional: pip install pyinstrument

    profiler = Profiler(interval=0.0005)
    profiler.start()
    return profiler
