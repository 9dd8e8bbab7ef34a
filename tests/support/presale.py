"""Presale listings for the flows (docs/presale.md): a channel created through the channels service, selling from
one warehouse, with a listing of a SKU that may presell `presale_units` beyond on hand."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows, wait_until_orders_lists
from tests.support.orders import World, cny, eventually, uid


async def presale_world(stack: Any, admin: Any, **orders_settings: Any) -> World:
    """Inventory, orders (with `orders_settings`) and channels running, with quick sweeper and recovery loops,
    as the presale flows use them (the channels stub as `world.channels`)."""
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, **orders_settings)
    await stack.start("channels")
    world = World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)
    world.channels = stack.stub("channels")  # type: ignore[attr-defined]
    return world


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def when(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def lines_of(order: opb.Order) -> dict[str, tuple[int, datetime | None]]:
    """Per SKU: units still waiting for goods and their promised date (None: no promise)."""
    return {ln.sku: (ln.awaiting_quantity, when(ln.promised_at, ln.HasField("promised_at"))) for ln in order.lines}


def day(days: int) -> datetime:
    """A whole second `days` from now (timestamps round-trip exactly)."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


async def presale_channel(
    world: World,
    warehouse: str,
    sku: str,
    presale_units: int,
    price: int,
    *,
    presale: cpb.PresaleTerms | None = None,
    fee_rate_bps: int = 0,
) -> str:
    """Create the channel (with `presale` deposit terms, if any) and its listing; return the channel's id once
    inventory and orders know both (inventory shows the listing's presale allowance)."""
    channels: Any = world.channels  # type: ignore[attr-defined]
    created = await channels.CreateChannel(
        cpb.CreateChannelRequest(
            code=uid("presale").lower(),
            name="Presale store",
            type=cpb.CHANNEL_TYPE_ONLINE_STORE,
            fee_rate_bps=fee_rate_bps,
            allocation=cpb.AllocationPolicy(location_ids=[warehouse]),
            currency="CNY",
            presale=presale,
        ),
        metadata=world.admin,
    )
    channel = str(created.channel.id)
    await channels.UpsertListing(
        cpb.UpsertListingRequest(
            channel_id=channel,
            sku=sku,
            channel_sku=f"C-{sku}",
            price=cny(price),
            active=True,
            presale_units=presale_units,
        ),
        metadata=world.admin,
    )
    await wait_until_inventory_knows(world.inventory, world.admin, channel)
    await wait_until_orders_knows(world.orders, world.admin, channel)
    await wait_until_orders_lists(world.orders, world.admin, channel, sku, cny(price))
    await eventually(lambda: availability(world, sku, channel), lambda a: a.presale_units == presale_units)
    return channel


async def availability(world: World, sku: str, channel: str = "") -> ipb.Availability:
    """One SKU's availability, in the channel's view when one is named."""
    reply = await world.inventory.GetAvailability(
        ipb.GetAvailabilityRequest(skus=[sku], channel_id=channel), metadata=world.admin
    )
    return reply.items[0]


async def ledger(world: World, order_id: str) -> list[spb.JournalLine]:
    """Every journal line settlement booked for an order (`world.settlement` is settlement's stub)."""
    settlement: Any = world.settlement  # type: ignore[attr-defined]
    lines: list[spb.JournalLine] = []
    token = ""
    while True:
        page = await settlement.ListEntries(
            spb.ListEntriesRequest(order_id=order_id, page_size=100, page_token=token), metadata=world.admin
        )
        lines.extend(page.entries)
        token = page.next_page_token
        if not token:
            return lines


def by_party(lines: list[spb.JournalLine]) -> dict[str, int]:
    """Each party's balance from these lines (parties at 0 left out)."""
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        out[line.party] += line.amount.amount_minor
    return {k: v for k, v in out.items() if v}


def by_account(lines: list[spb.JournalLine]) -> dict[tuple[str, str], int]:
    """Each (party, account)'s balance from these lines."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        out[(line.party, line.account)] += line.amount.amount_minor
    return dict(out)
