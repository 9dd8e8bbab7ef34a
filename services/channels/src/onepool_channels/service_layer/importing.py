"""The marketplace order import (ImportOrder): a payload mapped through the channel's listings and placed,
repriced, moved, paid or cancelled with orders. Each database step is its own short transaction, closed before
the remote calls that follow it (`read`, `write`: the servicer's)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from onepool_kernel.intake import FulfillmentMode, PlaceOrder
from onepool_kernel.money import Money
from onepool_runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Unavailable
from onepool_runtime.protobuf import FULFILLMENT_MODES, LOCATION_TYPES_BACK, from_ts

from onepool_channels.domain.imports import (
    ImportedOrder,
    OrdersRefusedListings,
    address_change_key,
    reprice_key,
    resolve,
    to_text,
)
from onepool_channels.domain.model import LocationInfo
from onepool_channels.service_layer.handlers import get_channel
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork


class OrdersPort(Protocol):
    async def place_order(self, order: PlaceOrder) -> Any: ...

    async def placed(self, channel_id: str, external_order_id: str) -> Any | None: ...

    async def pay_what_is_due(self, order: Any, payment_ref: str) -> Any: ...

    async def deliver_to_if_unshipped(
        self, order: Any, address: str, request_id: str, as_of: datetime | None = None
    ) -> Any: ...

    async def cancel_unless_gone(self, order: Any, reason: str) -> Any: ...

    async def reprice_unpaid(
        self,
        order: Any,
        discounts: dict[str, int],
        shipping_fee_minor: int,
        request_id: str,
        as_of: datetime | None = None,
    ) -> Any | None: ...


async def prepare_import(uow: ChannelsUnitOfWork, channel_id: str, imported: ImportedOrder) -> PlaceOrder:
    channel = await get_channel(uow, channel_id)
    listings = await uow.repo.listings_by_channel_sku(channel_id, [line.channel_sku for line in imported.lines])
    return resolve(imported, channel, listings)


async def placed_goods(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any], channel_id: str, lines: Iterable[Any]
) -> dict[str, int] | None:
    """Units per channel SKU of a placed order's lines, to compare with a payload's. An imported line carries
    the channel SKU it was sold under, whatever the listing says since; a line without one (an order not
    placed by import) is read through its SKU's listing now. None when such a line has no listing."""
    goods: dict[str, int] = {}
    unnamed: dict[str, int] = {}
    for line in lines:
        if line.channel_sku:
            goods[line.channel_sku] = goods.get(line.channel_sku, 0) + line.quantity
        else:
            unnamed[line.sku] = unnamed.get(line.sku, 0) + line.quantity
    if unnamed:
        listed = await read(lambda uow: uow.repo.listings(channel_id, skus=list(unnamed)))
        codes = {listing.sku: listing.channel_sku for listing in listed}
        if codes.keys() != unnamed.keys():
            return None
        for sku, quantity in unnamed.items():
            goods[codes[sku]] = goods.get(codes[sku], 0) + quantity
    return goods


# How often an import asks orders again while its copy of a listing's price lags (doubling, seconds).
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.05, 0.8


class LocationsPort(Protocol):
    async def location(self, location_id: str) -> Any | None: ...


async def _check_pickup(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    locations: LocationsPort,
    channel_id: str,
    imported: ImportedOrder,
) -> None:
    """A pickup at a store that does not exist, is disabled, offers no pickup or is not one the channel sells
    from is the payload's mistake: refused on its field before anything is placed. Placed, orders would answer
    it REJECTED (inventory's PICKUP_NOT_AVAILABLE) and the external id would be taken by a dead order. Inventory
    is asked (one look-up by id), not channels' copy of the locations, which may not know a store just opened."""
    store_id = imported.shipping.pickup_location_id
    if imported.shipping.mode is not FulfillmentMode.PICKUP_IN_STORE or not store_id:
        return
    store = await locations.location(store_id)
    channel = await read(lambda uow: get_channel(uow, channel_id))
    type_ = LOCATION_TYPES_BACK.get(store.type) if store is not None else None
    why = ""
    if store is None:
        why = "no such location"
    elif store.disabled:
        why = "the location is disabled"
    elif not store.pickup:
        why = "the location does not offer pickup"
    elif type_ is None or not channel.allocation.allows(LocationInfo(store.id, type_, store.owner_dealer_id)):
        why = f"channel {channel.code} does not sell from the location (its allocation policy)"
    if why:
        raise InvalidArgument(imported.pickup_path, f"{store_id}: {why}")


