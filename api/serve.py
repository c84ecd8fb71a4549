"""``kia serve``: the service on gunicorn, the production WSGI server, with one scheduler beside it.

``kia serve`` supervises two children: gunicorn with ``--workers`` sync workers (each with
``KIA_SCHEDULER`` off, so no worker fires timers) and one ``kia scheduler`` process, whatever the number of
workers. A scheduler that dies is started again; SIGTERM or SIGINT stops both (gunicorn finishes the
requests in flight). With metrics on, ``PROMETHEUS_MULTIPROC_DIR`` points at a fresh folder under the
instance path, so ``/metrics`` adds up the request counts of every worker (``api.metrics``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
KIA = [sys.executable, "-c", "from api.cli import main; main()"]
STOP_SECONDS = 20  # gunicorn's and the scheduler's time to finish before SIGKILL


@dataclass
class Plan:
    host: str
    port: int
    workers: int
    scheduler: bool
    metrics_dir: Path | None  # None: metrics off

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "KIA_SCHEDULER": "off"}
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        return env

    def gunicorn(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--bind",
            self.bind,
            "--timeout",
            "120",
            "--graceful-timeout",
            str(STOP_SECONDS - 5),
            "api:create_app()",
        ]


def _die_with_parent() -> None:
    """In the child: SIGTERM when ``kia serve`` itself dies (Linux), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads here


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def metrics_dir(instance_path: str) -> Path:
    """A fresh folder for this run's multiprocess metrics (the last run's counts are not this one's)."""
    folder = Path(instance_path) / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run(plan: Plan, say: Callable[[str], None] = print) -> int:
    """Start the children, keep the scheduler running, stop both on SIGTERM/SIGINT; gunicorn's exit code."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    env = plan.environment()
    scheduler = _start([*KIA, "scheduler"], env) if plan.scheduler else None
    web = _start(plan.gunicorn(), env)
    say(
        f"Layanan KIA berjalan di http://{plan.bind}/ dengan gunicorn (server WSGI produksi), "
        f"{plan.workers} worker (pid {web.pid}); "
        + (f"penjadwal: 1 proses (pid {scheduler.pid})." if scheduler else "tanpa penjadwal (--no-scheduler).")
    )
    scheduler_started = time.monotonic()
    try:
        while not stopping.wait(0.5):
            if web.poll() is not None:
                log.error("gunicorn ended (exit code %s)", web.returncode)
                break
            if scheduler is not None and scheduler.poll() is not None:
                log.error("the scheduler ended (exit code %s); starting it again", scheduler.returncode)
                if time.monotonic() - scheduler_started < 5:
                    time.sleep(5)  # it fails at start-up: do not spin
                scheduler_started = time.monotonic()
                scheduler = _start([*KIA, "scheduler"], env)
    finally:
        _stop(web)
        _stop(scheduler)
    return web.returncode or 0
