"""The gateway's CORS settings as an operator writes them in the environment (deploy/base/gateway.yaml,
docker-compose.yml)."""

from __future__ import annotations

import pytest
from onepool_gateway.settings import GatewaySettings


def test_cors_origins_and_headers_are_read_from_the_environment_as_comma_separated_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONEPOOL_GATEWAY_CORS_ORIGINS", "https://shop.example.com/, http://localhost:5173")
    monkeypatch.setenv("ONEPOOL_GATEWAY_CORS_HEADERS", "Sentry-Trace, baggage,")
    settings = GatewaySettings()
    assert settings.cors_origins == ["https://shop.example.com", "http://localhost:5173"]
    assert settings.cors_headers == ["sentry-trace", "baggage"]


def test_no_extra_cors_headers_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEPOOL_GATEWAY_CORS_HEADERS", raising=False)
    assert GatewaySettings().cors_headers == []