async def _placed_as(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
) -> Any | None:
    """The order placed under the payload's external id when it is this deal (`is_placed_as`), else None."""
    order = await orders.placed(channel_id, imported.external_order_id)
    if order is None:
        return None
    goods = await placed_goods(read, channel_id, order.lines)
    if goods is None or not imported.is_placed_as(Money(order.total.currency, order.total.amount_minor), goods):
        return None
    return order


async def _place(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
    wait_seconds: float,
    locations: LocationsPort | None = None,
) -> Any:
    """Resolve the payload through channels' listings and place it. Every line goes through an active listing
    at its price, so orders refusing the order on its listings alone (not listed, inactive, another price)
    means its copy of them is behind (OrdersRefusedListings): the sale is not the payload's fault and must not
    be lost as bad input. Each attempt resolves again from channels' listings as they are then, so a listing
    switched off or a price that changed again meanwhile is held to the payload anew (INVALID_ARGUMENT on its
    path: its channel SKU, or its price when above the listing's). An order already placed under the external
    id (a re-import after the listing changed) is answered at once."""
    if locations is not None:
        await _check_pickup(read, locations, channel_id, imported)
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + wait_seconds
    pause = FIRST_RETRY_SECONDS
    first = True
    while True:
        to_place = await read(lambda uow: prepare_import(uow, channel_id, imported))
        try:
            return await orders.place_order(to_place)
        except OrdersRefusedListings as lagging:
            if first and (placed := await _placed_as(read, orders, channel_id, imported)) is not None:
                return placed
            first = False
            if loop.time() + pause > give_up_at:
                skus = ", ".join(lagging.skus) or "its lines"
                raise Unavailable(
                    f"orders has not caught up with channel {channel_id}'s listings of {skus} yet (new, switched "
                    "back on or repriced); retry the import with the same payload"
                ) from lagging
        await asyncio.sleep(pause)
        pause = min(2 * pause, MAX_RETRY_SECONDS)


async def import_order(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    write: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
    *,
    wait_seconds: float = 0.0,
    locations: LocationsPort | None = None,
) -> Any:
    """Map the payload through the channel's listings (a short read transaction, closed before the remote
    call), then place it with orders, which is idempotent on (channel_id, external_order_id): importing the
    same order again, even concurrently, returns the same order.

    A re-import after the listings changed (a new price, a listing switched off, the channel paused) no longer
    maps to what was placed, and orders would refuse it as another order under a taken id. The marketplace's
    later message (often "paid") is about the same sale, so the order placed under the external id answers
    when it is the same deal: the same units of the same channel SKUs for the same money (`placed_goods`).

    The same deal with another delivery address (orders refuses it as another order too: the buyer changed
    the address on the marketplace) moves the order placed to the payload's address, so the goods go where
    the buyer now wants them. Whether it can still move is orders' decision: once something has shipped (or
    the order is closed) it is answered as it is, and the marketplace's sync does not fail. So is whether the
    payload is newer than the order's address (`modified_at`): an old version re-sent late changes nothing.
    An order PlaceOrder answers (a repeat of the deal as placed) may have moved since, so its address is held
    to the payload's the same way (`address_news`).

    Orders checks the lines against its own copy of the listings, which follows channels' a moment behind: an
    import right after a listing is created, switched back on or repriced can be refused on what channels just
    set. `_place` waits up to `wait_seconds` for orders to catch up, then answers Unavailable (the same payload
    again is safe).

    The same deal at other prices (the seller adjusted the unpaid order on the marketplace: Taobao adjust_fee,
    a waived shipping fee) is repriced to the payload's before it is paid (`_reprice_placed`, `_newer_prices`):
    orders decides whether the payload is newer than the order's prices and whether the order can still take
    them. A paid payload pays only an order that costs what it says (an older copy pays nothing).

    A payload the marketplace closed (`imported.closed`) is no sale: see `_close`. A closed trade stays closed:
    an open copy of it arriving after (webhooks are not ordered) or racing it is answered as the close was
    (`_closed`)."""
    if imported.closed:
        return await _close(write, orders, channel_id, imported)
    if (closed := await _closed(read, channel_id, imported)) is not None:
        return await _closed_answer(orders, channel_id, imported.external_order_id, closed)
    try:
        order = await _place(read, orders, channel_id, imported, wait_seconds, locations)
    except (InvalidArgument, FailedPrecondition, AlreadyExists) as refused:
        order = await _placed_as(read, orders, channel_id, imported)
        if order is None and isinstance(refused, AlreadyExists):
            order = await _reprice_placed(read, orders, channel_id, imported)
        if order is None:
            raise
    else:
        order = await _newer_prices(read, orders, channel_id, imported, order)
    if (closed := await _closed(read, channel_id, imported)) is not None:
        return await orders.cancel_unless_gone(order, _closed_reason(closed))
    as_of = from_ts(order.address_as_of) if order.HasField("address_as_of") else None
    news = imported.address_news(order.fulfillment.address, as_of)
    if news:
        version = f"{order.updated_at.seconds}.{order.updated_at.nanos:09d}"
        key = address_change_key(order.id, version, news, imported.modified_at)
        order = await orders.deliver_to_if_unshipped(order, news, key, imported.modified_at)
    if imported.payment_ref and _costs(order) == (imported.currency, imported.buyer_total_minor()):
        # The marketplace already collected the money: pay the order here too (its balance, when a deposit
        # was recorded first), or its reservation would expire, or its balance lapse, as if the buyer had
        # walked away. An order at other prices than the payload's (an older copy, whose adjustment orders
        # found superseded) is answered as it is: the marketplace's newer copy pays what the order costs.
        order = await orders.pay_what_is_due(order, imported.payment_ref)
    return order


