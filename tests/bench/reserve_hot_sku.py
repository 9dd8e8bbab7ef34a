"""Benchmark: Reserve throughput on one hot SKU, coalesced batches vs. one transaction per request.

Both variants run in the same process, against the same embedded PostgreSQL and NATS, in the same run, so
the comparison is fair on whatever machine runs it. Run with `make bench`. It measures; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from onepool_runtime.testing.services import metadata, running_service, test_settings
from rich.console import Console
from rich.table import Table

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "inventory" / "migrations"
REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CONCURRENCY = int(sys.argv[2]) if len(sys.argv) > 2 else 64


async def run_variant(name: str, database_url: str, nats_url: str, **overrides: object) -> dict[str, float]:
    settings = test_settings(InventorySettings, database_url, nats_url, log_level="WARNING", **overrides)
    admin = metadata("admin")
    async with running_service(settings, build, MIGRATIONS) as host:  # noqa: SIM117 - the channel needs host.port
        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
            stub = inventory_pb2_grpc.InventoryServiceStub(channel)
            loc, sku = f"WH-{uuid.uuid4().hex[:6]}", f"HOT-{uuid.uuid4().hex[:6]}"
            await stub.UpsertLocation(
                pb.UpsertLocationRequest(location=pb.Location(id=loc, name="bench", type=1, ships=True)),
                metadata=admin,
            )
            await stub.ReceiveStock(
                pb.ReceiveStockRequest(
                    request_id=uuid.uuid4().hex, location_id=loc, lines=[pb.StockLine(sku=sku, quantity=REQUESTS)]
                ),
                metadata=admin,
            )
            latencies: list[float] = []
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(REQUESTS):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    start = time.perf_counter()
                    await stub.Reserve(
                        pb.ReserveRequest(request_id=uuid.uuid4().hex, lines=[pb.ReserveLine(sku=sku, quantity=1)]),
                        metadata=admin,
                    )
                    latencies.append(time.perf_counter() - start)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - began
            coalescer = host.parts.components["reserve_coalescer"]  # type: ignore[union-attr]
            latencies.sort()
            return {
                "throughput": REQUESTS / elapsed,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
                "transactions": coalescer.batches,  # type: ignore[attr-defined]
            }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        nats = EmbeddedNats(Path(tmp) / "nats")
        pg.start()
        nats.start()
        try:
            results = {
                "baseline: one transaction per request": await run_variant(
                    "baseline", pg.create_database("bench_baseline"), nats.url, reserve_batch_max=1, reserve_workers=1
                ),
                "coalesced batches (default)": await run_variant(
                    "coalesced", pg.create_database("bench_coalesced"), nats.url
                ),
            }
        finally:
            nats.stop()
            pg.stop()
    table = Table(title=f"Reserve on one hot SKU: {REQUESTS} requests, {CONCURRENCY} concurrent callers")
    for column in ("variant", "reservations/s", "p50 ms", "p99 ms", "transactions"):
        table.add_column(column)
    for variant, r in results.items():
        table.add_row(
            variant, f"{r['throughput']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['transactions']:.0f}"
        )
    Console().print(table)
    base, fast = results.values()
    Console().print(f"speed-up: {fast['throughput'] / base['throughput']:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
