"""(4) Inbox listing and status lookup at 100,000 and 1,000,000 applications.

The database is seeded in bulk, directly into the tables, with set-based ``INSERT ... SELECT`` over a
number series (the fastest bulk path on both databases: no rows travel from Python; on PostgreSQL the
per-row foreign-key triggers are skipped while loading). Per application: one instance, one application
row, its task rows (one per step reached), the waiting timer of its open step, and its history (started,
one milestone per step passed, finished). 99 % are finished; 1 % are open, spread evenly over the four
staff lanes and the 15 kecamatan, a fifth of those overdue. Open instances carry a real serialized
state taken from a real case; finished ones an empty one (no measured query reads it, and 1,000,000
copies of 2.5 KB would double the disk and the seeding time). The load's writes are flushed (VACUUM
ANALYZE, CHECKPOINT, sync) before the timing. Then the service (gunicorn, 2 workers) answers sequential
requests in three rounds, and the latency of each is recorded; each figure is the median of the rounds'.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from engine.models import Base
from engine.workflow.database import make_session_factory
from engine.workflow.definitions import definition_of
from engine.workflow.versions import active_version

from .common import PASSWORD, Database, application, latency_summary, median, percentile
from .engine_bound import _register_handlers, run_case_states
from .server import gunicorn, json_request, request

OPEN_EVERY = 50  # one application in fifty is still open (20,000 open tasks at 1,000,000)
# The children's and applicants' names: 20 first names by 20 family names (spread evenly over the open
# cases too), so that a family name is a common search fragment (one application in 20).
FIRST_NAMES = [
    "Aisyah", "Budi", "Citra", "Dimas", "Eka", "Fajar", "Gita", "Hadi", "Indah", "Joko",
    "Kartika", "Lukman", "Maya", "Nanda", "Oki", "Putri", "Rizky", "Sari", "Taufik", "Wulan",
]  # fmt: skip
FAMILY_NAMES = [
    "Ramadhani", "Saputra", "Lestari", "Hidayat", "Pratama", "Wahyuni", "Nasution", "Siregar", "Harahap",
    "Lubis", "Simanjuntak", "Rahmawati", "Kurniawan", "Syahputra", "Fitriani", "Hasibuan", "Damanik",
    "Ginting", "Tanjung", "Batubara",
]  # fmt: skip
HAPPY_PATH = ["submit_application", "verify_application", "print_card", "group_cards", "hand_over_card"]
STATUS_AFTER = ["diajukan", "diverifikasi", "dicetak", "siap_diambil", "selesai"]  # after step n
STANDARD_SECONDS = [300, 3600, 3600, 3600, 86400]
SPAN = timedelta(days=365)
TABLES = ["instances", "applications", "tasks", "timers", "events"]
ROUNDS = 3  # timing rounds; each figure is the median of the rounds'


def _dialect(kind: str) -> dict[str, str]:
    """The few expressions that differ between PostgreSQL and SQLite."""
    if kind == "postgresql":
        return {
            "series": "SELECT g.i FROM generate_series(1, :n) AS g(i)",
            "pad11": "lpad(CAST({x} AS text), 11, '0')",
            "pad12": "lpad(CAST({x} AS text), 12, '0')",
            "uuid": "'00000000-0000-4000-8000-' || lpad(to_hex({x}), 12, '0')",
            "ts": "(CAST(:t0 AS timestamptz) + ({x}) * interval '1 second')",
            "json": "CAST({x} AS json)",
            "div": "({a} / {b})",
            "pad2": "lpad(CAST({x} AS text), 2, '0')",
        }
    return {
        "series": "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s",
        "pad11": "printf('%011d', {x})",
        "pad12": "printf('%012d', {x})",
        "uuid": "printf('00000000-0000-4000-8000-%012x', {x})",
        "ts": "strftime('%Y-%m-%d %H:%M:%f', :t0, '+' || ({x}) || ' seconds')",
        "json": "{x}",
        "div": "({a} / {b})",
        "pad2": "printf('%02d', {x})",
    }


def code_of(i: int) -> str:
    """The application code of seeded application ``i`` (the same formula as the SQL)."""
    return "Z" + f"{i:011d}".replace("0", "C").replace("1", "D")


def nik_of(i: int) -> str:
    """The child's NIK of seeded application ``i`` (the same formula as the SQL)."""
    return f"1471{i:012d}"


