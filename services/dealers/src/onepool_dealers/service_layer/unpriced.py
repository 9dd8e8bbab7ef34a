"""Goods that changed owner with SKUs nothing could price (domain/ownership.py: no list price in the valuing
dealer's currency, and no price paid in it).

Such a SKU is named on the published move (`unpriced_skus`, and with its units in `unpriced_lines`) and left out
of its total. Settlement books only the total (rule 7; nothing at all when no line is priced) and keeps the move
for Reconcile (`unpriced_move`) until the brand values it by hand. Each move recorded for the first time with
unpriced SKUs is logged (WARNING, naming the move, its owners, the SKUs and the currency a price is wanted in)
and counted (`onepool.dealers.unpriced_moves`, by reason and currency): the operator sets the missing
wholesale prices. A move already recorded is not valued again, so the price set afterwards does not re-price
it: the brand settles that one by hand (settlement's SettleUnpricedMove)."""

from __future__ import annotations

import logging

from onepool_runtime.metrics import meter

from onepool_dealers.domain.ownership import OwnershipMove

log = logging.getLogger(__name__)

unpriced_moves = meter.create_counter(
    "onepool.dealers.unpriced_moves",
    description="Ownership moves recorded with SKUs no wholesale or paid price valued, by reason and currency",
)


def report(move: OwnershipMove) -> None:
    """Called once the move's transaction has committed (it is recorded, and published, once)."""
    goods = move.goods
    log.warning(
        "ownership move %s left %s unpriced: no wholesale list price in %s (and no price paid in it), so they "
        "are not in its total of %s and %s pays %s nothing for them; set the SKUs' wholesale price in %s",
        goods.id,
        ", ".join(move.unpriced_skus),
        move.currency,
        move.total,
        _party(goods.taker),
        _party(goods.giver),
        move.currency,
    )
    unpriced_moves.add(1, {"reason": goods.reason.value, "currency": move.currency})


def _party(dealer_id: str) -> str:
    return f"dealer {dealer_id}" if dealer_id else "the brand"
