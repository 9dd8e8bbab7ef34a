"""A page token without the position its list reads (another list's, or forged: {"x": 1}) is not one of ours:
INVALID_ARGUMENT on the token, never a first page (audit P: ListReplenishments answered {"x": 1} with rows)."""

from __future__ import annotations

import pytest
from onepool_runtime.commit_order import page_position
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.validation import encode_page_token, page_after_int, page_after_key, page_after_pair

READERS = [
    lambda t: page_after_int(t),
    lambda t: page_after_int(t, key="before"),
    page_after_pair,
    page_after_key,
    page_position,
]


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("cursor", [{"x": 1}, {}, {"xact": 5}, {"after": None, "before": None}])
def test_a_token_without_its_position_is_refused_on_the_token(read, cursor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument) as refused:
        read(encode_page_token(cursor))
    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_no_token_is_the_first_page_and_a_token_of_the_id_order_still_reads() -> None:
    assert (page_after_int(""), page_after_pair(""), page_after_key(""), page_position("")) == (0, None, "", (0, 0))
    assert page_position(encode_page_token({"after": 9})) == (0, 9)
    assert page_after_int(encode_page_token({"before": 7}), key="before") == 7
