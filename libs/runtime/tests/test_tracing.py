"""`tracing.recording()`, asked on every call of a service's methods: while no tracer provider is set it
answers without OpenTelemetry's per-call environment look-up, and it follows a provider set later, or one
the environment names (no services needed)."""

from __future__ import annotations

import pytest
from onepool_runtime import tracing
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider


def _environment_read() -> object:
    raise AssertionError("get_tracer_provider() reads os.environ while no provider is set")


def test_nothing_recorded_is_known_without_reading_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(tracing, "_PROVIDER_FROM_ENV", False)
    monkeypatch.setattr(trace, "get_tracer_provider", _environment_read)
    assert tracing.recording() is False


def test_a_provider_set_later_or_named_by_the_environment_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = TracerProvider()
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", sdk)
    assert tracing.recording() is True
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(tracing, "_PROVIDER_FROM_ENV", True)  # OTEL_PYTHON_TRACER_PROVIDER at start-up
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: sdk)  # what loading the named provider gives
    assert tracing.recording() is True
