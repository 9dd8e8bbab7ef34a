"""Tracing, metrics and structured logs for a service process.

Traces cost what they are worth. With no exporter configured (no OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_TRACES_EXPORTER=otlp) no SDK TracerProvider is installed: the API's no-op tracer records nothing but
passes the caller's trace context through, so `traceparent` still travels in gRPC metadata and NATS headers
and log lines carry the caller's trace id. With an exporter, an SDK TracerProvider samples parent-based
(ONEPOOL_TRACE_SAMPLE_RATIO for traces starting here, else the standard OTEL_TRACES_SAMPLER) and exports
over OTLP in batches. A process that installed its own SDK provider first (a test with an in-memory
exporter) keeps it. Spans: `tracing.py` (gRPC server and client), the outbox relay (publish) and the
consumers (consume), so one order is one trace; one span per SQL statement only with
ONEPOOL_TRACE_DB_STATEMENTS=true.
Metrics: Prometheus scrape endpoint on ONEPOOL_METRICS_PORT and/or OTLP.
Logs: one JSON object per line with the trace id; tokens never appear.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from onepool_runtime.settings import ServiceSettings, TelemetrySettings

_configured = False
_SECRET = re.compile(r"(?i)(bearer\s+)[\w\-\.=]+|(eyJ[\w\-]+\.[\w\-]+\.[\w\-]+)")
# The user-info of a URL (nats://user:password@host, nats://token@host, postgresql://user:pw@host).
_URL_USER = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/@\s,]+@")


def redact(text: str) -> str:
    """`text` without bearer tokens, JWTs or the credentials of any URL in it (logs and operator output are
    pasted into tickets)."""
    text = _URL_USER.sub(lambda m: m.group(1) + "[REDACTED]@", text)
    return _SECRET.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        service = getattr(record, "service", None)
        if service:
            entry["service"] = service
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _PlainRedacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is when a record is written, not as it was when logging was configured: a
    command run under a test runner that swaps sys.stderr for a buffer it closes afterwards otherwise leaves
    the root handler writing to a closed file, and every later log line of the process is lost as a
    "--- Logging error ---"."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(settings: ServiceSettings) -> None:
    handler = _Stderr()
    handler.setFormatter(
        JsonFormatter() if settings.log_json else _PlainRedacting("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("sqlalchemy.engine", "nats", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def sampler(settings: ServiceSettings) -> Sampler | None:
    """Parent-based at ONEPOOL_TRACE_SAMPLE_RATIO; None lets the SDK read OTEL_TRACES_SAMPLER(_ARG)."""
    if settings.trace_sample_ratio is None:
        return None
    return ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))


def configure_telemetry(settings: ServiceSettings) -> None:
    """Install the SDK providers once per process (tracing only with an exporter, see the module doc)."""
    global _configured
    if _configured:
        return
    _configured = True
    otel = TelemetrySettings()
    resource = Resource.create({"service.name": f"onepool-{settings.service_name}"})
    if otel.traces_to_otlp and not isinstance(trace.get_tracer_provider(), TracerProvider):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider = TracerProvider(resource=resource, sampler=sampler(settings))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    readers: list[MetricReader] = []
    if settings.metrics_port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        readers.append(PrometheusMetricReader())
    if otel.metrics_to_otlp:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if readers:
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    if settings.trace_db_statements:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        instrumentor = AsyncPGInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
