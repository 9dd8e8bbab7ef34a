"""The ledger paging rule settlement's ListEntries and inventory's ListMovements share (commit_order.py): its
statements as SQL, its page tokens, and how long a short page waits for rows held back. The rule against a real
database with transactions left open: tests/settlement/test_entries_paging.py,
services/inventory/tests/test_movements_paging.py."""

from __future__ import annotations

import pytest
from onepool_runtime import commit_order
from onepool_runtime.commit_order import CommitOrder, page_cursor, page_position, read_page
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.validation import encode_page_token
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql

LEDGER = Table(
    "ledger",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("xact_id", BigInteger),
    Column("owner", String),
)
ORDER = CommitOrder(LEDGER.c.xact_id, LEDGER.c.id)
XMIN = "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)"

pytestmark = pytest.mark.asyncio


def sql(statement: object) -> str:
    compiled = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    return " ".join(str(compiled).split())


async def test_a_page_is_the_rows_after_the_position_of_finished_transactions_in_transaction_order() -> None:
    page = sql(ORDER.page(select(LEDGER).where(LEDGER.c.owner == "o"), (7, 3), 11))
    assert page.endswith(
        f"WHERE ledger.owner = 'o' AND (ledger.xact_id, ledger.id) > (7, 3) AND ledger.xact_id < {XMIN} "
        "ORDER BY ledger.xact_id, ledger.id LIMIT 11"
    ), page
    held = sql(ORDER.held_back(select(LEDGER.c.id).where(LEDGER.c.owner == "o"), (7, 3)))
    assert held == (
        "SELECT 1 AS anon_1 FROM ledger "
        f"WHERE ledger.owner = 'o' AND (ledger.xact_id, ledger.id) > (7, 3) AND ledger.xact_id >= {XMIN} LIMIT 1"
    ), held


async def test_a_token_carries_the_position_and_a_token_of_the_id_order_reads_as_before_every_transaction() -> None:
    assert page_position("") == (0, 0)
    assert page_position(encode_page_token(page_cursor(2**40, 5))) == (2**40, 5)
    assert page_position(encode_page_token({"after": 9})) == (0, 9)
    for bad in ({"xact": -1, "after": 1}, {"xact": "7", "after": 1}, {"xact": 2**63}, {"after": 1.5}):
        with pytest.raises(InvalidArgument) as refused:
            page_position(encode_page_token(bad), "page_token")
        assert [v.field for v in refused.value.violations] == ["page_token"]


class Ledger:
    """Rows that become readable one at a time, each time `held_back` is asked."""

    def __init__(self, readable: list[int], held: list[int]) -> None:
        self.readable, self.held, self.calls = readable, held, []  # type: ignore[var-annotated]

    async def page(self, n: int) -> list[int]:
        self.calls.append("page")
        return self.readable[:n]

    async def held_back(self) -> bool:
        self.calls.append("held_back")
        waiting = bool(self.held)
        if self.held:  # the older transaction ends a moment after the question
            self.readable.append(self.held.pop(0))
        return waiting


async def test_a_short_page_waits_for_rows_held_back_and_a_full_page_does_not(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(commit_order, "HELD_BACK_WAIT_SECONDS", 0)
    full = Ledger([1, 2, 3], [4])
    assert await read_page(full.page, full.held_back, 2) == ([1, 2], True)
    assert full.calls == ["held_back", "page"]
    short = Ledger([1], [2])
    # Held back is asked before the page is read: rows that ended between the two reads are not left out.
    assert await read_page(short.page, short.held_back, 5) == ([1, 2], False)
    assert short.calls == ["held_back", "page", "held_back", "page"]


async def test_a_page_held_back_for_ever_is_answered_after_the_last_wait(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(commit_order, "HELD_BACK_WAIT_SECONDS", 0)
    calls = []

    async def page(n: int) -> list[int]:
        calls.append(n)
        return [1]

    async def held_back() -> bool:
        return True

    assert await read_page(page, held_back, 5) == ([1], False)
    assert calls == [6] * commit_order.HELD_BACK_WAITS
