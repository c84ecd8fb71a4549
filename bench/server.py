"""The production server setup under test (gunicorn, 2 sync workers) and a small HTTP client for it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import ROOT, Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@contextmanager
def gunicorn(db: Database, workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """``gunicorn -w 2 'api:create_app()'`` on 127.0.0.1 and a free port, scheduler off; always stopped.
    ``extra_env`` adds to (or overrides) the server's environment."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=db.url,
        KIA_INSTANCE_PATH=db.workdir,
        KIA_DOCUMENT_DIR=f"{db.workdir}/documents",
        KIA_SCHEDULER="off",
        SECRET_KEY="bench",
        KIA_STATUS_RATE_LIMIT="1000000",
        KIA_LOGIN_RATE_LIMIT="1000000",
        KIA_SUBMIT_RATE_LIMIT="1000000",
        **(extra_env or {}),
    )
    log = open(f"{db.workdir}/gunicorn.log", "ab")  # noqa: SIM115  closed below; a restart appends
    bindir = Path(sys.executable).parent
    process = subprocess.Popen(
        [
            str(bindir / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "api:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(port, process)
    try:
        _wait_ready(server)
        yield server
    finally:
        stop(process, 30)
        log.close()


def stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not ended within ``timeout`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up (see gunicorn.log in the bench workdir)")
        try:
            if request(server.port, "GET", "/api/v1/openapi.json")[0] == 200 and len(server.worker_pids()) > 0:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request on a fresh connection (gunicorn's sync workers close it anyway); (status, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    ctype = response.getheader("Content-Type", "")
    return response.status, (json.loads(raw) if raw and "json" in ctype else raw)


def json_request(
    port: int, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = json.dumps(payload).encode() if payload is not None else None
    return request(
        port, method, path, body, {**(headers or {}), **({"Content-Type": "application/json"} if body else {})}
    )


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
