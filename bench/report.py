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
    row("service: cases/s via HTTP (gunicorn -w 2)", [_fmt(_get(results, k, "service", "cases_per_s"))
                                                      for k in kinds])
    ratios = [_get(results, k, "ratio") for k in kinds]
    row("service / engine bound (same run)", [_fmt(r) for r in ratios], ">= 0.5 on both",
        _met([None if r is None else r >= 0.5 for r in ratios]))
    for kind_label, key in (("task completion", "complete"), ("inbox listing", "inbox"),
                            ("claim", "claim"), ("submission", "submit")):
        row(f"{kind_label} p50/p95/p99 ms under load", [_lat(results, k, "service", "latency", key) for k in kinds])
    counts = sorted({int(c) for k in kinds for c in (_get(results, k, "scale") or {})})
    for count in counts:
        for what in ("inbox", "status"):
            values = [_get(results, k, "scale", str(count), what, "p95_ms") for k in kinds]
            target, met = "", ""
            if count >= 1_000_000 and "postgresql" in kinds:
                pg = values[kinds.index("postgresql")]
                target, met = "< 25 ms (PostgreSQL, 1M)", _met([None if pg is None else pg < 25])
            row(f"{what} p95 ms at {count:,} applications", [_fmt(v) for v in values], target, met)
    for label, key in (("timers: seconds until all escalated", "all_escalated_s"),
                       ("timers: escalations/s", "per_s")):
        row(label, [_fmt(_get(results, k, "timers", key)) for k in kinds])
    delays = [_get(results, k, "timers", "delay") for k in kinds]
    row("timers: deadline->escalation p50/p99 s", [
        "–" if not d else f"{_fmt(d['p50_s'])} / {_fmt(d['p99_s'])}" for d in delays], "p99 < 2 s",
        _met([None if not d else d["p99_s"] < 2 for d in delays]))
    n_timers = [_get(results, k, "timers", "timers") for k in kinds]
    if any(n_timers):
        row("timers: deadlines due at once / sweepers",
            [f"{_fmt(n)} / {_get(results, k, 'timers', 'sweepers')}" if n else "–" for n, k in zip(n_timers, kinds,
                                                                                                   strict=True)])
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
        row("memory: RSS growth per worker after warm-up", growth_cells, "<= 10 %",
            _met([None if not growth else max(growth) <= 10]))
    header = ["measure", *kinds, "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for label, cells, target, met in rows:
        lines.append("| " + " | ".join([label, *cells, target, met]) + " |")
    load = _get(results, "machine", "load_average_at_start")
    mach = results.get("machine", {})
    lines.append("")
    lines.append(f"machine: {mach.get('nproc')} cores ({mach.get('cpu')}), {mach.get('memory_gib')} GiB; "
                 f"load average at start {', '.join(f'{x:.1f}' for x in load) if load else '?'}")
    return "\n".join(lines)
