"""ListMovements pages never skip a movement committed late.

A movement's id is taken when its transaction inserts it, not when it commits. Before, pages were cut by id, so a
client syncing the stock ledger by next_page_token got past a movement still being written by a longer
transaction and never saw it: its token pointed after it. Now a page lists only movements of transactions older
than every one still running, in (xact_id, id) order (adapters/stock_levels.py `movements_page`,
onepool_runtime.commit_order): what a reader has read is always the beginning of the listing as it ends up, and
a movement being written is listed after it commits.

Each test holds a receipt open in a unit of work of its own (its movement written, not committed: the unit of
work writes movements at commit, so the test writes them early, as a longer transaction would) and reads
through gRPC meanwhile. Different SKUs, so the open transaction's stock row lock holds nobody up."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.adapters.orm import metadata
from onepool_inventory.adapters.stock_levels import movements_page
from onepool_inventory.domain import commands
from onepool_inventory.domain.model import MovementKind
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_kernel.lines import StockLine
from onepool_runtime.migrations import downgrade_sync, upgrade
from onepool_runtime.testing.plans import generic_plan
from onepool_runtime.testing.services import field_violations
from onepool_runtime.validation import encode_page_token
from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
Moved = tuple[int, int]  # a movement's (id, delta)


async def received(setup: Any, location: str, sku: str, quantity: int) -> None:
    """A receipt at `location`, committed (an RPC)."""
    await setup.stock(location, **{sku: quantity})


async def held_receipt(uow: InventoryUnitOfWork, location: str, sku: str, quantity: int) -> None:
    """A receipt in `uow`, its movement inserted (its id taken) and not committed."""
    await handlers.receive_stock(
        uow, commands.ReceiveStock(location, (StockLine(sku, quantity),), "delivery", MovementKind.RECEIPT)
    )
    await uow.levels.save_changed()


async def follow(inventory: Any, admin: Any, location: str, token: str = "") -> tuple[list[Moved], str]:
    """Follow next_page_token, a movement a page, until the last page: the movements read, and the last token
    received (where a reader that keeps its place continues from: it reads its last page again)."""
    moved, last = [], token
    while True:
        request = pb.ListMovementsRequest(location_id=location, page_size=1, page_token=token)
        reply = await inventory.ListMovements(request, metadata=admin)
        moved += [(m.id, m.delta) for m in reply.movements]
        if not reply.next_page_token:
            return moved, last
        token = last = reply.next_page_token


async def listing(inventory: Any, admin: Any, location: str) -> list[Moved]:
    """The location's whole ledger, in listing order."""
    reply = await inventory.ListMovements(pb.ListMovementsRequest(location_id=location, page_size=500), metadata=admin)
    assert not reply.next_page_token
    return [(m.id, m.delta) for m in reply.movements]


def deltas(moved: list[Moved]) -> list[int]:
    return [delta for _, delta in moved]


