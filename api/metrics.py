"""``GET /metrics`` in the Prometheus text format, for the configured token or addresses only.

Two kinds of series (see the README's "Operating it"):

- **Requests** (``kia_http_requests_total``, ``kia_http_request_duration_seconds``) by endpoint (the URL
  rule, never the URL: no codes or ids in labels), method and status, counted by the process that
  answered. Under gunicorn each worker counts its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (``kia serve``
  sets it) prometheus_client's multiprocess mode keeps them in files there and a scrape adds up every
  worker's, restarted ones included, whichever worker answers it.
- **State** read from the database at scrape time (``engine.ops.monitoring``): open and overdue tasks per lane
  and kecamatan, the outbox backlog per channel and state, the scheduler's lag and heartbeat age, and the
  running counts of escalations and delivery attempts. Read from the tables, they are the same from
  every worker and survive restarts, and they count what any scheduler process did, wherever it runs.

``KIA_METRICS=off`` turns both off (no hooks on requests, no ``/metrics``).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from engine.ops import monitoring
from engine.workflow.clock import clock

from .errors import ApiError
from .extensions import db

# The request metrics of this process (in multiprocess mode their values live in files instead).
PROCESS = CollectorRegistry(auto_describe=True)
LABELS = ("endpoint", "method", "status")
REQUESTS = Counter("kia_http_requests", "HTTP requests answered", LABELS, registry=PROCESS)
LATENCY = Histogram(
    "kia_http_request_duration_seconds",
    "Time from the request's arrival in the app to its answer",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)
UNMATCHED = "<unmatched>"  # a URL no route matches (404, 405): one label, whatever was asked

blp = Blueprint("metrics", __name__)


def _started() -> None:
    g.kia_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("kia_started", None)
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        labels = (rule, request.method, str(response.status_code))
        REQUESTS.labels(*labels).inc()
        LATENCY.labels(*labels).observe(time.perf_counter() - started)
    return response


class DatabaseCollector(Collector):
    """The state series, read from the database each time the registry is collected."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.escalations = monitoring.escalation_counter()
        self.deliveries = monitoring.delivery_counter()

    def collect(self) -> Iterator[Metric]:
        session = db.session
        now = datetime.now(UTC)
        try:
            opened = GaugeMetricFamily("kia_tasks_open", "Open tasks", labels=["lane", "kecamatan"])
            overdue = GaugeMetricFamily(
                "kia_tasks_overdue", "Open tasks past their time standard", labels=["lane", "kecamatan"]
            )
            for row in monitoring.open_tasks(session):
                labels = [row.lane, row.kecamatan or "none"]
                opened.add_metric(labels, row.open)
                overdue.add_metric(labels, row.overdue)
            backlog = GaugeMetricFamily(
                "kia_outbox_backlog",
                "Messages not delivered (pending: to be tried; failed: given up)",
                labels=["channel", "state"],
            )
            for channel, state, n in monitoring.outbox_backlog(session):
                backlog.add_metric([channel, state], n)
            lag = GaugeMetricFamily(
                "kia_scheduler_lag_seconds", "Now minus the oldest due deadline not fired yet (0: none)"
            )
            lag.add_metric([], monitoring.scheduler_lag(session, clock.now()))
            heartbeat = GaugeMetricFamily(
                "kia_scheduler_heartbeat_age_seconds", "Seconds since a scheduler last said it was alive"
            )
            beat = monitoring.last_heartbeat(session)
            heartbeat.add_metric([], (now - beat).total_seconds() if beat else float("inf"))
            escalations = CounterMetricFamily("kia_escalations", "Escalations recorded", labels=["lane"])
            for (lane,), n in sorted(self.escalations.counts(session).items(), key=str):
                escalations.add_metric([lane or "none"], n)
            deliveries = CounterMetricFamily(
                "kia_deliveries", "Delivery attempts by channel and result", labels=["channel", "result"]
            )
            for (channel, ok), n in sorted(self.deliveries.counts(session).items(), key=str):
                deliveries.add_metric([channel, "delivered" if ok else "failed"], n)
        finally:
            session.rollback()
        yield from (opened, overdue, backlog, lag, heartbeat, escalations, deliveries)


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from PROCESS.collect()


def allowed() -> bool:
    """The metrics token (``Authorization: Bearer ...``) or a client address in ``KIA_METRICS_ALLOW``."""
    token = current_app.config["METRICS_TOKEN"]
    if token and hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for allowed_range in current_app.config["METRICS_ALLOW"]:
        try:
            if client in ipaddress.ip_network(allowed_range, strict=False):
                return True
        except ValueError:
            continue
    return False


@blp.get("/metrics")
def metrics() -> Response:
    if not allowed():
        raise ApiError(403, "forbidden", "Anda tidak berwenang.")
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(current_app.extensions["kia_metrics"])
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    if not app.config["KIA_METRICS"]:
        return
    app.extensions["kia_metrics"] = DatabaseCollector(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _started)  # first: time the other hooks too
    app.after_request(_observe)
    app.register_blueprint(blp)
