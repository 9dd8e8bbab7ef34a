"""Reasons an RPC passes on from the service it calls are named on that RPC's own `Errors:` line, so the
reason index of docs/api.md (generated from those lines) tells a client every reason an RPC can answer with:
inventory's STOCK_LIMIT through dealers' ReceiveReplenishment, and the reasons a caller's adapter gives a
peer's FAILED_PRECONDITION that came without ErrorInfo (orders: INVENTORY_REFUSED, channels: ORDER_REFUSED)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _answered_by(reason: str) -> set[str]:
    index = API_MD.read_text().split('<a id="reasons"></a>', 1)[1].split("\n## ", 1)[0]
    row = next((line for line in index.splitlines() if line.startswith(f"| `{reason}` |")), "")
    return set(re.findall(r"\[`(\w+)`\]", row))


@pytest.mark.parametrize(
    ("reason", "rpcs"),
    [
        ("STOCK_LIMIT", {"ReceiveReplenishment"}),  # inventory's ReceiveTransfer, passed on by dealers
        ("INVENTORY_REFUSED", {"CancelOrder"}),  # orders: inventory's release refused without ErrorInfo
        ("ORDER_REFUSED", {"ImportOrder"}),  # channels: orders refused without ErrorInfo
    ],
)
def test_a_reason_passed_on_from_a_peer_is_listed_on_the_rpc_that_passes_it(reason: str, rpcs: set[str]) -> None:
    assert rpcs <= _answered_by(reason), reason
