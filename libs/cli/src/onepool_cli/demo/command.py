"""The `onepool seed` and `onepool demo` commands: connect to a running `make run`, seed, tell the story.

Addresses come from the same settings the services use (ONEPOOL_ORDERS_ADDR ... default 127.0.0.1:50051..5),
and an admin token is minted with ONEPOOL_JWT_SECRET (or the RS256 key), as `onepool token` does.

Every call carries a deadline (`--call-timeout`, else ONEPOOL_DEMO_CALL_TIMEOUT_SECONDS, 30 s): a service that
accepts a call and never answers it (hung, or stuck on its database) hung the command for ever.

Failure modes: a service not running (UNAVAILABLE: start `make run` first), a service not answering within the
deadline (NoAnswer), a refusal or a read model that never catches up: printed with what was being done, and
the command exits 1.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
from onepool.channels.v1 import channels_pb2_grpc
from onepool.dealers.v1 import dealers_pb2_grpc
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool.orders.v1 import orders_pb2_grpc
from onepool.settlement.v1 import settlement_pb2_grpc
from onepool_runtime.auth import mint_token
from onepool_runtime.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console

from onepool_cli import config
from onepool_cli.demo.report import print_story
from onepool_cli.demo.story import run_story
from onepool_cli.demo.world import Brand, Clients, new_run_id, seed


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEPOOL_", extra="ignore")

    # The longest one call may go unanswered. Far above what any call of the story takes (milliseconds; a
    # read model's catching up is polled, call by call, by `until`), so only a service that hangs reaches it.
    demo_call_timeout_seconds: float = Field(default=30.0, gt=0)


class NoAnswer(Exception):
    """A call was not answered within its deadline."""

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"{method.lstrip('/')} did not answer within {seconds:g} s")


class _Deadline(grpc.aio.UnaryUnaryClientInterceptor):
    """Gives every call without a timeout this one, and reports a call that ran out of it as NoAnswer, naming
    the method (a bare DEADLINE_EXCEEDED does not say which service hung)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        timeout = self._seconds if details.timeout is None else details.timeout
        details = grpc.aio.ClientCallDetails(
            details.method, timeout, details.metadata, details.credentials, details.wait_for_ready
        )
        call = await continuation(details, request)
        if await call.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            method = details.method.decode() if isinstance(details.method, bytes) else str(details.method)
            raise NoAnswer(method, timeout)
        return call


async def run_demo(console: Console, *, story: bool, run: str, call_timeout: float) -> int:
    """Seed the brand (and with `story`, tell the demo story) against the running services, each call given
    `call_timeout` seconds: the exit code."""
    s = ServiceSettings()
    token = mint_token(s, "admin", ttl_seconds=3600)
    addresses = [s.orders_addr, s.inventory_addr, s.channels_addr, s.dealers_addr, s.settlement_addr]
    interceptors: list[Any] = [_Deadline(call_timeout)]
    channels = [grpc.aio.insecure_channel(a, interceptors=interceptors) for a in addresses]
    doing = "connecting"
    c = Clients(
        orders_pb2_grpc.OrderServiceStub(channels[0]),
        inventory_pb2_grpc.InventoryServiceStub(channels[1]),
        channels_pb2_grpc.ChannelServiceStub(channels[2]),
        dealers_pb2_grpc.DealerServiceStub(channels[3]),
        settlement_pb2_grpc.SettlementServiceStub(channels[4]),
        (("authorization", f"Bearer {token}"),),
    )
    try:
        with console.status("starting") as status:

            def progress(step: str) -> None:
                nonlocal doing
                doing = step
                status.update(step)
                console.print(f"[dim]- {step}")

            started = datetime.now(UTC)
            brand: Brand = await seed(c, run, progress)
            console.print(f"seeded the sample brand, run {run}:")
            _print_brand(console, brand)
            if story:
                told = await run_story(c, brand, started, progress)
        if story:
            print_story(told, console)
        return 0
    except grpc.aio.AioRpcError as exc:
        hint = " (is `make run` running?)" if exc.code() == grpc.StatusCode.UNAVAILABLE else ""
        console.print(f"[red]refused: {exc.code().name} {exc.details()}{hint}")
        return 1
    except NoAnswer as exc:
        console.print(
            f"[red]no answer: {exc} (while: {doing}). The service is up but not answering: hung, or stuck on its"
            " database; see its log (`make run`'s output). To wait longer per call: --call-timeout SECONDS or"
            " ONEPOOL_DEMO_CALL_TIMEOUT_SECONDS."
        )
        return 1
    except AssertionError as exc:
        console.print(f"[red]{exc}")
        return 1
    finally:
        for channel in channels:
            await channel.close(None)


def _print_brand(console: Console, brand: Brand) -> None:
    console.print(f"  SKUs: {', '.join(brand.skus.values())}")
    console.print(f"  locations: {', '.join(brand.locations.values())}")
    console.print(f"  dealer: {brand.dealer_name} ({brand.dealer_id}), GOLD")
    console.print("  channels: " + ", ".join(f"{label} {cid}" for label, cid in brand.channels.items()))


def main(*, story: bool, run: str = "", call_timeout: float | None = None) -> int:
    seconds = call_timeout if call_timeout is not None else config.load(DemoSettings).demo_call_timeout_seconds
    return asyncio.run(run_demo(Console(), story=story, run=run or new_run_id(), call_timeout=seconds))
