"""A move's unpriced SKUs are published with their units (OwnershipMove.unpriced_lines): settlement keeps them for
the brand to value by hand, and a SKU name alone did not say how many units were taken for nothing."""

from __future__ import annotations

from onepool_dealers.adapters.mappers import move_to_proto
from onepool_dealers.domain.ownership import Goods, MoveReason, value
from onepool_kernel.lines import StockLine
from onepool_kernel.money import Money


def test_a_moves_unpriced_skus_are_published_with_their_units() -> None:
    goods = Goods(
        id="transfer:T1",
        reason=MoveReason.TRANSFER,
        lines=(StockLine("TEA", 2), StockLine("CUP", 3), StockLine("POT", 1)),
        giver="",
        taker="D-1",
        reference="T1",
    )
    move = value(goods, "CNY", 8_500, {"TEA": Money("CNY", 10_000)})
    assert move.unpriced == (StockLine("CUP", 3), StockLine("POT", 1))
    assert move.unpriced_skus == ("CUP", "POT")

    published = move_to_proto(move)
    assert list(published.unpriced_skus) == ["CUP", "POT"]
    assert [(ln.sku, ln.quantity, ln.HasField("unit_price")) for ln in published.unpriced_lines] == [
        ("CUP", 3, False),
        ("POT", 1, False),
    ]
    assert published.total.amount_minor == 17_000
