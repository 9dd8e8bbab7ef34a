"""Reading a marketplace JSON payload while collecting every problem with its path.

Every format adapter reads through `Obj`, so a refusal always names the field the way the sender wrote it,
e.g. `payload.line_items[1].sku`. JSON numbers with a fraction are decoded as Decimal, never float. Every
text read (`Obj.text`) is refused when it holds a control character or a lone surrogate (JSON escapes such
as \\u0000 or \\ud800 that only appear once the payload is decoded).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from decimal import Decimal
from typing import Any

from onepool_runtime.errors import InvalidArgument, Violations
from onepool_runtime.request_checks import MAX_TIME, MIN_TIME
from onepool_runtime.validation import MAX_QUANTITY

from onepool_channels.domain.imports import to_minor

ROOT = "payload"
_DIGITS = re.compile(r"^[0-9]{1,7}\Z")  # ASCII digits only: \d also takes "١٢"
# What a JSON escape can put into a string that the request's own check (on the raw payload) never saw:
# control characters (Unicode Cc; \u0000 is refused by PostgreSQL, none belongs in an id, a name or an address)
# and lone surrogates (\ud800: not text at all, it cannot even be encoded to UTF-8 for the database or a reply).
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A date and a time of day, to the second or finer, with or without a UTC offset: ISO 8601 / RFC 3339
# ("2026-11-23T10:15:30+08:00", "...Z") and Taobao's "2026-11-23 10:15:30". ASCII digits only.
_INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})?\Z"
)
_INSTANT_EXAMPLE = "2026-11-23T10:15:30+08:00"


def _offset(text: str) -> str:
    return "+00:00" if text.upper() == "Z" else text


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def load(payload: str) -> Obj:
    """Decode the payload into its top-level object, or refuse it as INVALID_ARGUMENT on `payload`."""
    try:
        data = json.loads(payload, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument(ROOT, f"is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(ROOT, "must be a JSON object")
    return Obj(data, ROOT, Violations())


@dataclass
class Obj:
    """One JSON object of the payload and its path; every reader adds violations instead of raising."""

    data: dict[str, Any]
    path: str
    v: Violations

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def _value(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.v.add(self.at(key), "is required")
            return None
        return value

    def text(self, key: str, *, required: bool = False, max_len: int = 200) -> str:
        value = self._value(key, required)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.v.add(self.at(key), "must be a string")
            return ""
        text = str(value).strip()
        if len(text) > max_len:
            self.v.add(self.at(key), f"must be at most {max_len} characters")
            return ""
        bad = _NOT_TEXT.search(text)
        if bad:
            self.v.add(
                self.at(key), f"must not contain control characters or lone surrogates (U+{ord(bad.group()):04X})"
            )
            return ""
        return text

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.v.add(self.at(key), "must be true or false")
            return default
        return value

    def quantity(self, key: str) -> int:
        value = self._value(key, True)
        if value is None:
            return 0
        if isinstance(value, str) and _DIGITS.match(value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            self.v.add(self.at(key), "must be a whole number")
            return 0
        if not 1 <= value <= MAX_QUANTITY:
            self.v.add(self.at(key), f"must be between 1 and {MAX_QUANTITY}")
            return 0
        return value

    def amount(self, key: str, currency: str, *, required: bool = True) -> int:
        """A decimal amount ("12.50" or 12.50) in the currency's minor units (1250)."""
        value = self._value(key, required)
        if value is None:
            return 0
        try:
            return to_minor(value, currency or "CNY")
        except ValueError as exc:
            self.v.add(self.at(key), str(exc))
            return 0

    def signed_amount(self, key: str, currency: str) -> int:
        """An optional decimal amount that may be negative ("-5.00" -> -500), such as a price adjustment."""
        value = self._value(key, False)
        if value is None:
            return 0
        sign = 1
        if isinstance(value, str) and value.strip().startswith("-"):
            sign, value = -1, value.strip()[1:]
        elif isinstance(value, int | Decimal) and not isinstance(value, bool) and value < 0:
            sign, value = -1, -value
        try:
            return sign * to_minor(value, currency or "CNY")
        except ValueError as exc:
            self.v.add(self.at(key), str(exc))
            return 0

    def instant(self, key: str, *, zone: timezone | None = None) -> datetime | None:
        """An optional time as the marketplace writes it, in UTC; None when absent. A time without a UTC offset
        is in `zone` (Taobao writes Beijing time), and refused when the format has none. The range is what the
        orders contract carries (1970 to 9000)."""
        value = self._value(key, False)
        if value is None:
            return None
        text = value.strip() if isinstance(value, str) else ""
        found = _INSTANT.match(text)
        if found is None:
            self.v.add(self.at(key), f'must be a date and time such as "{_INSTANT_EXAMPLE}"')
            return None
        offset = found.group(2)
        if offset is None and zone is None:
            self.v.add(self.at(key), f'must name its UTC offset, such as "{_INSTANT_EXAMPLE}"')
            return None
        iso = f"{text[:10]}T{text[11:19]}{(found.group(1) or '')[:7]}"
        try:
            local = datetime.fromisoformat(iso)
            moment = local.replace(tzinfo=zone) if offset is None else datetime.fromisoformat(iso + _offset(offset))
            moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):  # "2026-02-30 ...", an offset past 24 hours, before year 1 in UTC
            self.v.add(self.at(key), f'must be a date and time such as "{_INSTANT_EXAMPLE}"')
            return None
        if not MIN_TIME <= moment < MAX_TIME:
            self.v.add(self.at(key), f"must be between {MIN_TIME:%Y-%m-%d} and {MAX_TIME:%Y-%m-%d}")
            return None
        return moment

    def total_of(self, key: str, field: str, currency: str) -> int:
        """The sum of `field` over an optional array of objects (Shopify discount_allocations[].amount)."""
        return sum(item.amount(field, currency) for item in self.objects(key, required=False))

    def obj(self, key: str, *, required: bool = False) -> Obj | None:
        value = self._value(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.v.add(self.at(key), "must be an object")
            return None
        return Obj(value, self.at(key), self.v)

    def objects(self, key: str, *, required: bool = True, max_items: int = 500) -> list[Obj]:
        value = self._value(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.v.add(self.at(key), "must be an array")
            return []
        if required and not value:
            self.v.add(self.at(key), "must not be empty")
        if len(value) > max_items:
            self.v.add(self.at(key), f"must have at most {max_items} entries")
            return []
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.v.add(f"{self.at(key)}[{i}]", "must be an object")
                continue
            out.append(Obj(item, f"{self.at(key)}[{i}]", self.v))
        return out


def join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)
