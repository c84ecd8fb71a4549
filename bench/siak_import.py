"""`kia siak import` of 100,000 population records, on SQLite and PostgreSQL.

    python -m bench.siak_import            # median of 3 imports into an empty table, plus a re-import
    python -m bench.siak_import --rows 20000 --runs 1

Each run is the real command in its own process (``kia siak import FILE.csv``: start-up, reading and
checking every row, batched upserts, commit), timed from outside. The CSV comes from the synthetic
population generator. Between runs the table is emptied; the last run imports the same file again into
the full table (every row an update).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from engine.kia import population

from .common import database, median, pg_available

KIA = str(Path(sys.executable).with_name("kia"))


def write_population(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        population.write_csv(stream, itertools.islice(population.generate(rows), rows))


def timed_import(url: str, workdir: str, csv_path: Path) -> float:
    env = {**os.environ, "DATABASE_URL": url, "KIA_INSTANCE_PATH": workdir, "KIA_SCHEDULER": "off"}
    started = time.perf_counter()
    result = subprocess.run([KIA, "siak", "import", str(csv_path)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or " 0 baris ditolak" not in result.stdout:
        raise SystemExit(f"import failed: {result.stdout}\n{result.stderr}")
    return seconds


def bench(kind: str, csv_path: Path, rows: int, runs: int) -> None:
    with database(kind) as db:
        engine = create_engine(db.url)
        fresh = []
        for _ in range(runs):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM population_records"))
            fresh.append(timed_import(db.url, db.workdir, csv_path))
        again = timed_import(db.url, db.workdir, csv_path)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM population_records")).scalar_one()
        engine.dispose()
    assert count == rows, (count, rows)
    print(
        f"{kind:<10} {rows:,} records: median {median(fresh):.1f} s into an empty table "
        f"(runs {', '.join(f'{s:.1f}' for s in fresh)} s), {again:.1f} s again as updates; "
        f"{rows / median(fresh):,.0f} records/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kia-bench-siak-") as tmp:
        csv_path = Path(tmp) / "penduduk.csv"
        write_population(csv_path, args.rows)
        for kind in ("sqlite", "postgresql"):
            problem = pg_available() if kind == "postgresql" else None
            if problem:
                print(f"{kind:<10} skipped: {problem}")
                continue
            bench(kind, csv_path, args.rows, args.runs)


if __name__ == "__main__":
    main()
