"""The plan PostgreSQL runs for a prepared statement once it settles on a generic one (after its first five
executions, asyncpg's statement cache keeps it prepared): for tests that pin a hot statement to its index.
A generic plan estimates `unnest($1)` at 100 rows, so a join of a small table with it may look cheapest as a
seq scan there even where every custom plan uses the index."""

from __future__ import annotations

from typing import Any


async def generic_plan(conn: Any, sql: str) -> str:
    """EXPLAIN of `sql`'s generic plan, on asyncpg connection `conn`, inside the caller's transaction
    (`SET LOCAL`)."""
    arity = len((await conn.prepare(sql)).get_parameters())
    await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    await conn.execute(f"PREPARE planned AS {sql}")
    try:
        nulls = ", ".join("NULL" for _ in range(arity))
        return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) EXECUTE planned({nulls})"))
    finally:
        await conn.execute("DEALLOCATE planned")
