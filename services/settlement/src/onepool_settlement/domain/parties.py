"""Parties of the ledger.

- `brand`: the brand (the platform owner).
- `dealer:<id>`: a franchise dealer.
- `channel:<id>`: a sales channel; a marketplace keeps its commission here.
- `clearing`: the customers' cash. Every sale is paid from it and every refund paid back to it, so each
  entry balances; its balance is minus the customers' money the ledger has allocated to the parties.

A positive balance means the ledger owes the party; a negative one means the party owes (a dealer's
wholesale purchases on credit, for instance).
"""

from __future__ import annotations

import re

from onepool_kernel.errors import InvalidArgument

BRAND = "brand"
CLEARING = "clearing"
_ID = r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"
PARTY_RE = re.compile(rf"^(brand|clearing|dealer:{_ID}|channel:{_ID})$")


def dealer(dealer_id: str) -> str:
    return f"dealer:{dealer_id}"


def channel(channel_id: str) -> str:
    return f"channel:{channel_id}"


def is_valid(party: str) -> bool:
    return bool(PARTY_RE.match(party))


def check(party: str, path: str = "party") -> str:
    if not party:
        raise InvalidArgument(path, "is required")
    if not is_valid(party):
        raise InvalidArgument(path, "must be 'brand', 'clearing', 'dealer:<id>' or 'channel:<id>'")
    return party
