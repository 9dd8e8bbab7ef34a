"""Publishing what each open expected receipt is promised, last thing before a transaction commits.

Readers (channels' presale numbers) see a receipt's promised units only through its events. Whatever moves a
waiting line or the receipts it counts on (a reservation waiting or no longer waiting, goods filling it, a
receipt recorded, received, rescheduled or cancelled) flags the stock level there (`StockLevel.promises_changed`).
Here the units waiting at each flagged (sku, location) are laid along its open receipts again and compared with
what each line was last published as promising (`domain/expected.py` `moved_promises`); every receipt with a
line whose number moved records ExpectedReceiptChanged with a new version, in the same transaction (its events
go to the outbox with it).

Both writers run it: the unit of work at commit, after settling the waiting lines (service_layer/waiting.py),
and a Reserve batch after writing its rules (service_layer/reserving.py). Locks: see adapters/receipt_promises.py
(receipts come last, in id order). A receipt this transaction records an event of already (received on,
recorded, rescheduled, cancelled) is not changed twice: that event carries the new numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from onepool_inventory.adapters.receipt_promises import ReceiptPromises
from onepool_inventory.domain.expected import ExpectedReceipt, moved_promises
from onepool_inventory.domain.model import StockLevel


async def publish(
    store: ReceiptPromises,
    levels: Iterable[StockLevel],
    moment: datetime,
    own: Mapping[str, ExpectedReceipt] | None = None,
) -> list[ExpectedReceipt]:
    """Publish the promises that moved at these levels (those flagged; the caller holds their rows). `own` are
    the receipts this transaction loaded already, by id. Returns the other receipts that changed (their events
    are the caller's to write)."""
    due = [lvl for lvl in levels if lvl.promises_changed]
    for lvl in due:
        lvl.promises_changed = False
    if not due:
        return []
    awaiting = {(lvl.sku, lvl.location_id): lvl.awaiting for lvl in due}
    moved = moved_promises(awaiting, await store.published(awaiting))
    if not moved:
        return []
    mine = own or {}
    changed = []
    for found in await store.publish(moved):
        receipt = mine.get(found.id, found)  # one object per receipt in a unit of work
        if receipt.promises_moved(found.promised, moment):
            changed.append(receipt)
    await store.save(changed)
    return [r for r in changed if r.id not in mine]
