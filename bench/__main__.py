"""``make bench``: run the suite, print one table, write it as JSON under bench/results/.

python -m bench                      # everything, default sizes (about 20 minutes on 2 cores)
python -m bench --quick              # small sizes, to check the suite itself (about 1 minute)
python -m bench --only engine,service --databases postgresql
python -m bench --only metrics       # throughput with metrics off and on, side by side
python -m bench.report RUN.json ...  # the median table of several runs (docs/performance.md)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import engine_bound, report, service
from .common import ROOT, database, pg_available

SECTIONS = ("engine", "service", "metrics", "scale", "timers", "memory")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (checks the suite, not the service)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--engine-cases", type=int, default=None, help="cases per engine round (3 rounds)")
    parser.add_argument("--service-cases", type=int, default=None, help="cases through HTTP per database")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument(
        "--metrics-seconds", type=float, default=None, help="seconds per round of the metrics off/on run"
    )
    parser.add_argument("--metrics-rounds", type=int, default=None, help="rounds (each: off and on side by side)")
    parser.add_argument("--scale", default=None, help="application counts to seed, e.g. 100000,1000000")
    parser.add_argument("--scale-sqlite", default=None, help="application counts to seed on SQLite")
    parser.add_argument("--timers", type=int, default=None, help="deadlines falling due at once (PostgreSQL)")
    parser.add_argument("--timers-sqlite", type=int, default=None, help="deadlines due at once on SQLite")
    parser.add_argument(
        "--sweepers", type=int, default=2, help="sweeper processes on PostgreSQL (SQLite: always 1, it has one writer)"
    )
    parser.add_argument("--memory-cases", type=int, default=None, help="cases for the memory-growth run")
    parser.add_argument("--memory-warmup", type=int, default=None, help="cases before the memory baseline")
    parser.add_argument("--profile", default=None, help="write a pyinstrument HTML profile of the engine bound")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    quick = args.quick
    sizes = {
        "engine_cases": args.engine_cases or (10 if quick else 40),
        "service_cases": args.service_cases or (20 if quick else 200),
        "scale": _ints(args.scale or ("2000" if quick else "100000,1000000")),
        "scale_sqlite": _ints(args.scale_sqlite or ("2000" if quick else "100000,1000000")),
        "timers": args.timers or (200 if quick else 10_000),
        "timers_sqlite": args.timers_sqlite or (200 if quick else 10_000),
        "memory_cases": args.memory_cases or (40 if quick else 10_000),
        "metrics_seconds": args.metrics_seconds or (15 if quick else 60),
        "metrics_rounds": args.metrics_rounds or (1 if quick else 5),
        "memory_warmup": args.memory_warmup or (8 if quick else 500),
    }
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if "postgresql" in kinds and (problem := pg_available()):
        print(f"PostgreSQL unreachable ({problem}); running on SQLite only")
        kinds = [k for k in kinds if k != "postgresql"]

    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes,
        "databases": kinds,
        "quick": quick,
    }
    for kind in kinds:
        section: dict[str, Any] = {}
        results[kind] = section
        if only & {"engine", "service", "metrics"}:
            with database(kind) as db:
                if "engine" in only:
                    _say(f"{kind}: engine bound, 3 x {sizes['engine_cases']} cases")
                    section["engine"] = engine_bound.measure(
                        db, sizes["engine_cases"], 3, profile=args.profile and f"{args.profile}-{kind}.html"
                    )
                if "service" in only:
                    _say(f"{kind}: service, {sizes['service_cases']} cases, {args.clients} clients")
                    section["service"] = service.measure(db, args.clients, sizes["service_cases"])
                if "metrics" in only:
                    seconds, rounds = sizes["metrics_seconds"], sizes["metrics_rounds"]
                    _say(
                        f"{kind}: metrics off and on side by side, {rounds} rounds of {seconds:g} s, "
                        f"{args.clients} clients each"
                    )
                    section["metrics"] = service.metrics_overhead(db, args.clients, seconds, rounds)
                if "engine" in section and "service" in section:
                    section["ratio"] = round(section["service"]["cases_per_s"] / section["engine"]["cases_per_s"], 2)
        if "scale" in only:
            from . import scale

            counts = sizes["scale"] if kind == "postgresql" else sizes["scale_sqlite"]
            section["scale"] = {}
            for count in counts:
                _say(f"{kind}: inbox and status with {count:,} applications")
                with database(kind) as db:
                    section["scale"][str(count)] = scale.measure(db, count)
        if "timers" in only:
            from . import timers

            n = sizes["timers"] if kind == "postgresql" else sizes["timers_sqlite"]
            _say(f"{kind}: {n:,} deadlines due at once")
            with database(kind) as db:
                section["timers"] = timers.measure(db, n, sweepers=args.sweepers if kind == "postgresql" else 1)
    if "memory" in only and kinds:
        kind = "postgresql" if "postgresql" in kinds else kinds[0]
        _say(f"{kind}: worker memory over {sizes['memory_cases']:,} cases after {sizes['memory_warmup']:,}")
        with database(kind) as db:
            results["memory"] = {
                "database": kind,
                "warmup_cases": sizes["memory_warmup"],
                **service.measure(db, args.clients, sizes["memory_cases"], warmup=sizes["memory_warmup"]),
            }
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print()
    print(report.table(results))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (out / f"bench-{stamp}.json", out / "latest.json"):
        path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nJSON: {out / f'bench-{stamp}.json'}")


def machine() -> dict[str, Any]:
    """What the figures were taken on, including how busy the machine was."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


if __name__ == "__main__":
    main()
