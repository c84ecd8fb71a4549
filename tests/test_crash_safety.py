"""Crash safety of the production setup (gunicorn, 2 sync workers, PostgreSQL), through HTTP.

1. SIGKILL of the gunicorn master and workers mid-load, then a restart: every completion a client saw
   acknowledged is stored (task row completed and its ``completed`` event), none is stored twice, every
   instance still loads through the engine (and its open task rows are its READY tasks), completions that
   were in flight are answered consistently when retried (200 if they were lost, 409 if they were
   stored), and the timers that fell due while the server was down fire exactly once when
   ``kia scheduler`` runs (twice in a row).
2. A PostgreSQL restart mid-load (a private cluster started with initdb/pg_ctl, never the shared one):
   requests fail with 503 while the database is down, never 500, and succeed once it is back; ``/readyz``
   answers 200 before (a scheduler runs beside gunicorn), 503 naming the database while it is down and
   200 again after; the same stored/duplicate checks hold.

The figures go to stdout (``pytest -s``) and to ``test-artifacts/crash-safety.json``.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

import handlers  # noqa: F401  registers the diagram's service-task handlers (loading needs them)
from bench.common import KECAMATAN, PASSWORD, PDF_BYTES, PNG_BYTES, STEPS, Database, application, uptd_user
from bench.server import free_port, gunicorn, json_request, multipart, request, stop
from engine.kia import documents
from engine.models import Instance, TaskRow
from engine.ops.backup import BackupError, postgres_tool
from engine.workflow import instances
from engine.workflow.clock import clock
from engine.workflow.database import make_session_factory

from .helpers import PG_ADMIN_URL, ROOT

DESKS = 6  # concurrent clients, one kecamatan each (they never race for one task)
STANDARD = "PT3S"  # every staff step's time standard: timers fall due during the outage
STAFF_STEPS = ["verify_application", "print_card", "group_cards", "confirm_arrival", "hand_over_card"]
ARTIFACT = ROOT / "test-artifacts" / "crash-safety.json"
USER_OF = {lane: user for lane, user, _ in STEPS}
# the data each staff form is completed with (the UPTD has two steps: the arrival, then the hand-over)
FORM_OF = {"verification": STEPS[0][2], "printing": STEPS[1][2], "grouping": STEPS[2][2]}
FORM_OF.update(arrival=STEPS[3][2], handover=STEPS[4][2])


# --- the load ------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    task_id: str
    sent: float
    done: float | None = None
    status: int | None = None  # None: no answer (connection refused, reset, closed)
    retry: bool = False


@dataclass
class Ledger:
    """Everything the clients saw, shared by the desk threads."""

    port: int
    attempts: list[Attempt] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # every answer of every request, by status
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def acknowledged(self, after: float = 0.0) -> list[Attempt]:
        with self.lock:
            return [
                a for a in self.attempts if a.status is not None and 200 <= a.status < 300 and (a.done or 0) >= after
            ]


class Desk(threading.Thread):
    """One kecamatan's staff: submit an application, then complete its five steps one after another
    (the next task comes from the completion's answer); a completion that got no answer is retried."""

    def __init__(self, ledger: Ledger, kecamatan: str) -> None:
        super().__init__(daemon=True)
        self.ledger, self.kecamatan = ledger, kecamatan
        self.tokens: dict[str, dict[str, str]] = {}
        self.next: dict | None = None  # {"id", "lane", "form_key"}

    def run(self) -> None:
        while not self.ledger.stop.is_set():
            try:
                self.step()
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.1)  # the server or the database is down: try again

    def _call(self, call: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        status, body = call(self.ledger.port, *args, **kwargs)
        with self.ledger.lock:
            self.ledger.statuses[status] += 1
        if status >= 300:
            time.sleep(0.05)
        return status, body

    def headers(self, lane: str) -> dict[str, str]:
        user = USER_OF[lane] or uptd_user(self.kecamatan)
        if user not in self.tokens:
            status, body = self._call(
                json_request, "POST", "/api/v1/auth/token", {"username": user, "password": PASSWORD}
            )
            if status != 200:
                raise ValueError(f"sign-in {status}")
            self.tokens[user] = {"Authorization": f"Bearer {body['access_token']}"}
        return self.tokens[user]

    def step(self) -> None:
        task = self.next or self.find()
        if task is None:
            body, ctype = multipart(  # another child each time: a child has one open application
                {"data": json.dumps(application(self.kecamatan))},
                {"kk": ("kk.pdf", PDF_BYTES), "akta": ("akta.png", PNG_BYTES)},
            )
            self._call(request, "POST", "/api/v1/applications", body, {"Content-Type": ctype})
            return
        self.complete(task)

    def find(self) -> dict | None:
        """An open task of this kecamatan, the most advanced first (after a restart, or a lost answer)."""
        for lane, _, _ in reversed(STEPS):
            status, body = self._call(
                request,
                "GET",
                f"/api/v1/tasks?lane={lane}&kecamatan={self.kecamatan}&limit=1",
                headers=self.headers(lane),
            )
            if status != 200:
                raise ValueError(f"inbox {status}")
            if body["items"]:
                found = body["items"][0]
                return {"id": found["id"], "lane": lane, "form_key": found["form_key"]}
        return None

    def complete(self, task: dict) -> None:
        headers = self.headers(task["lane"])
        attempt = Attempt(task["id"], time.monotonic(), retry=task.get("retry", False))
        with self.ledger.lock:
            self.ledger.attempts.append(attempt)
        try:
            status, body = self._call(
                json_request, "POST", f"/api/v1/tasks/{task['id']}/complete", FORM_OF[task["form_key"]], headers=headers
            )
        except (OSError, http.client.HTTPException):
            attempt.done = time.monotonic()
            self.next = {**task, "retry": True}  # no answer: ask again once the server is back
            raise
        attempt.done, attempt.status = time.monotonic(), status
        if status == 200:
            following = [t for t in body["next_tasks"] if t["form_key"] in FORM_OF]
            self.next = (
                {"id": following[0]["id"], "lane": following[0]["lane"], "form_key": following[0]["form_key"]}
                if following
                else None
            )
        elif status == 409:
            self.next = None  # stored before (a retried completion) or no longer open: look again
        elif status in (401, 403):
            self.tokens.clear()
        # 503 and the like: self.next stays, the same completion is asked again


@contextmanager
def load(ledger: Ledger) -> Iterator[list[Desk]]:
    desks = [Desk(ledger, KECAMATAN[i]) for i in range(DESKS)]
    for desk in desks:
        desk.start()
    try:
        yield desks
    finally:
        ledger.stop.set()
        for desk in desks:
            desk.join(60)


class Readiness:
    """``GET /readyz`` of the server under test; keeps the reason of the last 503."""

    def __init__(self, port: int) -> None:
        self.port, self.down_reason = port, ""

    def poll(self) -> int | None:
        try:
            status, body = request(self.port, "GET", "/readyz")
        except (OSError, http.client.HTTPException):
            return None
        if status == 503:
            self.down_reason = body["reason"]
        return status


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(condition: Any, timeout: float, what: str) -> None:
    if not wait_until(condition, timeout):
        raise AssertionError(f"timed out waiting for {what}")


# --- databases -----------------------------------------------------------------------------------------


def provision(db: Database) -> None:
    """Schema, staff and the diagram with 3-second standards, in a separate process (create_app sets
    process-wide settings that must not leak into this test session)."""
    code = (
        "import sys, forms\n"
        "from bench.common import Database, provision, app_config\n"
        "from api import create_app\nfrom api.extensions import db\nfrom engine.workflow import definitions\n"
        "from tests.helpers import bundled_files\nfrom tests.scripted import fast_diagram\n"
        "d = Database('postgresql', sys.argv[1], sys.argv[2]); provision(d)\n"
        "app = create_app(app_config(d))\n"
        "with app.app_context():\n"
        f"    definitions.deploy(db.session, fast_diagram({ {s: STANDARD for s in STAFF_STEPS}!r}),"
        " forms.FORMS.keys(), 'test', files=bundled_files())\n"
        "    db.session.commit()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, db.url, db.workdir],
        cwd=ROOT,
        check=True,
        timeout=120,
        env={**os.environ, "KIA_WORKING_TIME": "off"},
    )


@contextmanager
def fresh_database(admin_url: str) -> Iterator[Database]:
    name = f"kia_crash_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    workdir = tempfile.mkdtemp(prefix="kia-crash-")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        db = Database("postgresql", f"{base}/{name}", workdir)
        provision(db)
        yield db
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if os.environ.get("KIA_CRASH_KEEP"):
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _pg_or_skip() -> None:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure means "not here"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}; crash tests need it")


