"""Prometheus metrics: request latency by route, jobs, outbox backlog, push failures."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "fieldsales_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOB_RUNS = Counter(
    "fieldsales_job_runs_total",
    "Job runs by job and outcome",
    ["job", "status"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "fieldsales_job_duration_seconds",
    "Job run duration",
    ["job"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
TOKEN_LOOKUPS = Counter(
    "fieldsales_token_lookups_total",
    "Token checks by where the answer came from (cache or database)",
    ["source"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge("fieldsales_outbox_backlog", "Notifications pending delivery", registry=REGISTRY)
PUSH_FAILURES = Counter(
    "fieldsales_push_failures_total",
    "Failed push deliveries",
    ["reason"],
    registry=REGISTRY,
)
ESCALATIONS_OPEN = Gauge(
    "fieldsales_escalations_open",
    "Open escalations by severity",
    ["severity"],
    registry=REGISTRY,
)
DB_SCRAPE_ERRORS = Counter(
    "fieldsales_metrics_db_errors_total", "Scrapes that could not read database gauges", registry=REGISTRY
)


def record_job(job: str, status: str, seconds: float) -> None:
    JOB_RUNS.labels(job=job, status=status).inc()
    JOB_DURATION.labels(job=job).observe(seconds)


def render_latest() -> bytes:
    return generate_latest(REGISTRY)
