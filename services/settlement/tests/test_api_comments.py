"""What the API says a journal line's account can be is what the ledger writes: every value of the domain's
Account, and nothing else (the comment once gave "fee" and "refund", which no line ever carried)."""

from __future__ import annotations

import re
from pathlib import Path

from onepool_settlement.domain.model import Account

PROTO = Path(__file__).resolve().parents[3] / "protos" / "onepool" / "settlement" / "v1" / "settlement.proto"


def field_comment(message: str, field: str) -> str:
    """The `//` lines right above `field` in `message` of settlement.proto."""
    text = PROTO.read_text()
    body = text[text.index(f"message {message} {{") :]
    above = body[: body.index(field)].splitlines()[:-1]
    comment: list[str] = []
    for line in reversed(above):
        if not line.strip().startswith("//"):
            break
        comment.insert(0, line.strip().removeprefix("//").strip())
    return " ".join(comment)


def test_the_api_names_every_account_a_journal_line_can_have_and_no_other() -> None:
    named = set(re.findall(r'"([a-z_]+)"', field_comment("JournalLine", "string account = 4;")))
    assert named == {account.value for account in Account}
