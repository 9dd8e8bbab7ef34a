"""Run a real service host in the test's event loop: migrated schema, real Postgres, real NATS, a free port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from onepool_runtime.auth import mint_token
from onepool_runtime.migrations import upgrade
from onepool_runtime.server import Builder, ServiceHost
from onepool_runtime.settings import ServiceSettings

TEST_SECRET = "onepool-test-secret-0123456789abcdef"
# For session-scoped tokens: a day outlives any test session, `make test-long` on a loaded machine included.
SESSION_TOKEN_TTL = "86400"


def test_settings(settings_class: type[ServiceSettings], database_url: str, nats_url: str, **overrides: object):  # type: ignore[no-untyped-def]
    """Settings for a service under test: loopback, free port, fast polling, a test signing secret."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "jwt_secret": TEST_SECRET,
        "outbox_poll_seconds": 0.2,
        "health_check_seconds": 0.5,
        "grpc_grace_seconds": 1.0,
        "log_json": False,
        # Admission wide open: tests of domain behaviour fire hundreds of concurrent calls on purpose (races,
        # idempotent duplicates). tests/overload sets small budgets explicitly to test admission itself.
        "max_concurrent_rpcs": 1000,
        "max_queued_rpcs": 1000,
        "max_batched_rpcs": 10_000,
    }
    values.update(overrides)
    return settings_class(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, despite its name


@contextlib.asynccontextmanager
async def running_service(settings: ServiceSettings, build: Builder, migrations: Path) -> AsyncIterator[ServiceHost]:
    await upgrade(migrations, settings.database_url, settings.schema_name)
    host = ServiceHost(settings, build, migrations=migrations)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def metadata(role: str = "admin", secret: str = TEST_SECRET, **scope: str) -> tuple[tuple[str, str], ...]:
    settings = ServiceSettings(jwt_secret=secret)
    token = mint_token(
        settings,
        role,
        channel_id=scope.get("channel_id", ""),
        dealer_id=scope.get("dealer_id", ""),
        location_id=scope.get("location_id", ""),
        ttl_seconds=int(scope.get("ttl", "600")),
    )
    return (("authorization", f"Bearer {token}"),)


def status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    """The google.rpc.Status carried in the trailers, if any."""
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = status_of(error)
    fields: list[str] = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    return fields


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    status = status_of(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None
