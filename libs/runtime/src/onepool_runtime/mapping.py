"""Copying the fields two shapes of one thing share by name (a domain object, its row, its message)."""

from __future__ import annotations

from typing import Any


def copy_fields(source: object, *names: str) -> dict[str, Any]:
    """The named attributes of `source`, by the same names: for building an object from the fields it shares
    with another, e.g. `Location(**copy_fields(message, "id", "region"), type=..., active=not message.disabled)`.
    The fields that differ (renamed, converted) stay written out beside it, where a reader sees them."""
    return {name: getattr(source, name) for name in names}
