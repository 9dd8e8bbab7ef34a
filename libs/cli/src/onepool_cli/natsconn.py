"""One NATS connection for a command: bounded connect, one clear message and exit 1 when NATS is unreachable
or refuses what the command asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import nats
import nats.errors
import nats.js.errors
import typer
from nats.aio.client import Client
from onepool_runtime.messaging import server_urls
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import redact
from rich.console import Console

from onepool_cli import config

T = TypeVar("T")
CONNECT_SECONDS = 5.0
CLOSE_SECONDS = 5.0
console = Console(stderr=True)

NatsUrl = Annotated[str, typer.Option("--nats-url", help="Defaults to ONEPOOL_NATS_URL.")]


def url(value: str) -> str:
    return value or config.load(ServiceSettings).nats_url


class Unreachable(Exception):
    """No server of the list accepted a connection."""


def run(nats_url: str, work: Callable[[Client], Awaitable[T]]) -> T:
    """Connect to any server of `nats_url` (comma-separated, as the services accept it), run `work`, close."""
    try:
        servers = server_urls(nats_url)
    except ValueError as exc:
        console.print(f"[red]no NATS URL: give --nats-url or set ONEPOOL_NATS_URL ({exc})[/red]")
        raise typer.Exit(1) from exc
    last_error: list[Exception] = []

    async def go() -> T:
        async def quiet(exc: Exception) -> None:  # kept for the one message below, instead of a log line per try
            last_error.append(exc)

        # nats-py's first connect tries the server list until one answers, and with max_reconnect_attempts=0
        # it never drops a server from it: a port that refuses was tried every 0.2 s until the bound below
        # (5 s for a refusal known at once). 1 drops each server after its second refused try.
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    servers=servers,
                    connect_timeout=2,
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.2,
                    error_cb=quiet,
                ),
                timeout=CONNECT_SECONDS,
            )
        except (OSError, nats.errors.Error) as exc:
            raise Unreachable(repr(last_error[-1] if last_error else exc)) from exc
        try:
            return await work(nc)
        finally:
            # The work is done (or failed): a close that does not finish must not hold the command open.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(nc.close(), CLOSE_SECONDS)

    try:
        return asyncio.run(go())
    except Unreachable as exc:
        console.print(f"[red]{redact(f'NATS at {nats_url} is not reachable: {exc}')}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
    except (OSError, nats.errors.Error) as exc:
        console.print(f"[red]{redact(describe(nats_url, exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def describe(nats_url: str, exc: BaseException) -> str:
    """What a NATS error means to an operator (only a lost connection is "not reachable")."""
    if isinstance(exc, nats.js.errors.ServiceUnavailableError | nats.errors.NoRespondersError):
        return f"NATS at {nats_url} has no JetStream (start nats-server with -js): {exc!r}"
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return f"NATS at {nats_url} has no stream for the subject: {exc!r}"
    if isinstance(exc, nats.errors.BadSubjectError):
        return f"a subject is not valid for NATS: {exc!r}"
    if isinstance(exc, nats.errors.AuthorizationError):
        return f"NATS at {nats_url} refused the credentials: {exc!r}"
    if isinstance(exc, nats.js.errors.APIError):
        return f"JetStream at {nats_url} refused: {exc!r}"
    if isinstance(exc, nats.errors.TimeoutError):
        return f"NATS at {nats_url} did not answer in time: {exc!r}"
    return f"NATS at {nats_url} is not reachable: {exc!r}"