# The import's refusal of a payload whose prices an order past payment (or closed) can no longer take.
ORDER_PRICE_DIFFERS = "ORDER_PRICE_DIFFERS"


def _costs(order: Any) -> tuple[str, int]:
    return order.total.currency, order.total.amount_minor


def _only_prices_differ(placed: Any, to_place: PlaceOrder) -> bool:
    """Whether the order placed is the payload's deal but for its prices (the lines' discounts, the shipping
    fee): the same SKUs, quantities and unit prices, buyer, delivery and dealer. The address aside: a new one
    is the buyer's move, applied after (`address_news`)."""

    def goods(lines: Iterable[Any]) -> list[tuple[str, int, str, int]]:
        return sorted((ln.sku, ln.quantity, ln.unit_price.currency, ln.unit_price.amount_minor) for ln in lines)

    c, f, wanted = placed.customer, placed.fulfillment, to_place.fulfillment
    return (
        goods(placed.lines) == goods(to_place.lines)
        and (c.channel_customer_id, c.phone, c.member_id, c.name, c.email)
        == (
            to_place.customer.channel_customer_id,
            to_place.customer.phone,
            to_place.customer.member_id,
            to_place.customer.name,
            to_place.customer.email,
        )
        and (f.mode, f.region, f.pickup_location_id, f.allow_split)
        == (FULFILLMENT_MODES[wanted.mode], wanted.region, wanted.pickup_location_id, wanted.allow_split)
        and placed.dealer_id == to_place.dealer_id
    )


async def _reprice_placed(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
) -> Any | None:
    """Orders refused the payload as another deal under its external id: when the order placed differs only in
    its prices (the marketplace adjusted them before payment), it is repriced to the payload's (`_reprice`);
    None otherwise (the refusal stands)."""
    placed = await orders.placed(channel_id, imported.external_order_id)
    if placed is None:
        return None
    to_place = await read(lambda uow: prepare_import(uow, channel_id, imported))
    if not _only_prices_differ(placed, to_place):
        return None
    return await _reprice(orders, placed, to_place, imported)


async def _newer_prices(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
    order: Any,
) -> Any:
    """PlaceOrder answers a repriced order for its copy as placed too (an old copy re-sent late must not price it
    back), at its prices now. A payload modified after the order's prices took effect is news, though: the
    seller took the adjustment back. Then the order is repriced to the payload's; otherwise answered as is."""
    if imported.modified_at is None or _costs(order) == (imported.currency, imported.buyer_total_minor()):
        return order
    if order.HasField("prices_as_of") and imported.modified_at <= from_ts(order.prices_as_of):
        return order
    to_place = await read(lambda uow: prepare_import(uow, channel_id, imported))
    if not _only_prices_differ(order, to_place):
        return order
    return await _reprice(orders, order, to_place, imported)


