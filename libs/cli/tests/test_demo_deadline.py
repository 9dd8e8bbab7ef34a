"""`onepool seed` and `onepool demo` give up on a service that accepts calls and never answers them (hung, or
stuck on its database), naming the call and what was being done, instead of waiting for ever. The service
here is a grpc.aio server whose every handler sleeps."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from onepool_cli.demo.command import run_demo
from onepool_cli.main import app
from onepool_cli.services import SERVICES
from rich.console import Console
from typer.testing import CliRunner

ADDRESS_SETTINGS = [f"ONEPOOL_{svc.name.upper()}_ADDR" for svc in SERVICES]


class _Asleep(grpc.GenericRpcHandler):
    """Every method: accepted, never answered."""

    def service(self, _details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        async def sleep(_request: bytes, _context: Any) -> bytes:
            await asyncio.sleep(3600)
            return b""

        return grpc.unary_unary_rpc_method_handler(sleep)


async def _start_hung_server() -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_Asleep()])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def _point_every_service_at(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for name in ADDRESS_SETTINGS:
        monkeypatch.setenv(name, f"127.0.0.1:{port}")


@pytest.fixture
async def hung_port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    server, port = await _start_hung_server()
    _point_every_service_at(monkeypatch, port)
    yield port
    await server.stop(None)


@pytest.mark.asyncio
async def test_seed_gives_up_on_a_hung_service_naming_the_call(hung_port: int) -> None:
    out = io.StringIO()
    started = time.monotonic()
    code = await asyncio.wait_for(run_demo(Console(file=out, width=300), story=False, run="T", call_timeout=0.5), 15)
    took = time.monotonic() - started
    printed = out.getvalue()
    assert code == 1
    assert took < 5, took
    assert "InventoryService/UpsertLocation did not answer within 0.5 s" in printed, printed
    assert "while: locations and stock" in printed, printed
    assert "ONEPOOL_DEMO_CALL_TIMEOUT_SECONDS" in printed, printed


@pytest.fixture
def hung_port_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The hung server on a loop of its own, for the command's own `asyncio.run`."""
    loop = asyncio.new_event_loop()
    started: list[tuple[grpc.aio.Server, int]] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        started.append(loop.run_until_complete(_start_hung_server()))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    server, port = started[0]
    _point_every_service_at(monkeypatch, port)
    yield port
    asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.mark.parametrize(
    ("args", "env", "seconds"),
    [(["--call-timeout", "0.4"], {}, "0.4"), ([], {"ONEPOOL_DEMO_CALL_TIMEOUT_SECONDS": "0.3"}, "0.3")],
)
def test_the_commands_deadline_comes_from_the_option_or_the_environment(
    hung_port_in_a_thread: int, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], seconds: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["seed", "--run", "T", *args])
    assert result.exit_code == 1, result.output
    assert time.monotonic() - started < 5
    printed = " ".join(result.output.split())  # rich wraps at the terminal's width
    assert f"UpsertLocation did not answer within {seconds} s" in printed, printed
