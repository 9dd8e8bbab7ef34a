"""Every service's migrations build the runtime's tables (outbox, inbox, idempotency keys) as
`onepool_runtime.tables` declares them, indexes included: the runtime's tests create them from that
metadata, the services from their migrations, and a purge that relies on an index must find it in both."""

from __future__ import annotations

import asyncpg
import pytest
from onepool_cli.services import BY_NAME
from onepool_runtime.migrations import upgrade
from onepool_runtime.tables import metadata

pytestmark = pytest.mark.asyncio

DECLARED = {(table.name, index.name) for table in metadata.tables.values() for index in table.indexes}


@pytest.mark.parametrize("service", sorted(BY_NAME))
async def test_a_migrated_schema_has_every_index_the_runtime_declares(database_url: str, service: str) -> None:
    schema = f"mig_{service}"
    await upgrade(BY_NAME[service].migrations, database_url, schema)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2::text[])",
            schema,
            sorted(metadata.tables),
        )
    finally:
        await conn.close()
    assert {(r["tablename"], r["indexname"]) for r in rows} >= DECLARED
