"""Where the time goes: cProfile around engine-bound cases or timer firings, own time grouped by package.

    python -m bench.profile engine postgresql 30     # 30 whole cases through the engine (after one warm-up)
    python -m bench.profile timers postgresql 1000   # 1,000 due timers fired by one sweep

Profiling roughly doubles the times: read the shares, not the milliseconds (docs/performance.md).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from .common import KECAMATAN, database

# (substring of the profiled function's file or name, group); the first match wins
GROUPS = [
    ("argon2", "argon2 (PIN hash)"),
    ("SpiffWorkflow", "SpiffWorkflow"),
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "psycopg + waiting for PostgreSQL"),
    ("sqlite3", "sqlite3 (driver and database)"),
    ("json", "json"),
    ("zlib", "zlib"),
    ("compress", "zlib"),
    ("uuid", "uuid"),
    ("marshmallow", "marshmallow"),
    ("/engine/", "engine/"),
    ("/handlers/", "handlers/"),
    ("/forms/", "forms/"),
]


def group_of(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    return next((name for key, name in GROUPS if key in where), "other (builtins, stdlib, fsync)")


def profile(what: str, kind: str, count: int) -> tuple[float, dict[str, float]]:
    """Run ``count`` cases or timer firings under cProfile; (seconds, own seconds per group)."""
    from engine.workflow.database import make_session_factory

    from . import timers
    from .engine_bound import _register_handlers, run_case

    with database(kind) as db:
        _register_handlers()
        sessions = make_session_factory(db.url)
        documents = f"{db.workdir}/documents"
        if what == "timers":
            timers.clone(db, count - 1, datetime.now(UTC) - timedelta(seconds=5))  # plus the source case
        else:
            run_case(sessions, documents, KECAMATAN[0])  # warm-up: the definition is parsed and cached
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        if what == "timers":
            from engine.workflow.timers import fire_due

            fire_due(sessions)
        else:
            for i in range(count):
                run_case(sessions, documents, KECAMATAN[i % len(KECAMATAN)])
        profiler.disable()
        elapsed = time.perf_counter() - started
        sessions.kw["bind"].dispose()
    return elapsed, grouped(pstats.Stats(profiler).stats)


def grouped(stats: dict) -> dict[str, float]:
    """Own time per group. A builtin that belongs to no group (``dict.get``, ``getattr``, ...) is
    charged to the groups of its callers, in proportion to the time spent in it from each."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, own, _cum, callers) in stats.items():
        group = group_of(filename, function)
        if filename == "~" and group.startswith("other") and callers:
            spent = {caller: values[2] for caller, values in callers.items()}
            whole = sum(spent.values()) or 1.0
            for (caller_file, _l, caller_function), share in spent.items():
                totals[group_of(caller_file, caller_function)] += own * share / whole
        else:
            totals[group] += own
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["engine", "timers"])
    parser.add_argument("database", choices=["sqlite", "postgresql"])
    parser.add_argument("count", type=int, nargs="?", default=30)
    args = parser.parse_args()
    elapsed, totals = profile(args.what, args.database, args.count)
    unit = "escalation" if args.what == "timers" else "case"
    total = sum(totals.values())
    print(f"{args.what} on {args.database}: {args.count} in {elapsed:.2f} s under cProfile; own time by package")
    print(f"| package | share | ms per {unit} |\n|---|---|---|")
    for name, own in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {100 * own / total:.1f} % | {1000 * own / args.count:.2f} |")


if __name__ == "__main__":
    main()
