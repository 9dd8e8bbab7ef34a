"""Page tokens come back from callers: a cursor that is not one of ours is INVALID_ARGUMENT on the token, never
a value that fails in SQL."""

from __future__ import annotations

import pytest
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.validation import encode_page_token, page_after_pair


def test_a_pair_token_of_ours_reads_back() -> None:
    assert page_after_pair("") is None
    assert page_after_pair(encode_page_token({"after": ["Dealer Ltd. (上海)", "d-1"]})) == ("Dealer Ltd. (上海)", "d-1")


@pytest.mark.parametrize(
    "after",
    [
        ["A\u0000B", "abc"],  # PostgreSQL refuses NUL in text
        ["A\ud800", "abc"],  # a lone surrogate cannot even be encoded for the database
        ["A\udfffB", "abc"],
        ["A\u0085", "abc"],  # no name or code holds a control character (the request checks refuse them)
        ["x" * 201, "abc"],
        ["code", "a\u0000"],
        ["code"],
        "code",
    ],
)
def test_a_forged_pair_token_is_refused_on_the_token(after: object) -> None:
    # json.dumps escapes them (\u0000, \ud800), as a forger's token would carry them.
    with pytest.raises(InvalidArgument) as refused:
        page_after_pair(encode_page_token({"after": after}))
    assert [v.field for v in refused.value.violations] == ["page_token"]


@pytest.mark.parametrize("value", ["abc\n", "SH-1\n"])
def test_an_id_ending_in_a_newline_is_not_an_id(value: str) -> None:
    from onepool_runtime.errors import Violations
    from onepool_runtime.validation import check_id

    v = Violations()
    check_id(v, "id", value)
    with pytest.raises(InvalidArgument):
        v.raise_if_any()
    with pytest.raises(InvalidArgument):
        page_after_pair(encode_page_token({"after": ["Dealer", value]}))
