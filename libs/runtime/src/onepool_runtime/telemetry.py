"""Tracing, metrics and structured logs for a service process.

Traces: an SDK TracerProvider, exporting over OTLP only when the standard OTEL_* variables ask for it.
gRPC server/client interceptors and asyncpg instrumentation create the spans; the outbox relay and the
consumers add theirs and carry `traceparent` in NATS headers, so one order is one trace.
Metrics: Prometheus scrape endpoint on ONEPOOL_METRICS_PORT and/or OTLP.
Logs: one JSON object per line with the trace id; tokens never appear.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from onepool_runtime.settings import ServiceSettings, TelemetrySettings

_configured = False
_SECRET = re.compile(r"(?i)(bearer\s+)[\w\-\.=]+|(eyJ[\w\-]+\.[\w\-]+\.[\w\-]+)")


def redact(text: str) -> str:
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


def configure_logging(settings: ServiceSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if settings.log_json else _PlainRedacting("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("sqlalchemy.engine", "nats", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_telemetry(settings: ServiceSettings) -> None:
    """Install the SDK providers once per process and instrument asyncpg."""
    global _configured
    if _configured:
        return
    _configured = True
    otel = TelemetrySettings()
    resource = Resource.create({"service.name": f"onepool-{settings.service_name}"})
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=resource)
        if otel.traces_to_otlp:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    readers: list[MetricReader] = []
    if settings.metrics_port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.grpc_host)
        readers.append(PrometheusMetricReader())
    if otel.metrics_to_otlp:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if readers:
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
