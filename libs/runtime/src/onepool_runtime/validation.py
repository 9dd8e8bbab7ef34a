"""Input checks used by servicers when translating requests into commands. They collect every violation
with the proto field path, so the caller learns everything wrong with a request in one INVALID_ARGUMENT.
The order-line checks (SKU, quantity, lines) live in the kernel, where domains use them too; re-exported here."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from onepool_kernel.errors import InvalidArgument, Violations
from onepool_kernel.lines import MAX_LINES, MAX_QUANTITY, SKU_RE, check_lines, check_quantity, check_sku

__all__ = ["MAX_LINES", "MAX_QUANTITY", "SKU_RE", "check_lines", "check_quantity", "check_sku"]

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


def check_id(v: Violations, path: str, value: str, *, required: bool = True) -> None:
    if not value:
        if required:
            v.add(path, "is required")
        return
    if not ID_RE.match(value):
        v.add(path, "must be 1-64 letters, digits, '-', '_', '.', ':'")


def check_request_id(v: Violations, path: str, value: str) -> None:
    if not value:
        v.add(path, "is required (the idempotency key)")
    elif len(value) > 128:
        v.add(path, "must be at most 128 characters")


def check_currency(v: Violations, path: str, value: str) -> None:
    if not CURRENCY_RE.match(value or ""):
        v.add(path, "must be an ISO 4217 code such as CNY")


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
