"""Integer money arithmetic: amounts are minor units (fen), never floats, and a split always adds up exactly.

`allocate` is the one way the ledger divides an amount between parties. It is the largest-remainder
(Hamilton) method: every piece is the exact share rounded down, and the few units left over go to the
pieces with the largest remainders (ties to the earlier piece, so the result is deterministic). Each piece is
therefore within one minor unit of its exact share, and the pieces sum to the amount exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

BPS = 10_000  # basis points in one whole


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to integer `weights`; the pieces sum to `amount` exactly.

    Weights may be negative (a reversal splits a refund over an order's positions, and a party that paid a
    fee holds a negative position) as long as they sum to more than zero. Zero weights get zero.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    total = sum(weights)
    if total <= 0:
        if amount == 0:
            return [0] * len(weights)
        raise ValueError("weights must sum to more than zero")
    floors: list[int] = []
    remainders: list[int] = []
    for w in weights:
        q, r = divmod(amount * w, total)  # floor division: also right for negative amounts and weights
        floors.append(q)
        remainders.append(r)
    leftover = amount - sum(floors)  # == sum(remainders) / total, an integer in [0, len(weights))
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return floors


def bps_of(amount: int, bps: int) -> int:
    """`bps` basis points of `amount`, rounded half away from zero."""
    scaled = abs(amount) * bps
    value = (scaled + BPS // 2) // BPS
    return value if amount >= 0 else -value
