"""Orders' command outbox keeps a request inventory answered for its retention, then purges it; a request not yet
answered, or refused for good (an operator's to look at), stays whatever its age."""

from __future__ import annotations

from typing import Any

import pytest
from onepool_orders.entrypoints.bootstrap import stock_request_purge
from onepool_orders.settings import OrdersSettings
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

OLD, RECENT = "now() - interval '8 days'", "now() - interval '1 hour'"


async def test_answered_requests_past_their_retention_are_purged_and_open_or_failed_ones_stay(sessions: Any) -> None:
    rows = {  # order id: (created_at, done_at, failed_at)
        "answered-old-1": (OLD, OLD, "NULL"),
        "open-old": (OLD, "NULL", "NULL"),  # inventory unreachable for 8 days: still to be sent
        "failed-old": (OLD, "NULL", OLD),
        "answered-old-2": (OLD, OLD, "NULL"),
        "answered-recent": (RECENT, RECENT, "NULL"),
    }
    async with sessions() as session:
        await session.execute(text("TRUNCATE stock_requests"))
        for order_id, (created, done, failed) in rows.items():
            await session.execute(
                text(
                    "INSERT INTO stock_requests (order_id, kind, payload, attempts, created_at, done_at, failed_at) "
                    f"VALUES (:o, 'COMMIT', '{{}}', 1, {created}, {done}, {failed})"
                ),
                {"o": order_id},
            )
        await session.commit()
    engine = sessions.kw["bind"]
    purge = stock_request_purge(OrdersSettings(), engine)  # 7 days by default

    assert await purge.once() == 2
    assert await purge.once() == 0

    async with sessions() as session:
        left = (await session.execute(text("SELECT order_id FROM stock_requests ORDER BY seq"))).scalars().all()
    assert left == ["open-old", "failed-old", "answered-recent"]
