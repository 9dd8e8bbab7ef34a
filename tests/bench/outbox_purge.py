"""`python -m tests.bench.outbox_purge [--rows 1000000]`: what the outbox purge costs the relay, against the
one-statement purge it replaced (`DELETE ... WHERE published_at < cut-off`), on one durable embedded PostgreSQL.

The relay purges between publishing passes on its only connection, so the longest statement of a purge is
the longest the relay stops publishing. Two cases, each on a table of `rows` published rows (400-byte
payloads) younger than the retention (a campaign day's events) and, in the second, a tenth as many older ones:
- nothing to delete (the purge runs every 15 s): the old statement reads the whole table;
- a backlog to delete: the old statement deletes it in one go; the relay's purge chunk by chunk.
Each figure is the best of three.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from onepool_runtime import db
from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.relay import OutboxRelay
from onepool_runtime.tables import metadata
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

RETENTION = 86400.0
BASELINE = "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => :secs)"


# `n` rows published at `at`, each with a 400-byte payload; :first keeps the event ids apart between calls.
_ROWS = text(
    "INSERT INTO outbox (id, subject, payload, created_at, published_at) "
    "SELECT md5((:first + i)::text), 'orders.order.paid', decode(repeat(md5(i::text), 25), 'hex'), "
    "CAST(:at AS timestamptz), CAST(:at AS timestamptz) FROM generate_series(1, :n) i"
)


async def _fill(engine: AsyncEngine, young: int, old: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox"))
        now = (await conn.execute(text("SELECT now()"))).scalar_one()
        await conn.execute(_ROWS, {"first": 0, "n": old, "at": now - timedelta(days=2)})
        await conn.execute(_ROWS, {"first": old, "n": young, "at": now})
    async with engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE outbox"))


async def _baseline(engine: AsyncEngine) -> float:
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(BASELINE), {"secs": RETENTION})
    return time.perf_counter() - started


async def _relay_purge(relay: OutboxRelay) -> tuple[float, float, int]:
    """The whole purge, its longest chunk, and how many chunks."""
    started, longest, chunks, more = time.perf_counter(), 0.0, 0, True
    while more:
        step = time.perf_counter()
        more = await relay.purge_step()
        longest, chunks = max(longest, time.perf_counter() - step), chunks + 1
    return time.perf_counter() - started, longest, chunks


async def _best(measure: Any, fill: Any) -> Any:
    results = []
    for _ in range(3):
        await fill()
        results.append(await measure())
    return min(results, key=lambda r: r if isinstance(r, float) else r[1])


async def _run(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        pg.start()
        try:
            schema = f"purge_{uuid.uuid4().hex[:8]}"
            engine = db.create_engine(pg.create_database("purge"), schema, pool_size=1, max_overflow=0)
            await db.ensure_schema(engine, schema)
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            relay = OutboxRelay(engine, None, schema=schema, retention_seconds=RETENTION)  # type: ignore[arg-type]
            for old in (0, rows // 10):

                async def fill(old: int = old) -> None:
                    await _fill(engine, rows, old)

                base = await _best(lambda: _baseline(engine), fill)
                total, longest, chunks = await _best(lambda: _relay_purge(relay), fill)
                print(
                    f"{rows:,} rows kept, {old:,} to delete: one statement {base * 1000:,.1f} ms (the relay waits "
                    f"all of it); chunked {total * 1000:,.1f} ms in {chunks} chunk(s), longest {longest * 1000:,.1f} ms"
                )
            await engine.dispose()
        finally:
            pg.stop()


def main(rows: Annotated[int, typer.Option(help="Published rows younger than the retention.")] = 1_000_000) -> None:
    """What the outbox purge costs the relay, against the one-statement purge it replaced."""
    asyncio.run(_run(rows))


if __name__ == "__main__":
    typer.run(main)
