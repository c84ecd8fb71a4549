"""(2, 3, 6) The service through HTTP: throughput with concurrent clients, latencies, worker memory.

Each client plays one kecamatan's whole desk chain, every step a request as real clients make it:
submit the application (multipart with the documents), then for each of the four staff steps list the
inbox (``GET /api/v1/tasks?lane=&kecamatan=``), claim the application's task and complete it. Staff
sign in once per client (a token is per sign-in, not per request). Clients work on different kecamatan,
so they never race for one task; the workers and the database are shared, as in production.
"""

from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from .common import (
    KECAMATAN,
    PASSWORD,
    PDF_BYTES,
    PNG_BYTES,
    STEPS,
    Database,
    application,
    latency_summary,
    rss_kib,
    uptd_user,
)
from .server import Server, gunicorn, json_request, multipart, request


class Client:
    """One kecamatan's desks; records the latency of every request by kind."""

    def __init__(self, port: int, kecamatan: str) -> None:
        self.port, self.kecamatan = port, kecamatan
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.answered_at: list[float] = []  # when each request with a 2xx/3xx answer ended
        self.tokens = {user: self._token(user) for user in [u for _, u, _ in STEPS if u] + [uptd_user(kecamatan)]}

    def _token(self, user: str) -> dict[str, str]:
        status, body = json_request(self.port, "POST", "/api/v1/auth/token", {"username": user, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"sign-in of {user} failed: {status} {body}")
        return {"Authorization": f"Bearer {body['access_token']}"}

    def _timed(self, kind: str, call: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        started = time.perf_counter()
        status, body = call(self.port, *args, **kwargs)
        ended = time.perf_counter()
        self.latencies[kind].append(ended - started)
        if status >= 400:
            self.errors[f"{kind}:{status}"] += 1
        else:
            self.answered_at.append(ended)
        return status, body

    def case(self) -> bool:
        """One application from submission to hand-over; True when it finished."""
        form, ctype = multipart(  # another child each time: a child has one open application
            {"data": json.dumps(application(self.kecamatan))},
            {"kk": ("kk.pdf", PDF_BYTES), "akta": ("akta.png", PNG_BYTES)},
        )
        status, body = self._timed("submit", request, "POST", "/api/v1/applications", form, {"Content-Type": ctype})
        if status != 201:
            return False
        code = body["code"]
        for lane, user, form in STEPS:
            headers = self.tokens[user or uptd_user(self.kecamatan)]
            status, inbox = self._timed(
                "inbox",
                request,
                "GET",
                f"/api/v1/tasks?lane={lane}&kecamatan={self.kecamatan}&limit=20",
                headers=headers,
            )
            task = (
                next((t for t in inbox.get("items", []) if t["application_code"] == code), None)
                if status == 200
                else None
            )
            if task is None:
                return False
            status, _ = self._timed("claim", json_request, "POST", f"/api/v1/tasks/{task['id']}/claim", headers=headers)
            if status != 200:
                return False
            status, done = self._timed(
                "complete", json_request, "POST", f"/api/v1/tasks/{task['id']}/complete", form, headers=headers
            )
            if status != 200:
                return False
        return done.get("status") == "selesai"


def measure(db: Database, clients: int = 4, cases: int = 200, workers: int = 2, warmup: int = 0) -> dict[str, Any]:
    """Run ``cases`` cases in total over ``clients`` concurrent clients against gunicorn, after
    ``warmup`` cases (at least one per client) that are neither timed nor counted; worker RSS is taken
    after the warm-up and every tenth of the way."""
    with gunicorn(db, workers) as server:
        desks = [Client(server.port, KECAMATAN[i % len(KECAMATAN)]) for i in range(clients)]
        return run(server, desks, cases, warmup)


def _drive(desks: list[Client], cases: int, on_case: Any = None) -> tuple[list[int], list[int]]:
    """``cases`` cases over the desks, one thread each; (finished, failed) per desk."""
    finished = [0] * len(desks)
    failed = [0] * len(desks)
    remaining = [cases]
    lock = threading.Lock()

    def work(i: int) -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            if desks[i].case():
                finished[i] += 1
            else:
                failed[i] += 1
            if on_case is not None:
                on_case()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(desks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return finished, failed


def run(server: Server, desks: list[Client], cases: int, warmup: int = 0) -> dict[str, Any]:
    # warm-up outside the clock: imports, the definition cache, connection pools, allocator arenas
    _drive(desks, max(warmup, len(desks)))
    for desk in desks:
        desk.latencies.clear()
        desk.errors.clear()
    memory = _MemorySampler(server, every=max(1, cases // 10))
    started = time.perf_counter()
    finished, failed = _drive(desks, cases, memory.case_done)
    elapsed = time.perf_counter() - started
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for desk in desks:
        for kind, values in desk.latencies.items():
            latencies[kind] += values
        for kind, count in desk.errors.items():
            errors[kind] += count
    requests = sum(len(v) for v in latencies.values())
    return {
        "clients": len(desks),
        "workers": len(server.worker_pids()),
        "cases": sum(finished),
        "failed_cases": sum(failed),
        "seconds": round(elapsed, 1),
        "cases_per_s": round(sum(finished) / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "latency": {kind: latency_summary(values) for kind, values in sorted(latencies.items())},
        "errors": dict(errors),
        "memory": memory.summary(),
    }


class _MemorySampler:
    """RSS of each worker right after the warm-up (the baseline), every ``every`` measured cases, and at
    the end; peak RSS (VmHWM, since the worker started) at the end. Growth is end against baseline."""

    def __init__(self, server: Server, every: int) -> None:
        self.server, self.every = server, every
        self.done = 0
        self.lock = threading.Lock()
        self.baseline = {pid: rss_kib(pid)[0] for pid in server.worker_pids()}
        self.trace: list[dict[str, Any]] = [{"cases": 0, **self._rss_mib()}]

    def _rss_mib(self) -> dict[str, float]:
        return {str(pid): round(rss_kib(pid)[0] / 1024, 1) for pid in self.server.worker_pids()}

    def case_done(self) -> None:
        with self.lock:
            self.done += 1
            if self.done % self.every == 0:
                self.trace.append({"cases": self.done, **self._rss_mib()})

    def summary(self) -> dict[str, Any]:
        workers = []
        for pid in self.server.worker_pids():
            rss, peak = rss_kib(pid)
            base = self.baseline.get(pid)  # None: the worker was restarted during the run
            workers.append(
                {
                    "pid": pid,
                    "rss_after_warmup_mib": round(base / 1024, 1) if base else None,
                    "rss_end_mib": round(rss / 1024, 1),
                    "peak_rss_mib": round(peak / 1024, 1),
                    "growth_pct": round(100 * (rss - base) / base, 1) if base else None,
                }
            )
        return {"cases": self.done, "workers": workers, "trace_mib": self.trace}


def metrics_overhead(db: Database, clients: int = 4, seconds: float = 60.0, rounds: int = 5) -> dict[str, Any]:
    """Throughput with metrics off (``KIA_METRICS=off``) and on (request counters in prometheus_client's
    multiprocess mode, as ``kia serve`` runs them, and ``/metrics`` scraped every ``SCRAPE_SECONDS`` with
    its database queries), side by side: each round starts two gunicorns on the same database, one per
    mode, and drives both at once for ``seconds`` with ``clients`` desks each (different kecamatan). Both
    modes then share every moment of the machine's load, which on a shared machine varies by a factor of
    three between rounds run one after the other; a round's figure is the ratio of the requests the two
    answered in the time (cases are too coarse at low throughput), and the result the median of those
    ratios. The modes swap their kecamatan every round."""
    figures: dict[str, list[float]] = {"off": [], "on": []}
    requests: dict[str, list[float]] = {"off": [], "on": []}
    ratios: list[float] = []  # per round: requests answered with metrics on / off
    scrapes: list[float] = []
    for r in range(rounds):
        envs = {"off": {"KIA_METRICS": "off"}, "on": {"PROMETHEUS_MULTIPROC_DIR": _fresh(db, "prometheus")}}
        with gunicorn(db, 2, envs["off"]) as off_server, gunicorn(db, 2, envs["on"]) as on_server:
            servers = {"off": off_server, "on": on_server}
            offset = {"off": 0, "on": clients} if r % 2 == 0 else {"off": clients, "on": 0}
            desks = {
                mode: [
                    Client(servers[mode].port, KECAMATAN[(offset[mode] + i) % len(KECAMATAN)]) for i in range(clients)
                ]
                for mode in servers
            }
            for mode in servers:  # warm-up outside the clock, one case per desk
                _drive(desks[mode], clients)
            scraper = _Scraper(on_server.port)
            try:
                results = _side_by_side(desks, seconds)
            finally:
                scrapes += scraper.stop()
        for mode, (finished, failed, answered) in results.items():
            if failed:
                errors = {kind: n for desk in desks[mode] for kind, n in desk.errors.items()}
                raise RuntimeError(f"metrics {mode}: {failed} cases failed: {errors}")
            figures[mode].append(round(finished / seconds, 2))
            requests[mode].append(round(answered / seconds, 1))
        ratios.append(results["on"][2] / max(1, results["off"][2]))
    ratio = statistics.median(ratios)
    return {
        "clients": clients,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "cases_per_s_off": figures["off"],
        "cases_per_s_on": figures["on"],
        "median_off": statistics.median(figures["off"]),
        "median_on": statistics.median(figures["on"]),
        "requests_per_s_off": requests["off"],
        "requests_per_s_on": requests["on"],
        "on_vs_off_per_round_pct": [round(100 * (x - 1), 1) for x in ratios],
        "on_vs_off_pct": round(100 * (ratio - 1), 1),
        "scrapes": len(scrapes),
        "scrape_ms_p50": round(1000 * statistics.median(scrapes), 1) if scrapes else None,
        "scrape_ms_max": round(1000 * max(scrapes), 1) if scrapes else None,
    }


def _side_by_side(desks: dict[str, list[Client]], seconds: float) -> dict[str, tuple[int, int, int]]:
    """Each group of desks driven at once, in its own threads, for the same ``seconds``."""
    results: dict[str, tuple[int, int, int]] = {}

    def drive(mode: str) -> None:
        results[mode] = _drive_for(desks[mode], seconds)

    threads = [threading.Thread(target=drive, args=(mode,)) for mode in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _drive_for(desks: list[Client], seconds: float) -> tuple[int, int, int]:
    """Cases over the desks, one thread each, for ``seconds``: (cases finished, cases failed, requests
    answered) within the time. A case still running at the end is not counted; its requests answered in
    time are (about 13 requests make a case, so the request count is the finer measure)."""
    started = time.perf_counter()
    deadline = started + seconds
    counts = [0, 0]
    lock = threading.Lock()

    def work(desk: Client) -> None:
        while time.perf_counter() < deadline:
            ok = desk.case()
            if time.perf_counter() > deadline:
                return
            with lock:
                counts[0 if ok else 1] += 1

    threads = [threading.Thread(target=work, args=(desk,)) for desk in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = sum(1 for desk in desks for at in desk.answered_at if started <= at <= deadline)
    return counts[0], counts[1], answered


SCRAPE_SECONDS = 5.0  # a busy Prometheus (the default is 15 s)


class _Scraper:
    """Scrapes ``/metrics`` every ``SCRAPE_SECONDS`` in a thread, as Prometheus would; each scrape timed."""

    def __init__(self, port: int) -> None:
        self.port, self.times = port, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.done.wait(SCRAPE_SECONDS):
            started = time.perf_counter()
            status, body = request(self.port, "GET", "/metrics")
            if status != 200 or b"kia_http_requests_total" not in body:
                raise RuntimeError(f"/metrics answered {status}")
            self.times.append(time.perf_counter() - started)

    def stop(self) -> list[float]:
        self.done.set()
        self.thread.join(30)
        return self.times


def _fresh(db: Database, name: str) -> str:
    folder = Path(db.workdir) / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return str(folder)
