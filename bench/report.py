"""The one table ``make bench`` prints (Markdown, so it can be pasted into docs/performance.md)."""

from __future__ import annotations

from typing import Any


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    return f"{value}{unit}"


def _lat(data: Any, *path: str) -> str:
    summary = _get(data, *path)
    if not summary:
        return "–"
    return " / ".join(_fmt(summary.get(f"p{p}_ms")) for p in (50, 95, 99))


def _met(flags: list[bool | None]) -> str:
    known = [f for f in flags if f is not None]
    if not known:
        return "–"
    return "yes" if all(known) else "no"


def table(results: dict[str, Any]) -> str:
    kinds = results.get("databases", [])
    rows: list[tuple[str, list[str], str, str]] = []

    def row(label: str, cells: list[str], target: str = "", met: str = "") -> None:
        rows.append((label, cells, target, met))

    row("engine bound: cases/s (1 core, persisted)", [_fmt(_get(results, k, "engine", "cases_per_s")) for k in kinds])
    row("service: cases/s via HTTP (gunicorn -w 2)", [_fmt(_get(results, k, "service", "cases_per_s")) for k in kinds])
    ratios = [_get(results, k, "ratio") for k in kinds]
    row(
        "service / engine bound (same run)",
        [_fmt(r) for r in ratios],
        ">= 0.5 on both",
        _met([None if r is None else r >= 0.5 for r in ratios]),
    )
    overhead = [_get(results, k, "metrics", "on_vs_off_pct") for k in kinds]
    if any(o is not None for o in overhead):
        row(
            "service cases/s, metrics off / on (median of rounds)",
            [
                f"{_fmt(_get(results, k, 'metrics', 'median_off'))} / {_fmt(_get(results, k, 'metrics', 'median_on'))}"
                if _get(results, k, "metrics")
                else "–"
                for k in kinds
            ],
        )
        row(
            "metrics on vs off: throughput change",
            [_fmt(o, " %") if o is None or o < 0 else f"+{_fmt(o)} %" for o in overhead],
            "within 5 %",
            _met([None if o is None else o >= -5 for o in overhead]),
        )
    for kind_label, key in (
        ("task completion", "complete"),
        ("inbox listing", "inbox"),
        ("claim", "claim"),
        ("submission", "submit"),
    ):
        row(f"{kind_label} p50/p95/p99 ms under load", [_lat(results, k, "service", "latency", key) for k in kinds])
    counts = sorted({int(c) for k in kinds for c in (_get(results, k, "scale") or {})})
    for count in counts:
        for what, field, limit in (
            ("inbox", "p95_ms", 25),
            ("inbox worst variant", "worst_variant_p95_ms", 50),  # a deep page included (issue 19)
            ("search worst variant", "worst_variant_p95_ms", 50),  # by code, NIK, name fragment
            ("status", "p95_ms", 25),
        ):
            section = what.split()[0]
            values = [_get(results, k, "scale", str(count), section, field) for k in kinds]
            target, met = "", ""
            if count >= 1_000_000 and "postgresql" in kinds:
                pg = values[kinds.index("postgresql")]
                target, met = f"< {limit} ms (PostgreSQL, 1M)", _met([None if pg is None else pg < limit])
            row(f"{what} p95 ms at {count:,} applications", [_fmt(v) for v in values], target, met)
    for label, key in (
        ("timers: seconds until all escalated", "all_escalated_s"),
        ("timers: escalations/s", "per_s"),
        ("timers: seconds until every workflow caught up", "workflows_caught_up_s"),
        ("timers: escalated twice (must be 0)", "escalated_twice"),
        ("timers: left waiting (must be 0)", "left_waiting"),
    ):
        row(label, [_fmt(_get(results, k, "timers", key)) for k in kinds])
    delays = [_get(results, k, "timers", "delay") for k in kinds]
    row(
        "timers: deadline->escalation p50/p99 s",
        ["–" if not d else f"{_fmt(d['p50_s'])} / {_fmt(d['p99_s'])}" for d in delays],
        "p99 < 2 s",
        _met([None if not d else d["p99_s"] < 2 for d in delays]),
    )
    n_timers = [_get(results, k, "timers", "timers") for k in kinds]
    if any(n_timers):
        row(
            "timers: deadlines due at once / sweepers",
            [
                f"{_fmt(n)} / {_get(results, k, 'timers', 'sweepers')}" if n else "–"
                for n, k in zip(n_timers, kinds, strict=True)
            ],
        )
    memory = results.get("memory")
    if memory:
        workers = _get(memory, "memory", "workers") or []
        peak = max((w["peak_rss_mib"] for w in workers), default=None)
        growth = [w["growth_pct"] for w in workers if w["growth_pct"] is not None]
        cells = ["–"] * len(kinds)
        growth_cells = ["–"] * len(kinds)
        if memory["database"] in kinds:
            i = kinds.index(memory["database"])
            cells[i] = _fmt(peak, " MiB")
            growth_cells[i] = ", ".join(f"{g:+.1f} %" for g in growth) + f" ({memory['memory']['cases']:,} cases)"
        row("memory: peak RSS per worker", cells)
        row(
            "memory: RSS growth per worker after warm-up",
            growth_cells,
            "<= 10 %",
            _met([None if not growth else max(growth) <= 10]),
        )
    header = ["measure", *kinds, "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for label, cells, target, met in rows:
        lines.append("| " + " | ".join([label, *cells, target, met]) + " |")
    load = _get(results, "machine", "load_average_at_start")
    mach = results.get("machine", {})
    lines.append("")
    lines.append(
        f"machine: {mach.get('nproc')} cores ({mach.get('cpu')}), {mach.get('memory_gib')} GiB; "
        f"load average at start {', '.join(f'{x:.1f}' for x in load) if load else '?'}"
    )
    return "\n".join(lines)


# --- several runs: the median table ---------------------------------------------------------------------

HEADLINES = [  # (label, path from a database section)
    ("engine cases/s", ("engine", "cases_per_s")),
    ("service cases/s", ("service", "cases_per_s")),
    ("service / engine", ("ratio",)),
    ("completion p95 ms", ("service", "latency", "complete", "p95_ms")),
    ("inbox p95 ms under load", ("service", "latency", "inbox", "p95_ms")),
    ("inbox p95 ms at 100,000", ("scale", "100000", "inbox", "p95_ms")),
    ("status p95 ms at 100,000", ("scale", "100000", "status", "p95_ms")),
    ("inbox p95 ms at 1,000,000", ("scale", "1000000", "inbox", "p95_ms")),
    ("status p95 ms at 1,000,000", ("scale", "1000000", "status", "p95_ms")),
    ("search worst p95 ms at 1,000,000", ("scale", "1000000", "search", "worst_variant_p95_ms")),
    ("timers: all escalated s", ("timers", "all_escalated_s")),
    ("timers: delay p99 s", ("timers", "delay", "p99_s")),
    ("timers: workflows caught up s", ("timers", "workflows_caught_up_s")),
]


def median_results(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result with the median of every number over ``runs`` (where present); other values from the
    first run that has them."""
    import statistics

    present = [r for r in runs if r is not None]
    if not present:
        return {}
    if all(isinstance(r, dict) for r in present):
        keys = list(dict.fromkeys(k for r in present for k in r))
        return {k: median_results([r.get(k) for r in present]) for k in keys}
    if all(isinstance(r, int | float) and not isinstance(r, bool) for r in present):
        value = statistics.median(present)
        return round(value, 2) if isinstance(value, float) else value
    return present[0]


def runs_table(runs: list[dict[str, Any]]) -> str:
    """The headline figures of each run next to their median."""
    kinds = list(dict.fromkeys(k for r in runs for k in r.get("databases", [])))
    header = ["measure", *[f"run {i + 1}" for i in range(len(runs))], "median"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    merged = median_results(runs)
    for kind in kinds:
        for label, path in HEADLINES:
            values = [_get(r, kind, *path) for r in runs]
            if all(v is None for v in values):
                continue
            lines.append(
                "| "
                + " | ".join([f"{kind}: {label}", *[_fmt(v) for v in values], _fmt(_get(merged, kind, *path))])
                + " |"
            )
    growth = [[w["growth_pct"] for w in (_get(r, "memory", "memory", "workers") or [])] for r in runs]
    if any(growth):
        lines.append(
            "| "
            + " | ".join(
                [
                    "memory: RSS growth per worker %",
                    *[", ".join(f"{g:+.1f}" for g in gs if g is not None) or "–" for gs in growth],
                    "",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.report RUN.json [RUN.json ...]``: the median table and each run's headlines."""
    import json
    import sys

    paths = argv if argv is not None else sys.argv[1:]
    runs = [json.loads(open(p).read()) for p in paths]  # noqa: SIM115, PTH123
    print(f"Median of {len(runs)} run(s): {', '.join(paths)}\n")
    print(table(median_results(runs)))
    print()
    print(runs_table(runs))


if __name__ == "__main__":
    main()
