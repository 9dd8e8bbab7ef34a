"""Telemetry that costs what it is worth: which tracer a service process ends up with for a given environment.

Each case runs `configure_telemetry` in a fresh interpreter (the tracer provider is process-global and can be
set once), with only the variables under test set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json
import os
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import configure_telemetry

configure_telemetry(ServiceSettings(service_name="probe"))
provider = trace.get_tracer_provider()
parent = trace.SpanContext(
    trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=True,
    trace_flags=trace.TraceFlags(1),
)
with trace.get_tracer("probe").start_as_current_span(
    "child", context=trace.set_span_in_context(trace.NonRecordingSpan(parent))
) as span:
    current = span.get_span_context()
    recording = span.is_recording()
print(json.dumps({
    "sdk": isinstance(provider, TracerProvider),
    "sampler": provider.sampler.get_description() if isinstance(provider, TracerProvider) else None,
    "recording": recording,
    "trace_id": format(current.trace_id, "032x"),
    "asyncpg_spans": AsyncPGInstrumentor().is_instrumented_by_opentelemetry,
}), flush=True)
os._exit(0)  # no export attempt at exit: nothing listens on the probe's endpoint
"""


def _probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ONEPOOL_", "OTEL_"))}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("env", "sdk", "sampler", "asyncpg_spans"),
    [
        ({}, False, None, False),
        ({"ONEPOOL_TRACE_DB_STATEMENTS": "true"}, False, None, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, True, "ParentBased{root:AlwaysOnSampler", False),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "ONEPOOL_TRACE_SAMPLE_RATIO": "0.25"},
            True,
            "ParentBased{root:TraceIdRatioBased{0.25}",
            False,
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
            True,
            "ParentBased{root:TraceIdRatioBased{0.1}",
            False,
        ),
    ],
)
def test_spans_are_recorded_only_for_an_exporter_and_the_trace_always_passes_through(
    env: dict[str, str], sdk: bool, sampler: str | None, asyncpg_spans: bool
) -> None:
    seen = _probe(**env)
    assert seen["sdk"] is sdk
    assert seen["recording"] is sdk  # the caller sampled this trace: recorded only where something exports
    if sampler is None:
        assert seen["sampler"] is None
    else:
        assert str(seen["sampler"]).startswith(sampler), seen["sampler"]
    assert seen["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"  # the caller's trace goes on either way
    assert seen["asyncpg_spans"] is asyncpg_spans
