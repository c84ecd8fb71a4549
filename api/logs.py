"""Logging: one line per record, as text (default) or as JSON (``KIA_LOG_FORMAT=json``: one object per
line with the id of the request it belongs to).

Every request gets an id: the caller's ``X-Request-Id`` when it is a plain token of at most 64
characters (a proxy's or load balancer's, so their logs and ours join), a new random one otherwise. The
answer carries it back in ``X-Request-Id``; every JSON line logged while the request is served carries
it as ``request_id`` (``-`` outside a request: the scheduler, start-up).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (a handler filter: it sees every logger's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str) -> None:
    """The root logger's handler in the chosen format, with the request id filter (idempotent)."""
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))


def _assign() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _TOKEN.match(given) else uuid.uuid4().hex


def _echo(response: Response) -> Response:
    if "request_id" in g:
        response.headers.setdefault("X-Request-Id", g.request_id)
    return response


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_echo)