async def _reprice(orders: OrdersPort, placed: Any, to_place: PlaceOrder, imported: ImportedOrder) -> Any:
    """RepriceOrder with the payload's discounts (each SKU's, order-level ones spread over the lines by
    `resolve`) and shipping, as of its modification time: orders answers an older copy with the order as it is.
    An order something of which is paid (at its old price) or that is closed cannot take them: refused
    ORDER_PRICE_DIFFERS, since paying it the payload's amount would not be what it costs."""
    discounts = {line.sku: line.discount_minor for line in to_place.lines}
    shipping = to_place.shipping_fee_minor
    version = f"{placed.updated_at.seconds}.{placed.updated_at.nanos:09d}"
    key = reprice_key(
        to_place.channel_id, to_place.external_order_id, discounts, shipping, imported.modified_at, version
    )
    order = await orders.reprice_unpaid(placed, discounts, shipping, key, imported.modified_at)
    if order is not None:
        return order
    currency = placed.total.currency
    payload_total = imported.buyer_total_minor()
    raise FailedPrecondition(
        ORDER_PRICE_DIFFERS,
        f"order {placed.id} (external order {imported.external_order_id}) costs "
        f"{to_text(placed.total.amount_minor, currency)} {currency}, but the payload's prices come to "
        f"{to_text(payload_total, currency)}: the order is paid (in part) or closed, so its price can no longer "
        "be adjusted; settle the difference with the buyer on the marketplace",
        {
            "order_id": placed.id,
            "external_order_id": imported.external_order_id,
            "order_total_minor": str(placed.total.amount_minor),
            "payload_total_minor": str(payload_total),
        },
    )


async def _close(
    write: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any],
    orders: OrdersPort,
    channel_id: str,
    imported: ImportedOrder,
) -> Any:
    """The marketplace closed, cancelled or fully refunded the trade. Never placed: nothing is (a RESERVED order
    would hold stock for a buyer who will never pay), and the import is refused TRADE_CLOSED. Placed: its order
    is cancelled whatever its lines say now (the external id is the trade, and a closed trade's lines are
    no news), unless the goods have left, when it is answered as it is (`cancel_unless_gone`). Neither needs
    the listings or the channel to be selling: a paused channel's sales are still cancelled.

    A closed trade never reopens on any marketplace we read, so the close is recorded (committed) before the
    order is looked up, and an open copy's import looks for the record after it placed or found its order. Each
    side writes first and reads second, so whichever runs last sees the other: either this look-up finds the
    order and cancels it, or the open copy finds the record and cancels the order it placed."""

    async def record(uow: ChannelsUnitOfWork) -> None:
        await get_channel(uow, channel_id)
        await uow.repo.close_trade(channel_id, imported.external_order_id, imported.closed)

    await write(record)
    return await _closed_answer(orders, channel_id, imported.external_order_id, imported.closed)


async def _closed(
    read: Callable[[Callable[[ChannelsUnitOfWork], Any]], Any], channel_id: str, imported: ImportedOrder
) -> str | None:
    """The marketplace status the payload's trade was closed with, if a closed copy of it was imported."""
    return await read(lambda uow: uow.repo.closed_trade(channel_id, imported.external_order_id))


def _closed_reason(marketplace_status: str) -> str:
    return f"closed on the marketplace: {marketplace_status}"


async def _closed_answer(orders: OrdersPort, channel_id: str, external_order_id: str, marketplace_status: str) -> Any:
    """A closed trade's answer: its order cancelled (or as it is once its goods left), TRADE_CLOSED without one."""
    order = await orders.placed(channel_id, external_order_id)
    if order is None:
        raise FailedPrecondition(
            "TRADE_CLOSED",
            f"order {external_order_id} is closed on the marketplace ({marketplace_status}) and was never "
            "imported: nothing to place",
            {"external_order_id": external_order_id, "marketplace_status": marketplace_status},
        )
    return await orders.cancel_unless_gone(order, _closed_reason(marketplace_status))
