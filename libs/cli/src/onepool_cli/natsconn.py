"""One NATS connection for a command: bounded connect, one clear message and exit 1 when NATS is unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import nats
import nats.errors
import typer
from nats.aio.client import Client
from onepool_runtime.settings import ServiceSettings
from rich.console import Console

T = TypeVar("T")
CONNECT_SECONDS = 5.0
console = Console(stderr=True)

NatsUrl = Annotated[str, typer.Option("--nats-url", help="Defaults to ONEPOOL_NATS_URL.")]


def url(value: str) -> str:
    return value or ServiceSettings().nats_url


def run(nats_url: str, work: Callable[[Client], Awaitable[T]]) -> T:
    """Connect to `nats_url`, run `work` with the connection, close it."""

    async def go() -> T:
        async def quiet(_exc: Exception) -> None:  # the failure is reported once, below
            return None

        # nats-py keeps trying an unreachable server on the first connect: bound it here.
        nc = await asyncio.wait_for(
            nats.connect(nats_url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet),
            timeout=CONNECT_SECONDS,
        )
        try:
            return await work(nc)
        finally:
            await nc.close()

    try:
        return asyncio.run(go())
    except (OSError, nats.errors.Error) as exc:
        console.print(f"[red]NATS at {nats_url} is not reachable: {exc!r}[/red]")
        raise typer.Exit(1) from exc
