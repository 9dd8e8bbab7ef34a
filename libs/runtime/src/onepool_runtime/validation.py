"""Input checks used by servicers when translating requests into commands. They collect every violation
with the proto field path, so the caller learns everything wrong with a request in one INVALID_ARGUMENT.
The order-line checks (SKU, quantity, lines) live in the kernel, where domains use them too; re-exported here."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from onepool_kernel.currencies import is_currency
from onepool_kernel.errors import InvalidArgument, Violations
from onepool_kernel.lines import MAX_LINES, MAX_QUANTITY, SKU_RE, check_lines, check_quantity, check_sku

__all__ = ["MAX_LINES", "MAX_QUANTITY", "SKU_RE", "check_lines", "check_quantity", "check_sku"]

T = TypeVar("T")

# \Z, not $: $ also matches before a final newline, so "abc\n" passed as an id.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}\Z")
# The shape of a code only: for what is read back (events, stored rows), which may name a code ISO has since
# withdrawn. What a request brings in is checked against the active codes (check_currency).
CURRENCY_RE = re.compile(r"^[A-Z]{3}\Z")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


def check_id(v: Violations, path: str, value: str, *, required: bool = True) -> None:
    if not value:
        if required:
            v.add(path, "is required")
        return
    if not ID_RE.match(value):
        v.add(path, "must be 1-64 letters, digits, '-', '_', '.', ':'")


def valid_id(path: str, value: str) -> str:
    """`value` when it is a well-formed id; InvalidArgument on `path` otherwise (a request that names one id)."""
    v = Violations()
    check_id(v, path, value)
    v.raise_if_any()
    return value


def check_request_id(v: Violations, path: str, value: str) -> None:
    if not value:
        v.add(path, "is required (the idempotency key)")
    elif len(value) > 128:
        v.add(path, "must be at most 128 characters")


def check_currency(v: Violations, path: str, value: str) -> None:
    """Every currency a request brings in is checked here: an active ISO 4217 code (onepool_kernel.currencies),
    so a well-formed but unknown code such as ZZZ never becomes money anywhere."""
    if not is_currency(value or ""):
        v.add(path, "must be an active ISO 4217 currency code such as CNY")


def check_money(v: Violations, path: str, value: Any, *, max_minor: int) -> None:
    """A common.v1.Money: an ISO currency and an amount from 0 to `max_minor` minor units."""
    check_currency(v, f"{path}.currency", value.currency)
    if value.amount_minor < 0:
        v.add(f"{path}.amount_minor", "must not be negative")
    elif value.amount_minor > max_minor:
        v.add(f"{path}.amount_minor", f"must be at most {max_minor}")


def check_text(v: Violations, path: str, value: str, *, max_len: int = 500, required: bool = False) -> None:
    if required and not value.strip():
        v.add(path, "is required")
    elif len(value) > max_len:
        v.add(path, f"must be at most {max_len} characters")


def page_size(v: Violations, value: int, path: str = "page_size") -> int:
    if value < 0:
        v.add(path, "must not be negative")
        return DEFAULT_PAGE_SIZE
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def next_page(rows: list[T], limit: int, position: Callable[[T], dict[str, Any]]) -> tuple[list[T], str]:
    """Split what a list read one row past `limit` (to learn whether more follow) into the page to send and
    the token of the next page: `position` of the page's last row, encoded; "" when this page is the last."""
    if len(rows) <= limit:
        return rows, ""
    return rows[:limit], encode_page_token(position(rows[limit - 1]))


def decode_page_token(token: str, path: str = "page_token") -> dict[str, Any] | None:
    """Opaque keyset cursors; a token that does not decode is the caller's mistake."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, dict):
            raise ValueError
        return value
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidArgument(path, "is not a valid page token") from exc


def _position(token: str, path: str, key: str, *, required: bool = True) -> tuple[bool, Any]:
    """(whether the token carries a position, what it carries under `key`): (False, None) without a token. A
    token without `key` is not one this list issued (another list's, or forged: {"x": 1}), refused rather than
    read as a first page, unless not `required` (then (False, None) too)."""
    cursor = decode_page_token(token, path)
    if cursor is None or (key not in cursor and not required):
        return False, None
    if key not in cursor:
        raise InvalidArgument(path, "is not a valid page token")
    return True, cursor[key]


def page_after(token: str, path: str = "page_token", key: str = "after") -> Any:
    """The position a page token carries under `key`, as the list wrote it (None without a token), for a list
    whose cursor has its own shape (the caller checks it). A token without `key`, or null there, was not
    issued by the list: INVALID_ARGUMENT on `path`, never read as a first page."""
    found, after = _position(token, path, key)
    if found and after is None:
        raise InvalidArgument(path, "is not a valid page token")
    return after if found else None


def page_after_int(token: str, path: str = "page_token", key: str = "after", *, required: bool = True) -> int:
    """The integer keyset position a page token carries under `key` (0 without a token, or without `key` when
    not `required`). Tokens come back from callers, so a cursor that is not one of ours (no `key`, a string, a
    float, a negative or 2**70) is refused here rather than read as a first page or failing in SQL."""
    found, after = _position(token, path, key, required=required)
    after = after if found else 0
    if type(after) is not int or not 0 <= after < 2**63:
        raise InvalidArgument(path, "is not a valid page token")
    return after


# What no name or code of ours holds (requests refuse control characters; a lone surrogate is not text) but a
# forged token's JSON escapes can: either would fail in SQL, not as the caller's mistake.
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def page_after_pair(token: str, path: str = "page_token") -> tuple[str, str] | None:
    """The (name or code, id) keyset position a page token carries (None without a token); refused unless
    it is one of ours (tokens come back from callers)."""
    found, after = _position(token, path, "after")
    if not found:
        return None
    if not (
        isinstance(after, list)
        and len(after) == 2
        and all(isinstance(x, str) for x in after)
        and len(after[0]) <= 200
        and not _NOT_TEXT.search(after[0])
        and ID_RE.match(after[1])
    ):
        raise InvalidArgument(path, "is not a valid page token")
    return after[0], after[1]


def page_after_key(token: str, path: str = "page_token") -> str:
    """The id or SKU keyset position a page token carries ("" without a token); refused unless it is one."""
    found, after = _position(token, path, "after")
    if not found:
        return ""
    if not isinstance(after, str) or (after and not SKU_RE.match(after)):
        raise InvalidArgument(path, "is not a valid page token")
    return after