async def test_a_movement_committed_after_later_ones_is_not_skipped_by_a_reader_following_page_tokens(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """The syncing client's case: a receipt takes its movement's id, two later ones commit first, a reader pages
    through all of them, then the first commits. Before, the reader's token pointed past it: never listed."""
    location, early, late = await setup.location(), setup.name("EARLY"), setup.name("LATE")
    for quantity in (1, 2):
        await received(setup, location, late, quantity)
    held = inventory_host.infra.units(InventoryUnitOfWork)()
    async with held:
        await held_receipt(held, location, early, 100)  # its movement's id is taken now
        for quantity in (3, 4):
            await received(setup, location, late, quantity)
        read, token = await follow(inventory, admin, location)
        await held.commit()
    final = await listing(inventory, admin, location)
    assert sorted(deltas(final)) == [1, 2, 3, 4, 100]
    assert read == final[: len(read)], f"a reader got past a movement still being written: read {read} of {final}"
    rest, _ = await follow(inventory, admin, location, token)
    assert list(dict.fromkeys(read + rest)) == final
    await check_invariants()


async def test_a_reader_at_the_end_of_the_ledger_reads_only_what_came_since_from_its_resume_token(
    inventory, admin, setup
) -> None:  # type: ignore[no-untyped-def]
    """An export that follows the ledger: the last page has no next_page_token (the listing ends there for
    now), so before there was nothing to continue from later but the start. resume_page_token is set on every
    page and reads on from where the page ended."""
    location, sku = await setup.location(), setup.name("SKU")
    for quantity in (1, 2):
        await received(setup, location, sku, quantity)
    request = pb.ListMovementsRequest(location_id=location, page_size=10)
    last = await inventory.ListMovements(request, metadata=admin)
    assert [m.delta for m in last.movements] == [1, 2] and not last.next_page_token
    request.page_token = last.resume_page_token
    nothing = await inventory.ListMovements(request, metadata=admin)
    assert not nothing.movements and not nothing.next_page_token and nothing.resume_page_token
    for quantity in (3, 4):
        await received(setup, location, sku, quantity)
    request.page_token, request.page_size = nothing.resume_page_token, 1
    page = await inventory.ListMovements(request, metadata=admin)
    assert [m.delta for m in page.movements] == [3] and page.resume_page_token == page.next_page_token
    request.page_token, request.page_size = page.resume_page_token, 10
    rest = await inventory.ListMovements(request, metadata=admin)
    assert [m.delta for m in rest.movements] == [4] and not rest.next_page_token


async def test_a_transaction_that_took_its_id_first_and_wrote_its_movement_last_is_not_skipped_either(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """Transaction order is not movement order: a transaction gets its id at its first write (an idempotency
    key, a locked stock row), possibly before another that inserts its movement earlier. Listing by id over
    finished transactions only would still skip the other's movement here; (transaction, id) order does not."""
    location, one, other = await setup.location(), setup.name("ONE"), setup.name("OTHER")
    for quantity in (1, 2):
        await received(setup, location, one, quantity)
    units = inventory_host.infra.units(InventoryUnitOfWork)
    first, second = units(), units()
    async with first, second:
        await first.session.execute(text("SELECT pg_current_xact_id()"))  # `first` has its transaction id
        await held_receipt(second, location, other, 200)  # `second` writes its movement first ...
        await held_receipt(first, location, one, 100)  # ... and `first` its own after it
        await first.commit()
        read, token = await follow(inventory, admin, location)
        await second.commit()
    final = await listing(inventory, admin, location)
    assert sorted(deltas(final)) == [1, 2, 100, 200]
    assert read == final[: len(read)], f"a reader got past a movement still being written: read {read} of {final}"
    rest, _ = await follow(inventory, admin, location, token)
    assert list(dict.fromkeys(read + rest)) == final
    await check_invariants()


async def test_a_caller_reads_the_movement_it_has_just_made_though_an_older_transaction_ends_a_moment_later(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    """Every service's outbox relay keeps a transaction open while NATS acknowledges: a movement just made may
    sit behind one for milliseconds. ListMovements waits for it (briefly) rather than answer without it."""
    location, sku = await setup.location(), setup.name("SKU")
    older = inventory_host.infra.units(InventoryUnitOfWork)()
    async with older:
        await older.session.execute(text("SELECT pg_current_xact_id()"))  # older than the receipt below
        await received(setup, location, sku, 7)
        request = pb.ListMovementsRequest(location_id=location, sku=sku)
        reading = asyncio.ensure_future(inventory.ListMovements(request, metadata=admin))
        await asyncio.sleep(0.1)
        await older.commit()
    reply = await reading
    assert [m.delta for m in reply.movements] == [7]


async def test_a_page_token_of_the_id_order_still_reads_from_where_it_was(
    inventory, admin, setup, inventory_db, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """A token ListMovements handed out before migration 0010 ({"after": id}) names a movement written before
    movements carried their transaction (xact_id 0): it reads as (0, id), the movements after it first, then
    every one written since. A position beyond any is an empty page; one that is not ours is INVALID_ARGUMENT."""
    location, sku = await setup.location(), setup.name("SKU")
    moves = metadata.tables["movements"]
    async with inventory_db.begin() as conn:  # two movements as 0009 left them, the level their sum
        await conn.execute(insert(metadata.tables["stock_levels"]).values(sku=sku, location_id=location, on_hand=3))
        old_ids = [
            (
                await conn.execute(
                    insert(moves)
                    .values(location_id=location, sku=sku, delta=delta, kind="RECEIPT", on_hand_after=after, xact_id=0)
                    .returning(moves.c.id)
                )
            ).scalar_one()
            for delta, after in ((1, 1), (2, 3))
        ]
    await received(setup, location, sku, 4)
    assert deltas(await listing(inventory, admin, location)) == [1, 2, 4]
    for old_id, rest in zip(old_ids, ([2, 4], [4]), strict=True):
        read, _ = await follow(inventory, admin, location, encode_page_token({"after": old_id}))
        assert deltas(read) == rest
    far = encode_page_token({"xact": 2**62, "after": 2**62})
    reply = await inventory.ListMovements(pb.ListMovementsRequest(location_id=location, page_token=far), metadata=admin)
    assert (list(reply.movements), reply.next_page_token) == ([], "")
    for bad in ({"xact": -1, "after": 1}, {"xact": "1", "after": 1}, {"xact": 2**70, "after": 1}):
        request = pb.ListMovementsRequest(location_id=location, page_token=encode_page_token(bad))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await inventory.ListMovements(request, metadata=admin)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(refused.value) == ["page_token"]
    await check_invariants()


HISTORY = 20_000


async def test_a_page_of_movements_is_a_range_of_an_index_in_listing_order(inventory_db) -> None:  # type: ignore[no-untyped-def]
    """Each filter ListMovements offers reads a page as a range of its own index (migration 0010), the position
    and the finished-transactions bound both in the index condition: no sort of a location's ledger, no scan of
    every location's. Checked on the generic plan over a ledger of many locations and SKUs, analysed, in a
    transaction that is rolled back."""
    tag = uuid.uuid4().hex[:6]
    async with inventory_db.connect() as sa:
        transaction = await sa.begin()
        try:
            conn = (await sa.get_raw_connection()).driver_connection
            await conn.execute(
                "INSERT INTO movements (location_id, sku, delta, kind, reason, reference, on_hand_after)"
                " SELECT $1 || (n % 50), $1 || (n % 400), 1, 'RECEIPT', '', '', 1 FROM generate_series(1, $2) AS n",
                f"PL-{tag}-",
                HISTORY,
            )
            await sa.execute(text("ANALYZE movements"))
            plans = {
                index: await generic_plan(
                    conn, str(movements_page(location, sku, (0, 0), 101).compile(dialect=asyncpg_dialect()))
                )
                for index, location, sku in (
                    ("by_location_sku_xact", f"PL-{tag}-7", f"PL-{tag}-7"),
                    ("by_location_xact", f"PL-{tag}-7", ""),
                    ("by_xact", "", ""),
                )
            }
        finally:
            await transaction.rollback()
    for index, plan in plans.items():
        assert f"Index Scan using movements_{index} on movements" in plan, plan
        [condition] = [line for line in plan.splitlines() if "Index Cond" in line and "xact_id" in line]
        assert "ROW(xact_id, id) > ROW(" in condition and "pg_snapshot_xmin" in condition, plan
        assert "Sort" not in plan and "Seq Scan on movements" not in plan, plan


async def test_migration_0010_keeps_the_ledger_in_its_order_and_goes_down_and_up_again(database_url) -> None:  # type: ignore[no-untyped-def]
    """Movements written before 0010 read xact_id 0 (no table rewrite), ahead of every movement written after
    it, which carries its transaction's id; a downgrade gives the id-ordered index back."""
    schema = f"movements_0010_{uuid.uuid4().hex[:6]}"
    await upgrade(MIGRATIONS, database_url, schema, "0009")
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        insert_one = (
            "INSERT INTO movements (location_id, sku, delta, kind, reason, reference, on_hand_after)"
            " VALUES ('L', 'S', 1, 'RECEIPT', '', '', 1)"
        )
        await conn.execute(insert_one)
        await upgrade(MIGRATIONS, database_url, schema)
        await conn.execute(insert_one)
        written = [r["xact_id"] for r in await conn.fetch("SELECT xact_id FROM movements ORDER BY id")]
        assert written[0] == 0 and written[1] > 0, written
        assert await _indexes(conn, schema) == {
            "movements_by_location_sku_xact",
            "movements_by_location_xact",
            "movements_by_xact",
        }
        await asyncio.to_thread(downgrade_sync, MIGRATIONS, database_url, schema, "0009")
        assert await _indexes(conn, schema) == {"movements_by_location_sku"}
        assert await conn.fetchval("SELECT count(*) FROM movements") == 2
        await upgrade(MIGRATIONS, database_url, schema)
        assert await conn.fetchval("SELECT count(*) FROM movements WHERE xact_id = 0") == 2
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


async def _indexes(conn: asyncpg.Connection, schema: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT indexname FROM pg_indexes"
        " WHERE schemaname = $1 AND tablename = 'movements' AND indexname <> 'movements_pkey'",
        schema,
    )
    return {r["indexname"] for r in rows}