class PrivateCluster:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on a free port, ours to stop and start."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="kia-pg-"))
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                self.fail_or_skip("running as root and there is no 'postgres' user to run a private cluster")
            if shutil.which("runuser") is None:
                self.fail_or_skip("running as root without runuser")
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        try:
            self.initdb, self.pg_ctl = postgres_tool("initdb"), postgres_tool("pg_ctl")
        except BackupError as exc:
            self.fail_or_skip(exc.message)
        self.run(self.initdb, "-D", str(self.home / "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @staticmethod
    def fail_or_skip(reason: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(f"cannot start a private PostgreSQL cluster: {reason}")
        pytest.skip(f"cannot start a private PostgreSQL cluster: {reason}")

    def run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.run(
            self.pg_ctl,
            "-D",
            str(self.home / "data"),
            "-l",
            str(self.home / "postgres.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self.run(self.pg_ctl, "-D", str(self.home / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.home / "data" / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)


# --- the checks ----------------------------------------------------------------------------------------


def stored_check(db: Database, ledger: Ledger) -> dict[str, int]:
    """Acknowledged completions are stored, none twice, the projection agrees with the events, and
    every instance loads with its open task rows READY in the workflow."""
    with psycopg.connect(db.url.replace("+psycopg", ""), autocommit=True) as conn:
        events = Counter(
            dict(
                conn.execute(
                    "SELECT task_id, count(*) FROM events WHERE kind = 'completed' GROUP BY task_id"
                ).fetchall()
            )
        )
        completed_rows = {r[0] for r in conn.execute("SELECT id FROM tasks WHERE state = 'completed'")}
    acknowledged = {a.task_id for a in ledger.acknowledged()}
    lost = acknowledged - {t for t in acknowledged if events.get(t) == 1 and t in completed_rows}
    duplicated = {t for t, n in events.items() if n > 1}
    assert not lost, f"{len(lost)} acknowledged completions not stored"
    assert not duplicated, f"{len(duplicated)} tasks completed twice"
    assert completed_rows == set(events), "task rows and completed events disagree"

    sessions = make_session_factory(db.url)
    loaded = 0
    with sessions() as session:
        for instance in session.scalars(select(Instance)):
            workflow = instances.load(session, instance).workflow
            for row in session.scalars(
                select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")
            ):
                assert workflow.get_task_from_id(UUID(row.id)).state == TaskState.READY, row.step
            loaded += 1
        session.rollback()
    sessions.kw["bind"].dispose()
    return {
        "acknowledged": len(acknowledged),
        "found_stored": len(acknowledged) - len(lost),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "completed_events": sum(events.values()),
        "instances_loaded": loaded,
    }


@contextmanager
def scheduler(db: Database) -> Iterator[subprocess.Popen]:
    """``kia scheduler`` (escalation cap 1, calendar time) on ``db``; stopped on exit."""
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "KIA_INSTANCE_PATH": db.workdir,
        "KIA_WORKING_TIME": "off",
        "KIA_ESCALATION_CAP": "1",
        "SECRET_KEY": "test",
    }
    with open(Path(db.workdir) / "scheduler.log", "ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "kia"), "scheduler"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop(process, 20)


def timer_rows(db: Database) -> list[tuple[str, str | None, datetime, str]]:
    with psycopg.connect(db.url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute("SELECT id, task_id, due_at, state FROM timers WHERE kind = 'diagram'").fetchall()


def waiting_timers(db: Database, due_by: datetime | None = None) -> list[tuple[str, str | None, datetime, str]]:
    return [t for t in timer_rows(db) if t[3] == "waiting" and (due_by is None or _utc(t[2]) <= due_by)]


def escalations(db: Database) -> Counter:
    with psycopg.connect(db.url.replace("+psycopg", ""), autocommit=True) as conn:
        return Counter(
            dict(
                conn.execute(
                    "SELECT task_id, count(*) FROM events WHERE kind = 'escalated' GROUP BY task_id"
                ).fetchall()
            )
        )


def server_log_errors(db: Database) -> list[str]:
    """The service's unhandled errors, each with its innermost frame (request data is never logged)."""
    errors, current = [], None
    for line in (Path(db.workdir) / "gunicorn.log").read_text(errors="replace").splitlines():
        if "unhandled error" in line or "ERROR kia: Exception on" in line:  # ours, or Flask's own
            current = [line]
            errors.append(current)
        elif current is not None and (line.startswith(" ") or not line.startswith(("[", "20"))):
            current.append(line.strip())
        else:
            current = None
    return [" | ".join([e[0], *e[-2:]]) for e in errors]


def record(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}: {json.dumps(figures)}")
    ARTIFACT.parent.mkdir(exist_ok=True)
    existing = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    existing[name] = {**figures, "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    ARTIFACT.write_text(json.dumps(existing, indent=2))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- the tests -----------------------------------------------------------------------------------------


def test_the_same_document_stored_at_once_by_many_writers(tmp_path: Path) -> None:
    """Two workers storing the same upload at the same moment (the SIGKILL test found a 500 here)."""
    writers, rounds = 8, 25
    barrier, errors = threading.Barrier(writers), []

    def write(n: int) -> None:
        for r in range(rounds):
            barrier.wait()
            try:
                documents.store(tmp_path, PDF_BYTES + f"% round {r}\n".encode() * 2000, "application/pdf")
            except Exception as exc:  # noqa: BLE001  collected and reported below
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    stored = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert len(stored) == rounds and all(len(name) == 64 for name in stored), stored  # no leftovers


@pytest.mark.crash
def test_sigkill_of_gunicorn_mid_load_loses_and_duplicates_nothing() -> None:
    _pg_or_skip()
    started = time.monotonic()
    with fresh_database(PG_ADMIN_URL) as db:
        ledger = Ledger(port=0)
        with load(ledger):
            with gunicorn(db) as server:
                ledger.port = server.port
                wait_for(lambda: len(ledger.acknowledged()) >= 60, 90, "60 acknowledged completions")
                # kill with several completions in flight (two being served, others in the listen backlog)
                wait_until(lambda: sum(1 for a in ledger.attempts if a.done is None) >= 3, 10)
                pids = [server.process.pid, *server.worker_pids()]
                killed_at, killed_wall = time.monotonic(), clock.now()  # the servers' clock (the suite's)
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                in_flight = [a for a in ledger.attempts if a.sent < killed_at and a.done is None]
            assert server.process.wait(10) == -signal.SIGKILL
            time.sleep(3)  # the outage: the 3-second deadlines of the tasks opened last fall due now
            restarted_wall = clock.now()
            due_at_restart = waiting_timers(db, restarted_wall)
            # the restart: the scheduler first (escalation cap 1: one level per step), then the web workers
            with scheduler(db) as sweeper:
                wait_for(lambda: not waiting_timers(db, restarted_wall), 30, "the overdue timers to fire")
                with gunicorn(db) as server:
                    ledger.port = server.port
                    back = len(ledger.acknowledged())
                    wait_for(lambda: len(ledger.acknowledged()) >= back + 30, 90, "completions after the restart")
                    ledger.stop.set()
                    time.sleep(1)
                    # no new steps now: every timer still waiting falls due within 3 s and fires
                    wait_for(lambda: sweeper.poll() is None and not waiting_timers(db), 60, "every timer to fire")
        first = escalations(db)
        with scheduler(db):  # a second scheduler run fires nothing again
            time.sleep(4)
        second = escalations(db)
        timers = {t[0]: t for t in timer_rows(db)}
        figures = stored_check(db, ledger)
        server_errors = server_log_errors(db)

    unanswered = {a.task_id for a in in_flight if a.status is None}
    retry_answers = {
        a.task_id: a.status for a in ledger.attempts if a.retry and a.task_id in unanswered and a.status is not None
    }
    answers = Counter(retry_answers.values())
    due_in_outage = [t for t in due_at_restart if killed_wall <= _utc(t[2]) <= restarted_wall]
    outage_states = Counter(timers[t[0]][3] for t in due_in_outage)
    fired = [t for t in timers.values() if t[3] == "fired"]
    figures.update(
        {
            "in_flight_at_kill": len(in_flight),
            "in_flight_answered_before_the_kill_took_effect": len(in_flight) - len(unanswered),
            "in_flight_unanswered": len(unanswered),
            "unanswered_retried_409_had_been_stored": answers.get(409, 0),
            "unanswered_retried_200_had_not_been_stored": answers.get(200, 0),
            "requests": sum(ledger.statuses.values()),
            "statuses": dict(sorted(ledger.statuses.items())),
            "timers_overdue_at_restart": len(due_at_restart),
            "timers_due_during_outage": len(due_in_outage),
            "timers_due_during_outage_fired": outage_states.get("fired", 0),
            "timers_fired": len(fired),
            "escalations": sum(second.values()),
            "escalated_twice": sum(1 for n in second.values() if n > 1),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    record("gunicorn_sigkill", figures)
    assert not [s for s in ledger.statuses if s >= 500], server_errors
    assert figures["in_flight_at_kill"] >= 1
    # a completion in flight at the kill, asked again: 409 if it had been stored, 200 if not; never a 500
    assert set(retry_answers) == unanswered and set(answers) <= {200, 409}, answers
    assert first == second, "the second scheduler run fired something again"
    assert all(n == 1 for n in second.values()), "an escalation recorded twice"
    assert {t[1] for t in fired} == set(second), "fired timers and escalations disagree"
    assert outage_states == {"fired": len(due_in_outage)} and due_in_outage, outage_states
    assert all(timers[t[0]][3] != "waiting" for t in due_at_restart)


@pytest.mark.crash
def test_postgresql_restart_mid_load_answers_503_then_recovers() -> None:
    _pg_or_skip()
    started = time.monotonic()
    cluster = PrivateCluster()
    try:
        cluster.start()
        with fresh_database(cluster.admin_url) as db:
            with gunicorn(db) as server, scheduler(db):
                ready = Readiness(server.port)
                wait_for(lambda: ready.poll() == 200, 60, "/readyz 200 before the outage")
                ledger = Ledger(port=server.port)
                with load(ledger):
                    wait_for(lambda: len(ledger.acknowledged()) >= 40, 90, "40 acknowledged completions")
                    before = Counter(ledger.statuses)
                    stopped_at = time.monotonic()
                    cluster.stop("immediate")  # as a crash: no checkpoint, recovery from the WAL at start
                    wait_for(lambda: ledger.statuses[503] - before[503] >= 5, 30, "503 answers while down")
                    wait_for(lambda: ready.poll() == 503, 30, "/readyz 503 while PostgreSQL is down")
                    time.sleep(2)
                    during = Counter(ledger.statuses) - before
                    cluster.start()
                    back_at = time.monotonic()
                    wait_for(lambda: ready.poll() == 200, 60, "/readyz 200 after the restart")
                    ready_again = time.monotonic() - back_at
                    wait_for(lambda: len(ledger.acknowledged(after=back_at)) >= 30, 90, "completions after restart")
            figures = stored_check(db, ledger)
            server_errors = server_log_errors(db)
        unexpected = {s: n for s, n in ledger.statuses.items() if s not in (200, 201, 409, 503)}
        figures.update(
            {
                "outage_seconds": round(back_at - stopped_at, 1),
                "answers_while_down": dict(sorted(during.items())),
                "acknowledged_after_restart": len(ledger.acknowledged(after=back_at)),
                "readyz_while_down": ready.down_reason,
                "readyz_200_seconds_after_restart": round(ready_again, 1),
                "requests": sum(ledger.statuses.values()),
                "statuses": dict(sorted(ledger.statuses.items())),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
        record("postgresql_restart", figures)
        assert not unexpected, f"answers other than 200/201/409/503: {unexpected} {server_errors}"
        assert during[503] >= 5 and during[500] == 0
        assert ready.down_reason.startswith("database: unreachable"), ready.down_reason
    finally:
        cluster.remove()
