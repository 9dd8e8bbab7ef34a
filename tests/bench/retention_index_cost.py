"""`python -m tests.bench.retention_index_cost [--rows 20000]`: what the retention indexes cost a write, on one
durable embedded PostgreSQL: the idempotency key a mutating RPC claims and the inbox rows a consumer's batch
records, each written as the services write them (a key a transaction; a batch of 50 inbox rows a
transaction), into the runtime's tables with and without `idempotency_keys_created_at` / `inbox_processed_at`.
Each figure is the best of three, alternated, in microseconds of wall time per row (one connection).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from onepool_runtime import db
from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.migrations import RETENTION_INDEXES
from onepool_runtime.tables import metadata

_KEY = "INSERT INTO idempotency_keys (key, operation, fingerprint, response) VALUES ($1, 'op', 'fp', $2)"
_INBOX = (
    "INSERT INTO inbox (consumer, event_id, subject) SELECT 'c', e, 's' FROM unnest($1::text[]) AS t(e) "
    "ORDER BY e ON CONFLICT DO NOTHING"
)


async def _keys(conn: asyncpg.Connection, rows: int) -> float:
    answer = b"\x00" * 300
    started = time.perf_counter()
    for _ in range(rows):
        async with conn.transaction():
            await conn.execute(_KEY, uuid.uuid4().hex, answer)
    return (time.perf_counter() - started) / rows * 1e6


async def _inbox(conn: asyncpg.Connection, rows: int) -> float:
    started = time.perf_counter()
    for _ in range(rows // 50):
        async with conn.transaction():
            await conn.execute(_INBOX, [uuid.uuid4().hex for _ in range(50)])
    return (time.perf_counter() - started) / rows * 1e6


async def _run(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        pg.start()
        try:
            url = pg.create_database("cost")
            engine = db.create_engine(url, "cost")
            await db.ensure_schema(engine, "cost")
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await engine.dispose()
            conn = await asyncpg.connect(url.replace("+asyncpg", ""), server_settings={"search_path": "cost"})
            best: dict[tuple[str, bool], float] = {}
            for _ in range(3):
                for indexed in (True, False):
                    for name, (table, column) in RETENTION_INDEXES.items():
                        await conn.execute(f"DROP INDEX IF EXISTS {name}")
                        if indexed:
                            await conn.execute(f"CREATE INDEX {name} ON {table} ({column})")
                    await conn.execute("TRUNCATE idempotency_keys, inbox")
                    for what, measure in (("idempotency key", _keys), ("inbox row", _inbox)):
                        cost = await measure(conn, rows)
                        best[(what, indexed)] = min(best.get((what, indexed), cost), cost)
            await conn.close()
            for what in ("idempotency key", "inbox row"):
                with_index, without = best[(what, True)], best[(what, False)]
                print(f"{what}: {with_index:.1f} µs with the retention index, {without:.1f} µs without")
        finally:
            pg.stop()


def main(rows: Annotated[int, typer.Option(help="Rows written per measurement.")] = 20_000) -> None:
    """What the retention indexes cost a write."""
    asyncio.run(_run(rows))


if __name__ == "__main__":
    typer.run(main)
