"""docker-compose.yml: PostgreSQL, NATS JetStream, a one-shot migration and the five services, started in the
right order, on the contract's ports, configured only through real settings, each with a gRPC healthcheck
that really tells SERVING from anything else; and the web gateway on 8080 in front of them, holding no secret."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from onepool_gateway.app import create_app
from onepool_gateway.settings import GatewaySettings
from onepool_runtime.embedded import free_port
from onepool_runtime.settings import ServiceSettings

from tests.support.gateway import serving

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# Containers of other images: the servers OnePool needs, and the monitoring.
THIRD_PARTY = ("postgres", "nats", "prometheus", "grafana")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]  # type: ignore[no-any-return]


def healthcheck_code(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[3]  # type: ignore[no-any-return]


def test_infrastructure_migration_and_all_five_services_are_defined(
    services: dict[str, Any], contract_ports: dict[str, int]
) -> None:
    assert set(services) == {*THIRD_PARTY, "migrate", *contract_ports, "gateway"}


def test_postgres_and_nats_are_official_images_with_healthchecks(services: dict[str, Any]) -> None:
    postgres, nats = services["postgres"], services["nats"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert nats["image"].startswith("nats:")
    assert "-js" in nats["command"]
    assert "-m" in nats["command"] and nats["command"][nats["command"].index("-m") + 1] == "8222"
    assert "http://127.0.0.1:8222/healthz" in " ".join(nats["healthcheck"]["test"])


def test_migrate_runs_once_after_postgres_is_healthy(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["environment"]["ONEPOOL_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_each_service_serves_its_contract_port_once_migrated_and_nats_is_up(
    services: dict[str, Any], contract_ports: dict[str, int]
) -> None:
    for name, port in contract_ports.items():
        service = services[name]
        assert service["image"] == services["migrate"]["image"]
        assert service["command"] == ["serve", name]
        assert f"{port}:{port}" in service["ports"]
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "nats": {"condition": "service_healthy"},
        }
        env = service["environment"]
        assert env["ONEPOOL_GRPC_HOST"] == "0.0.0.0"
        assert env["ONEPOOL_GRPC_PORT"] == str(port)
        assert "@postgres:5432/" in env["ONEPOOL_DATABASE_URL"]
        assert env["ONEPOOL_NATS_URL"] == "nats://nats:4222"
        for peer, peer_port in contract_ports.items():
            assert env[f"ONEPOOL_{peer.upper()}_ADDR"] == f"{peer}:{peer_port}"


def test_jwt_secret_comes_from_the_environment_with_the_development_default(services: dict[str, Any]) -> None:
    # The same default as the settings, so `uv run onepool token` on the host mints tokens the containers accept.
    default = ServiceSettings.model_fields["jwt_secret"].default
    for name, service in services.items():
        if name not in (*THIRD_PARTY, "gateway"):
            assert service["environment"]["ONEPOOL_JWT_SECRET"] == f"${{ONEPOOL_JWT_SECRET:-{default}}}"


def test_the_gateway_serves_8080_in_front_of_the_services_with_no_secret_of_its_own(
    services: dict[str, Any], contract_ports: dict[str, int], gateway_port: int
) -> None:
    gateway = services["gateway"]
    assert gateway["image"] == services["migrate"]["image"] and gateway["command"] == ["gateway"]
    assert f"{gateway_port}:{gateway_port}" in gateway["ports"]
    env = gateway["environment"]
    assert (env["ONEPOOL_GATEWAY_HOST"], env["ONEPOOL_GATEWAY_PORT"]) == ("0.0.0.0", str(gateway_port))
    for peer, peer_port in contract_ports.items():
        assert env[f"ONEPOOL_{peer.upper()}_ADDR"] == f"{peer}:{peer_port}"
    # It forwards the caller's token and verifies none itself: no signing secret, no database.
    assert not {"ONEPOOL_JWT_SECRET", "ONEPOOL_DATABASE_URL"} & set(env)
    assert f"http://127.0.0.1:{gateway_port}/healthz" in healthcheck_code(gateway)


def test_containers_get_only_real_settings(
    services: dict[str, Any], known_env_names: set[str], service_env_names: dict[str, set[str]]
) -> None:
    for name, service in services.items():
        if name not in THIRD_PARTY:
            unknown = set(service["environment"]) - service_env_names.get(name, known_env_names)
            assert not unknown, f"{name}: not settings: {sorted(unknown)}"


def test_each_healthcheck_asks_grpc_health_on_its_own_port(
    services: dict[str, Any], contract_ports: dict[str, int]
) -> None:
    for name, port in contract_ports.items():
        code = healthcheck_code(services[name])
        assert "grpc_health" in code
        assert f"'127.0.0.1:{port}'" in code
        assert services[name]["healthcheck"]["interval"]


def test_healthcheck_passes_only_while_the_server_reports_serving(services: dict[str, Any]) -> None:
    """Run the orders healthcheck, as written in the compose file, against a real grpc.health.v1 server."""
    port = free_port()
    code = healthcheck_code(services["orders"]).replace("127.0.0.1:50051", f"127.0.0.1:{port}")
    servicer = health.HealthServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")

    def check() -> int:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode

    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert check() == 0
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert check() != 0
    finally:
        server.stop(None).wait()
    assert check() != 0  # nothing listening


async def test_the_gateway_healthcheck_passes_only_while_the_gateway_serves(services: dict[str, Any]) -> None:
    """Run the gateway's healthcheck, as written in the compose file, against the real gateway application."""
    port = free_port()
    code = healthcheck_code(services["gateway"]).replace("127.0.0.1:8080", f"127.0.0.1:{port}")

    async def check() -> int:
        result = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", code], capture_output=True, timeout=30)
        return result.returncode

    async with serving(create_app(GatewaySettings(gateway_port=port)), "127.0.0.1", port):
        assert await check() == 0
    assert await check() != 0  # nothing listening


def test_prometheus_scrapes_every_service_on_its_metrics_port(
    services: dict[str, Any], contract_ports: dict[str, int]
) -> None:
    root = COMPOSE.parent
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["prometheus"]["volumes"] if v.startswith("./")}
    config = yaml.safe_load((root / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    for name in (*contract_ports, "gateway"):
        port = services[name]["environment"]["ONEPOOL_METRICS_PORT"]
        assert jobs[name] == [f"{name}:{port}"]  # the job is named like the service, as under the operator
    grafana = {v.split(":")[1]: root / v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert all(path.is_file() for path in grafana.values()), grafana
    assert grafana["/var/lib/grafana/dashboards/onepool.json"].resolve() == (
        root / "deploy/components/monitoring/onepool-dashboard.json"
    )
