"""ListEntries pages never skip a line committed late.

A line's id is taken when its transaction inserts it, not when it commits. Before, pages were cut by id, so a
reader who had paged past a line still being written (a consumer's batch, a RecordPayment in flight) never got
it: its next_page_token pointed after it. Now a page lists only lines of transactions older than every one
still running, in (xact_id, id) order (adapters/repository.py `page_lines`): what a reader has read is always
the beginning of the listing as it ends up, and a line being written is listed after it commits.

Each test holds a posting open in a unit of work of its own and reads through gRPC meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine, session_factory
from onepool_runtime.validation import encode_page_token
from onepool_settlement.domain import rules
from onepool_settlement.service_layer import handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from sqlalchemy import text

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def sessions(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield session_factory(engine)
    await engine.dispose()


async def paid(settlement: Any, admin: Any, payee: str, amount: int) -> None:
    """A payment to `payee`, committed (an RPC)."""
    request = pb.RecordPaymentRequest(
        request_id=Bus.uid("pay"), from_party=f"dealer:{Bus.uid('P')}", to_party=payee, amount=cny(amount)
    )
    await settlement.RecordPayment(request, metadata=admin)


async def post_to(uow: SettlementUnitOfWork, payee: str, amount: int) -> None:
    """A line to `payee` in `uow`'s transaction, left open: posted as events post theirs, without the party
    locks RecordPayment takes (two payments to one payee take turns, so they could not interleave here)."""
    key = f"payment:{Bus.uid('held')}"
    await handlers.post(uow, rules.payment(key, f"dealer:{Bus.uid('P')}", payee, "CNY", amount))


async def follow(settlement: Any, admin: Any, party: str, token: str = "") -> tuple[list[int], str]:
    """Follow next_page_token, a line a page, until the last page: the ids read, and the last token received
    (where a reader that keeps its place continues from)."""
    ids, last = [], token
    while True:
        request = pb.ListEntriesRequest(party=party, page_size=1, page_token=token)
        reply = await settlement.ListEntries(request, metadata=admin)
        ids += [line.id for line in reply.entries]
        if not reply.next_page_token:
            return ids, last
        token = last = reply.next_page_token


async def listing(settlement: Any, admin: Any, party: str, count: int) -> list[int]:
    """The whole listing, once `count` lines are in it."""

    async def probe() -> list[int]:
        reply = await settlement.ListEntries(pb.ListEntriesRequest(party=party, page_size=500), metadata=admin)
        return [line.id for line in reply.entries]

    return await Bus.eventually(probe, lambda ids: len(ids) == count)


async def test_a_line_committed_after_later_ones_is_not_skipped_by_a_reader_following_page_tokens(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """The auditor's case: a posting takes its line's id, two later ones commit first, a reader pages through
    all of them, then the first commits. Before, the reader's token pointed past it: it was never listed."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    for amount in (100, 101):
        await paid(settlement, admin, payee, amount)
    held = SettlementUnitOfWork(sessions)
    async with held:
        await post_to(held, payee, 111)  # its line's id is taken now
        for amount in (222, 333):
            await paid(settlement, admin, payee, amount)
        read, token = await follow(settlement, admin, payee)
        await held.commit()
    final = await listing(settlement, admin, payee, 5)
    assert read == final[: len(read)], "a reader got past a line that was still being written"
    rest, _ = await follow(settlement, admin, payee, token)
    assert set(read) | set(rest) == set(final)


async def test_a_reader_at_the_end_of_the_journal_reads_only_what_came_since_from_its_resume_token(
    settlement: Any, admin: Any
) -> None:
    """An accounting export that follows a party's journal: the last page has no next_page_token, so before
    there was nothing to continue from later but the start. resume_page_token is set on every page."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    for amount in (100, 101):
        await paid(settlement, admin, payee, amount)
    request = pb.ListEntriesRequest(party=payee, page_size=500)
    last = await settlement.ListEntries(request, metadata=admin)
    assert len(last.entries) == 2 and not last.next_page_token
    request.page_token = last.resume_page_token
    nothing = await settlement.ListEntries(request, metadata=admin)
    assert not nothing.entries and not nothing.next_page_token and nothing.resume_page_token
    for amount in (222, 333):
        await paid(settlement, admin, payee, amount)
    request.page_token, request.page_size = nothing.resume_page_token, 1
    page = await settlement.ListEntries(request, metadata=admin)
    assert [abs(e.amount.amount_minor) for e in page.entries] == [
        222
    ] and page.resume_page_token == page.next_page_token
    request.page_token, request.page_size = page.resume_page_token, 500
    rest = await settlement.ListEntries(request, metadata=admin)
    assert [abs(e.amount.amount_minor) for e in rest.entries] == [333] and not rest.next_page_token


async def test_a_transaction_that_took_its_id_first_and_wrote_its_line_last_is_not_skipped_either(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """Transaction order is not line order: a transaction gets its id at its first write (an RPC's idempotency
    key, a consumer's inbox row), possibly before another that inserts its lines earlier. Listing by id over
    finished transactions only would still skip the other's line here; listing in (transaction, id) order
    does not."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    for amount in (100, 101):
        await paid(settlement, admin, payee, amount)
    first, second = SettlementUnitOfWork(sessions), SettlementUnitOfWork(sessions)
    async with first, second:
        await first.session.execute(text("SELECT pg_current_xact_id()"))  # `first` has its transaction id
        await post_to(second, payee, 222)  # `second` writes its line first ...
        await post_to(first, payee, 111)  # ... and `first` its own after it
        await first.commit()
        read, token = await follow(settlement, admin, payee)
        await second.commit()
    final = await listing(settlement, admin, payee, 4)
    assert read == final[: len(read)], "a reader got past a line that was still being written"
    rest, _ = await follow(settlement, admin, payee, token)
    assert set(read) | set(rest) == set(final)


async def test_a_caller_reads_what_it_has_just_posted_though_an_older_transaction_ends_a_moment_later(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """Every service's outbox relay keeps a transaction open while NATS acknowledges: a line just posted may sit
    behind one for milliseconds. ListEntries waits for it (briefly) rather than answer without it."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    older = SettlementUnitOfWork(sessions)
    async with older:
        await older.session.execute(text("SELECT pg_current_xact_id()"))  # older than the payment below
        await paid(settlement, admin, payee, 100)
        reading = asyncio.ensure_future(settlement.ListEntries(pb.ListEntriesRequest(party=payee), metadata=admin))
        await asyncio.sleep(0.1)
        await older.commit()
    reply = await reading
    assert [line.amount.amount_minor for line in reply.entries] == [-100]


async def test_a_page_token_of_any_position_reads_without_error(settlement: Any, admin: Any) -> None:
    """Transaction ids are 64-bit (xid8): a position beyond 2**31 is a position, and a token of the id order
    ListEntries once had ({"after": id}) still reads, as the lines before any line carried its transaction."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    await paid(settlement, admin, payee, 100)
    far = encode_page_token({"xact": 2**40, "after": 2**40})
    reply = await settlement.ListEntries(pb.ListEntriesRequest(party=payee, page_token=far), metadata=admin)
    assert list(reply.entries) == []
    old = encode_page_token({"after": 0})
    reply = await settlement.ListEntries(pb.ListEntriesRequest(party=payee, page_token=old), metadata=admin)
    assert [line.amount.amount_minor for line in reply.entries] == [-100]
