"""Shared facts for the deployment checks: the contract's ports and the environment variables the code reads."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from onepool_runtime.settings import ServiceSettings, TelemetrySettings

ROOT = Path(__file__).resolve().parents[2]

# Fixed by the public contract (shared docs/contracts.md, README "Ports").
CONTRACT_PORTS = {"orders": 50051, "inventory": 50052, "channels": 50053, "dealers": 50054, "settlement": 50055}
# The web gateway's HTTP port (contracts: `onepool gateway` on 8080).
GATEWAY_PORT = 8080

# Not OnePool settings, but read by a library on purpose: asyncpg takes the database password from PGPASSWORD
# when ONEPOOL_DATABASE_URL carries none (how Kubernetes keeps the password out of the ConfigMap).
LIBRARY_ENV = {"PGPASSWORD"}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def contract_ports() -> dict[str, int]:
    return dict(CONTRACT_PORTS)


@pytest.fixture(scope="session")
def gateway_port() -> int:
    return GATEWAY_PORT


def env_names(settings_class: type[ServiceSettings]) -> set[str]:
    """Every variable a OnePool container may be given: ONEPOOL_<FIELD>, the OTEL_* ones, PGPASSWORD."""
    onepool = {f"ONEPOOL_{name.upper()}" for name in settings_class.model_fields}
    otel = {str(field.validation_alias) for field in TelemetrySettings.model_fields.values()}
    return onepool | otel | LIBRARY_ENV


@pytest.fixture(scope="session")
def known_env_names() -> set[str]:
    """What any OnePool container understands (the shared ServiceSettings fields)."""
    return env_names(ServiceSettings)


@pytest.fixture(scope="session")
def service_env_names() -> dict[str, set[str]]:
    """Per service: the shared names plus the fields its own settings class adds."""
    from onepool_cli.services import SERVICES
    from onepool_gateway.settings import GatewaySettings

    names = {}
    for svc in SERVICES:
        module = importlib.import_module(f"{svc.package}.settings")
        names[svc.name] = env_names(getattr(module, svc.settings_class))
    names["gateway"] = env_names(GatewaySettings)
    return names
