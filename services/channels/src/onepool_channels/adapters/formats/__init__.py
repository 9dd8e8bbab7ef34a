"""Marketplace payload formats: pure functions from the payload text to an ImportedOrder.

Each refuses a payload it cannot read with INVALID_ARGUMENT naming every offending field by its path in
the payload (payload.line_items[1].sku). Adding a format is adding a module and a line in PARSERS.
"""

from __future__ import annotations

from collections.abc import Callable

from onepool_runtime.errors import InvalidArgument

from onepool_channels.adapters.formats import generic, shopify, taobao
from onepool_channels.adapters.formats.common import Obj, load
from onepool_channels.domain.imports import ImportedOrder

PARSERS: dict[str, Callable[[Obj], ImportedOrder]] = {
    "shopify": shopify.parse,
    "taobao": taobao.parse,
    "generic": generic.parse,
}


def parse(format_: str, payload: str) -> ImportedOrder:
    parser = PARSERS.get(format_)
    if parser is None:
        raise InvalidArgument("format", f"must be one of {', '.join(PARSERS)}")
    return parser(load(payload))