def family_name_of(i: int) -> str:
    """The family name of seeded application ``i``: one application in 20 has it."""
    return FAMILY_NAMES[(i + i // 200) % 20]


def _person_json(d: dict[str, str], person: dict[str, Any], **exprs: str) -> str:
    """A JSON object as SQL text: ``person``'s fields, those named in ``exprs`` computed per row."""
    marked = {**person, **{key: f"@@{key}@@" for key in exprs}}
    sql = "'" + json.dumps(marked).replace("'", "''") + "'"
    for key, expr in exprs.items():
        sql = sql.replace(f"@@{key}@@", "' || " + expr + " || '")
    return d["json"].format(x=sql)


def _pick(names: list[str], index: str) -> str:
    return "CASE " + index + " " + " ".join(f"WHEN {n} THEN '{name}'" for n, name in enumerate(names)) + " END"


def seed(db: Database, count: int) -> dict[str, Any]:
    """Fill the tables with ``count`` applications; returns timings and row counts."""
    _register_handlers()
    sessions = make_session_factory(db.url)
    states = run_case_states(sessions, f"{db.workdir}/documents")  # 5 real states: open at 1..4, finished
    engine = sessions.kw["bind"]
    with sessions() as session:
        version = active_version(session, "kia_whatsapp")
        definition = definition_of(version)
        session.execute(text("DELETE FROM events"))  # the real case above: only its rows are there
        for table in (
            "outbox",
            "timers",
            "incidents",
            "tasks",
            "handovers",
            "distribution_items",
            "documents",
            "api_tokens",
            "applications",
            "instances",
        ):
            session.execute(text(f"DELETE FROM {table}"))
        session.commit()
    d = _dialect(db.kind)
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - SPAN
    spacing = max(1, int(SPAN.total_seconds() // count))
    app = application("14.71.08")
    params = {
        "n": count,
        "t0": t0.isoformat() if db.kind == "postgresql" else t0.strftime("%Y-%m-%d %H:%M:%S"),
        "pv": version.id,
        "spacing": spacing,
        "every": OPEN_EVERY,
        "pin_hash": "$argon2id$v=19$m=19456,t=2,p=1$" + "A" * 22 + "$" + "B" * 43,
        "finished_state": b"",
        **{f"state{k}": states[k] for k in range(4)},
    }
    # open_step: NULL for a finished case, else the open step 1..4 (admin, operator, dafdud, uptd)
    open_step = f"CASE WHEN s.i % :every = 0 THEN 1 + {d['div'].format(a='s.i', b=':every')} % 4 END"
    kecamatan = "'14.71.' || " + d["pad2"].format(x=f"1 + {d['div'].format(a='s.i', b='7')} % 15")
    base = f"SELECT s.i, {open_step} AS open_step, {kecamatan} AS kec FROM ({d['series']}) AS s"
    steps = " UNION ALL ".join(
        f"SELECT {n} AS n, '{info.step}' AS step, '{info.title}' AS title, '{info.lane}' AS lane, "
        f"'{info.form_key}' AS form_key, '{info.time_standard}' AS std, '{info.time_basis}' AS basis, "
        f"{STANDARD_SECONDS[n]} AS std_s, '{STATUS_AFTER[n]}' AS ms_key"
        for n, info in enumerate(definition.user_tasks[s] for s in HAPPY_PATH)
    )
    created = d["ts"].format(x="b.i * :spacing")
    ready = d["ts"].format(x="b.i * :spacing + st.n * 3600")
    due = d["ts"].format(x="b.i * :spacing + st.n * 3600 + st.std_s")
    uuid_task = d["uuid"].format(x="b.i * 8 + st.n")
    uuid_timer = d["uuid"].format(x="b.i * 8 + st.n + 4294967296")
    state_case = (
        "CASE COALESCE(b.open_step, 0) WHEN 0 THEN :finished_state WHEN 1 THEN :state0 "
        "WHEN 2 THEN :state1 WHEN 3 THEN :state2 ELSE :state3 END"
    )
    status_case = (
        "CASE COALESCE(b.open_step, 0) WHEN 0 THEN 'selesai' WHEN 1 THEN 'diajukan' "
        "WHEN 2 THEN 'diverifikasi' WHEN 3 THEN 'dicetak' ELSE 'siap_diambil' END"
    )
    finished = d["ts"].format(x="b.i * :spacing + 5 * 3600")
    code = "'Z' || replace(replace(" + d["pad11"].format(x="b.i") + ", '0', 'C'), '1', 'D')"
    is_open = "(b.open_step IS NOT NULL AND st.n = b.open_step)"
    nik = "'1471' || " + d["pad12"].format(x="b.i")
    first = _pick(FIRST_NAMES, f"(b.i + {d['div'].format(a='b.i', b='7')}) % 20")
    family = _pick(FAMILY_NAMES, f"(b.i + {d['div'].format(a='b.i', b='200')}) % 20")
    mother = _pick(FIRST_NAMES, "(b.i + 7) % 20")
    child_json = _person_json(d, app["child"], name=f"{first} || ' ' || {family}", nik=nik)
    applicant_json = _person_json(d, app["applicant"], name=f"{mother} || ' ' || {family}")
    search_names = f"lower({first} || ' ' || {family} || '|' || {mother} || ' ' || {family})"
    milestone_json = d["json"].format(x="""'{"milestone": "' || st.ms_key || '", "name": "' || st.ms_key || '"}'""")
    statements = {
        "instances": f"""INSERT INTO instances (id, process_version_id, business_key, kecamatan, status, state,
                lock_version, created_at, updated_at, completed_at)
            SELECT b.i, :pv, {code}, b.kec, {status_case}, {state_case}, 6, {created}, {created},
                CASE WHEN b.open_step IS NULL THEN {finished} END
            FROM ({base}) AS b""",
        "applications": f"""INSERT INTO applications (id, instance_id, code, pin_hash, channel, kia_kind,
                applicant, child, child_nik, search_names, warnings, created_at)
            SELECT b.i, b.i, {code}, :pin_hash, CASE WHEN b.i % 3 = 0 THEN 'web' ELSE 'whatsapp' END,
                'under_5', {applicant_json}, {child_json}, {nik}, {search_names}, {d["json"].format(x="'{}'")},
                {created}
            FROM ({base}) AS b""",
        "tasks": f"""INSERT INTO tasks (id, instance_id, step, title, lane, form_key, kecamatan, state,
                time_standard, time_basis, ready_at, due_at, claimed_by, claimed_at, completed_by, completed_at,
                overdue, escalations, search_text)
            SELECT {uuid_task}, b.i, st.step, st.title, st.lane, st.form_key, b.kec,
                CASE WHEN {is_open} THEN 'open' ELSE 'completed' END, st.std, st.basis, {ready}, {due},
                CASE WHEN {is_open} THEN NULL ELSE st.lane || '1' END,
                CASE WHEN {is_open} THEN NULL ELSE {ready} END,
                CASE WHEN {is_open} THEN NULL ELSE st.lane || '1' END,
                CASE WHEN {is_open} THEN NULL ELSE {ready} END,
                ({is_open} AND {d["div"].format(a="b.i", b=":every")} % 5 = 0),
                CASE WHEN {is_open} AND {d["div"].format(a="b.i", b=":every")} % 5 = 0 THEN 1 ELSE 0 END,
                CASE WHEN {is_open} THEN {search_names} END
            FROM ({base}) AS b CROSS JOIN ({steps}) AS st
            WHERE st.n <= COALESCE(b.open_step, 4)""",
        "timers": f"""INSERT INTO timers (id, instance_id, task_id, step, due_at, state)
            SELECT {uuid_timer}, b.i, {uuid_task}, st.step, {due},
                'waiting'
            FROM ({base}) AS b CROSS JOIN ({steps}) AS st
            WHERE st.n = b.open_step""",
        "events": f"""INSERT INTO events (instance_id, task_id, kind, step, lane, actor, at, detail)
            SELECT b.i, NULL, 'started', NULL, NULL, 'pemohon', {created}, {d["json"].format(x="'{}'")}
            FROM ({base}) AS b
            UNION ALL
            SELECT b.i, {uuid_task}, 'milestone', st.step, st.lane, 'system', {ready},
                {milestone_json}
            FROM ({base}) AS b CROSS JOIN ({steps}) AS st
            WHERE st.n < COALESCE(b.open_step, 5)
            UNION ALL
            SELECT b.i, NULL, 'finished', NULL, NULL, 'system', {finished}, {d["json"].format(x="'{}'")}
            FROM ({base}) AS b WHERE b.open_step IS NULL""",
    }
    timings = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        if db.kind == "postgresql":  # no per-row foreign-key triggers while loading (the data is consistent)
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table, sql in statements.items():
            t = time.perf_counter()
            conn.execute(text(_with_defaults(table, sql, d)), params)
            timings[table] = round(time.perf_counter() - t, 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if db.kind == "postgresql":
            for table in ("instances", "applications"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"), {"n": count})
            conn.execute(text("VACUUM ANALYZE"))
            # the bulk load's dirty pages written out now, not by the checkpointer during the timing (a
            # live database is not in the middle of writing gigabytes); the bench role is a superuser
            conn.execute(text("CHECKPOINT"))
        else:
            conn.execute(text("ANALYZE"))
        rows = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}
        size = (
            conn.scalar(text("SELECT pg_database_size(current_database())"))
            if db.kind == "postgresql"
            else conn.scalar(text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"))
        )
    engine.dispose()
    os.sync()  # the same for the files' pages in the operating system's cache
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "per_table_s": timings,
        "rows": rows,
        "database_mib": round(size / 1024 / 1024),
    }


def _with_defaults(table_name: str, sql: str, d: dict[str, str]) -> str:
    """Add the table's other NOT NULL columns with their model defaults, so that a column another change
    adds to the schema does not break the seeding: ``INSERT INTO t (given.., more..) SELECT x.*, ..``."""
    head, _, select_sql = sql.partition(")")
    given = {c.strip() for c in head.split("(", 1)[1].split(",")}
    extra_cols, extra_vals = [], []
    for column in Base.metadata.tables[table_name].columns:
        if column.name in given or column.nullable or column is column.table.autoincrement_column:
            continue
        if column.default is None or not (column.default.is_scalar or column.default.is_callable):
            raise RuntimeError(f"bench seeding: {table_name}.{column.name} is NOT NULL without a default")
        value = column.default.arg(None) if column.default.is_callable else column.default.arg
        if isinstance(value, dict | list):
            literal = d["json"].format(x="'" + json.dumps(value).replace("'", "''") + "'")
        elif isinstance(value, bool):
            literal = "TRUE" if value else "FALSE"
        elif isinstance(value, int | float):
            literal = str(value)
        elif isinstance(value, str):
            literal = "'" + value.replace("'", "''") + "'"
        else:
            raise RuntimeError(f"bench seeding: no literal for the default of {table_name}.{column.name}")
        extra_cols.append(column.name)
        extra_vals.append(literal)
    if not extra_cols:
        return sql
    columns = ", ".join([*given_in_order(head), *extra_cols])
    return f"INSERT INTO {table_name} ({columns}) SELECT x.*, {', '.join(extra_vals)} FROM ({select_sql.strip()}) AS x"


def given_in_order(head: str) -> list[str]:
    return [c.strip() for c in head.split("(", 1)[1].split(",")]


def measure(db: Database, count: int, requests: int = 200, rounds: int = ROUNDS) -> dict[str, Any]:
    """Seed ``count`` applications, then time inbox listings, searches and status lookups through HTTP."""
    seeded = seed(db, count)
    return {"applications": count, "seed": seeded, **time_requests(db, count, requests, rounds)}


def time_requests(db: Database, count: int, requests: int = 200, rounds: int = ROUNDS) -> dict[str, Any]:
    """Time inbox listings, searches and status lookups through HTTP on a database ``seed`` filled:
    ``rounds`` rounds of ``requests`` iterations (each: every variant in the first half of a round, one
    variant in turn in the second, and two status lookups), after one warm-up request of each variant.
    Each figure is the median of the rounds' (``rounds`` keeps each round's own)."""
    rng = random.Random(7)
    open_cases = list(range(OPEN_EVERY, count + 1, OPEN_EVERY))
    open_codes = [code_of(i) for i in open_cases]
    at_admin = [i for i in open_cases if (i // OPEN_EVERY) % 4 == 0]  # open at the verification step

    def shown_code(i: int) -> str:
        code = code_of(i)
        return f"{code[:4]}-{code[4:8]}-{code[8:]}"  # as printed on the receipt

    with gunicorn(db) as server:
        tokens = {}
        for user in ("admin1", "operator1", "supervisor1", "uptd08"):
            status, body = json_request(
                server.port, "POST", "/api/v1/auth/token", {"username": user, "password": PASSWORD}
            )
            tokens[user] = {"Authorization": f"Bearer {body['access_token']}"}
        status, body = request(server.port, "GET", "/api/v1/tasks?limit=1", headers=tokens["supervisor1"])
        deep = max(0, body["total"] - 20)  # the supervisor's last page
        inbox_variants: dict[str, tuple[str, Callable[[], str]]] = {
            "admin": ("admin1", lambda: "/api/v1/tasks?limit=20"),
            "admin_overdue": ("admin1", lambda: "/api/v1/tasks?overdue=true&limit=20"),
            "operator_page5": ("operator1", lambda: "/api/v1/tasks?limit=20&offset=80"),
            "uptd_kecamatan": ("uptd08", lambda: "/api/v1/tasks?limit=20"),
            "supervisor_all": ("supervisor1", lambda: "/api/v1/tasks?limit=20"),
            "supervisor_deep": ("supervisor1", lambda: f"/api/v1/tasks?limit=20&offset={deep}"),
            "search_code": ("admin1", lambda: f"/api/v1/tasks?q={shown_code(rng.choice(at_admin))}"),
            "search_nik": ("admin1", lambda: f"/api/v1/tasks?q={nik_of(rng.choice(at_admin))}"),
            "search_name": ("admin1", lambda: f"/api/v1/tasks?q={family_name_of(rng.choice(at_admin))}&limit=20"),
        }
        totals = {}
        for name, (user, path) in inbox_variants.items():  # warm-up, and the sizes of the inboxes
            status, body = request(server.port, "GET", path(), headers=tokens[user])
            if status != 200:
                raise RuntimeError(f"inbox {name}: {status} {body}")
            if name.startswith("search") and not body["items"]:
                raise RuntimeError(f"inbox {name}: the search found nothing")
            totals[name] = body["total"]
        measured = []
        for _ in range(rounds):
            samples: dict[str, list[float]] = {name: [] for name in inbox_variants}
            samples.update(status_finished=[], status_open=[])
            for r in range(requests):
                for name, (user, path) in inbox_variants.items():
                    if r % len(inbox_variants) == list(inbox_variants).index(name) or r < requests // 2:
                        samples[name].append(_timed(server.port, path(), tokens[user]))
                finished = code_of(rng.randint(1, count))
                samples["status_finished"].append(_timed(server.port, f"/api/v1/status/{finished}"))
                samples["status_open"].append(_timed(server.port, f"/api/v1/status/{rng.choice(open_codes)}"))
            measured.append(_summary(samples))
    return {"inbox_sizes": totals, **_median_of_rounds(measured), "rounds": measured}


def _summary(samples: dict[str, list[float]]) -> dict[str, Any]:
    """One round's figures: the listings, the searches and the status lookups, each pooled, and the worst
    variant's p95 (in ms)."""
    listing = [k for k in samples if not k.startswith(("search", "status"))]
    searches = [k for k in samples if k.startswith("search")]

    def pooled(names: list[str]) -> list[float]:
        return [v for k in names for v in samples[k]]

    def worst_p95(names: list[str]) -> float:
        return round(max(percentile([v * 1000 for v in samples[k]], 95) or 0.0 for k in names), 1)

    return {
        "inbox": {**latency_summary(pooled(listing)), "worst_variant_p95_ms": worst_p95(listing)},
        "search": {**latency_summary(pooled(searches)), "worst_variant_p95_ms": worst_p95(searches)},
        "status": latency_summary(samples["status_finished"] + samples["status_open"]),
        "variants": {k: latency_summary(v) for k, v in samples.items()},
    }


def _median_of_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure as the median over the rounds (these machines are noisy: one round that a neighbour's
    burst slowed does not decide), the sample counts summed."""

    def merge(figures: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            key: sum(f[key] for f in figures) if key == "n" else round(median([f[key] for f in figures]), 1)
            for key in figures[0]
        }

    merged = {part: merge([r[part] for r in rounds]) for part in ("inbox", "search", "status")}
    variants = {k: merge([r["variants"][k] for r in rounds]) for k in rounds[0]["variants"]}
    return {**merged, "variants": variants}


def _timed(port: int, path: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    status, body = request(port, "GET", path, headers=headers)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {body}")
    return elapsed
