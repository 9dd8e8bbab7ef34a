"""Dealers use cases that run in one transaction. Each runs inside one unit of work; the caller
(runtime.run_in_transaction, a saga step in sagas.py or a consumer) commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from onepool_kernel.lines import StockLine
from onepool_kernel.money import Money
from onepool_kernel.timestamps import now
from onepool_runtime.consumer import NotYet
from onepool_runtime.errors import FailedPrecondition, InvalidArgument, found

from onepool_dealers.domain import commands, ownership
from onepool_dealers.domain.income import ClosedOrder, DealerIncome
from onepool_dealers.domain.model import (
    Dealer,
    DealerStatus,
    DealerTier,
    Location,
    LocationType,
    Replenishment,
    ReplenishmentStatus,
    TierFactors,
    price_lines,
    tier_unit_price,
)
from onepool_dealers.domain.overview import OrderView, Overview, StockView, currency_figures
from onepool_dealers.domain.ownership import DEFAULT_CURRENCY, Goods, MoveReason, OwnershipMove, ReturnedGoods
from onepool_dealers.service_layer import unpriced
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork

# --- dealers ---------------------------------------------------------------------------------------------


async def record_dealer(uow: DealersUnitOfWork, cmd: commands.RegisterDealer) -> Dealer:
    """The saga's first step: the dealer exists (once per request_id) before its channel is created."""
    moment = now()
    dealer = Dealer(
        id=str(uuid.uuid4()),
        name=cmd.name,
        tier=cmd.tier,
        credit_limit=cmd.credit_limit,
        region=cmd.region,
        created_at=moment,
        updated_at=moment,
    )
    stored, fingerprint = await uow.repo.add_dealer(dealer, cmd.request_id, cmd.fingerprint)
    if fingerprint != cmd.fingerprint:
        raise InvalidArgument("request_id", "already used for a different request")
    return stored


async def get_dealer(uow: DealersUnitOfWork, dealer_id: str, *, lock: bool = False) -> Dealer:
    return found(await uow.repo.get_dealer(dealer_id, lock=lock), "dealer", dealer_id)


async def list_dealers(
    uow: DealersUnitOfWork,
    *,
    status: DealerStatus | None,
    region: str,
    only_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Dealer]:
    return await uow.repo.list_dealers(status=status, region=region, only_id=only_id, after=after, limit=limit)


async def update_dealer(uow: DealersUnitOfWork, cmd: commands.UpdateDealer) -> Dealer:
    dealer = await get_dealer(uow, cmd.dealer_id, lock=True)
    if dealer.update(
        now(),
        name=cmd.name,
        tier=cmd.tier,
        credit_limit=cmd.credit_limit,
        region=cmd.region,
        status=cmd.status,
    ):
        await uow.repo.save_dealer(dealer)
    return dealer


async def record_dealer_location(uow: DealersUnitOfWork, location: Location) -> Dealer | None:
    """A location joined (or changed in) the pool: keep it (unless the copy kept is newer), and if it is new
    to its dealer, the dealer's channel must be told (its revision moves on). Returns the owning dealer, None
    if it is not one we know."""
    dealer = None
    if location.owner_dealer_id:
        # Locked (and its locations read) before the location is saved, so a new location shows as new.
        dealer = await uow.repo.get_dealer(location.owner_dealer_id, lock=True)
    await uow.repo.save_location(location)
    if dealer is not None and dealer.add_location(location.id, now()):
        await uow.repo.save_dealer(dealer)
    return dealer


async def dealer_for_new_location(uow: DealersUnitOfWork, dealer_id: str, location_id: str) -> Dealer:
    """AddDealerLocation's check before inventory is called: the dealer exists, and the id is not a
    location we already know to belong to someone else."""
    dealer = await get_dealer(uow, dealer_id)
    existing = await uow.repo.get_location(location_id)
    if existing is not None and existing.owner_dealer_id != dealer_id:
        raise FailedPrecondition(
            "OWNER_IMMUTABLE",
            f"location {location_id} belongs to {existing.owner_dealer_id or 'the brand'}",
            {"location_id": location_id},
        )
    return dealer


# --- channel saga bookkeeping ------------------------------------------------------------------------------


async def dealers_needing_channel_sync(uow: DealersUnitOfWork, limit: int) -> list[str]:
    return await uow.repo.dealers_needing_channel_sync(limit)


async def record_channel(uow: DealersUnitOfWork, dealer_id: str, channel_id: str, synced_revision: int) -> Dealer:
    dealer = await get_dealer(uow, dealer_id, lock=True)
    dealer.link_channel(channel_id, now())
    dealer.mark_channel_synced(synced_revision)
    await uow.repo.save_dealer(dealer)
    return dealer


# --- wholesale prices --------------------------------------------------------------------------------------


async def set_wholesale_price(
    uow: DealersUnitOfWork, cmd: commands.SetWholesalePrice, factors: TierFactors
) -> list[tuple[DealerTier, int, Money]]:
    await uow.repo.set_price(cmd.sku, cmd.list_price)
    return [(tier, factors.of(tier), tier_unit_price(cmd.list_price, factors.of(tier))) for tier in DealerTier]


# --- replenishments ----------------------------------------------------------------------------------------


async def known_location(uow: DealersUnitOfWork, location_id: str) -> Location | None:
    return await uow.repo.get_location(location_id)


async def place_replenishment(
    uow: DealersUnitOfWork, cmd: commands.PlaceReplenishment, factors: TierFactors
) -> Replenishment:
    """Price the lines at the dealer's tier and hold the total against its credit. The dealer's row is
    locked first, so one dealer's placements run one at a time and never both spend the same credit."""
    dealer = await get_dealer(uow, cmd.dealer_id, lock=True)
    destination = await uow.repo.get_location(cmd.to_location_id)
    if destination is None or destination.owner_dealer_id != dealer.id or not destination.type.is_dealer:
        raise FailedPrecondition(
            "NOT_DEALER_LOCATION",
            f"to_location_id {cmd.to_location_id} is not one of dealer {dealer.id}'s locations",
            {"to_location_id": cmd.to_location_id, "dealer_id": dealer.id},
        )
    source = await uow.repo.get_location(cmd.from_location_id)
    if source is None or source.type is not LocationType.WAREHOUSE or source.owner_dealer_id:
        raise FailedPrecondition(
            "NOT_BRAND_WAREHOUSE",
            f"from_location_id {cmd.from_location_id} is not a brand warehouse",
            {"from_location_id": cmd.from_location_id},
        )
    if not source.active or not destination.active:
        inactive = source if not source.active else destination
        raise FailedPrecondition(
            "LOCATION_INACTIVE", f"location {inactive.id} is disabled", {"location_id": inactive.id}
        )
    prices = await uow.repo.price_lists((ln.sku for ln in cmd.lines), [dealer.currency])
    lines = price_lines(cmd.lines, prices[dealer.currency], factors.of(dealer.tier), dealer.currency)
    replenishment = Replenishment.place(
        id=str(uuid.uuid4()),
        dealer=dealer,
        from_location_id=cmd.from_location_id,
        to_location_id=cmd.to_location_id,
        lines=lines,
        settlement_net_minor=await uow.repo.settlement_net(dealer.id, dealer.currency),
        now=now(),
    )
    await uow.repo.add_replenishment(replenishment)
    await uow.repo.save_dealer(dealer)
    return replenishment


async def get_replenishment(uow: DealersUnitOfWork, replenishment_id: str, *, lock: bool = False) -> Replenishment:
    return found(await uow.repo.get_replenishment(replenishment_id, lock=lock), "replenishment", replenishment_id)


async def list_replenishments(
    uow: DealersUnitOfWork, *, dealer_id: str, status: ReplenishmentStatus | None, before_seq: int, limit: int
) -> list[tuple[int, Replenishment]]:
    return await uow.repo.list_replenishments(dealer_id=dealer_id, status=status, before_seq=before_seq, limit=limit)


async def request_shipping(uow: DealersUnitOfWork, replenishment_id: str) -> tuple[Replenishment, bool]:
    """Shipping saga, step 1: record that the transfer is being asked for (so it cannot be rejected
    meanwhile). Returns the replenishment and whether inventory must be asked."""
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    must_call = replenishment.request_shipping(now())
    if must_call:
        await uow.repo.save_replenishment(replenishment)
    return replenishment, must_call


async def shipping_refused(
    uow: DealersUnitOfWork, replenishment_id: str, attempt: datetime | None, reason: str
) -> None:
    """Inventory refused the attempt stamped `attempt` (see Replenishment.request_shipping)."""
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.record_shipping_failure(attempt, reason, now()):
        await uow.repo.save_replenishment(replenishment)


async def mark_shipped(uow: DealersUnitOfWork, replenishment_id: str, transfer_id: str) -> Replenishment:
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.ship(transfer_id, now()):
        await uow.repo.save_replenishment(replenishment)
    return replenishment


async def mark_received(uow: DealersUnitOfWork, replenishment_id: str) -> Replenishment:
    """The goods are at the dealer: the open amount becomes owed, and settlement hears of it
    (dealers.replenishment.received, written in this transaction)."""
    found = await get_replenishment(uow, replenishment_id)
    dealer = await get_dealer(uow, found.dealer_id, lock=True)
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.receive(dealer, now()):
        await uow.repo.save_replenishment(replenishment)
        await uow.repo.save_dealer(dealer)
    return replenishment


async def receipt_cancelled(uow: DealersUnitOfWork, replenishment_id: str) -> None:
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.record_receipt_cancelled():
        await uow.repo.save_replenishment(replenishment)


async def receipt_expected(uow: DealersUnitOfWork, replenishment_id: str, receipt_id: str) -> Replenishment:
    """Inventory answered the replenishment's ExpectReceipt with `receipt_id`: the receipt to cancel once it is
    received (and at once if it was received meanwhile)."""
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.record_receipt(receipt_id):
        await uow.repo.save_replenishment(replenishment)
    return replenishment


async def receipts_to_cancel(uow: DealersUnitOfWork, limit: int) -> list[Replenishment]:
    return await uow.repo.receipts_to_cancel(limit)


async def receipts_due(uow: DealersUnitOfWork, replenishment_ids: Iterable[str]) -> list[Replenishment]:
    """Those of these replenishments whose expected receipt is still to be cancelled."""
    found = [await uow.repo.get_replenishment(i) for i in replenishment_ids]
    return [r for r in found if r is not None and r.receipt_cancel_due]


async def reject_replenishment(uow: DealersUnitOfWork, replenishment_id: str, reason: str) -> Replenishment:
    found = await get_replenishment(uow, replenishment_id)
    dealer = await get_dealer(uow, found.dealer_id, lock=True)
    replenishment = await get_replenishment(uow, replenishment_id, lock=True)
    if replenishment.reject(dealer, reason, now()):
        await uow.repo.save_replenishment(replenishment)
        await uow.repo.save_dealer(dealer)
    return replenishment


async def stalled_shipments(uow: DealersUnitOfWork, older_than_seconds: float, limit: int) -> list[str]:
    return await uow.repo.stalled_shipments(now() - timedelta(seconds=older_than_seconds), limit)


# --- read models (consumers) -------------------------------------------------------------------------------


class OwnTransferNotKnownYet(NotYet):
    """A transfer naming a replenishment arrived while the answer to the replenishment's own TransferStock is not
    recorded: it may be that transfer or someone else's. Retried by the consumer, never dead-lettered: the
    shipping saga (its caller, or the recovery loop replaying the request) records the answer or the refusal
    within `shipping_retry_after_seconds` of inventory being reachable, and then the arrival is decided."""


class LocationNotKnownYet(NotYet):
    """A move names a location dealers' copy of the pool does not hold yet. That copy is fed by inventory's
    events on another durable consumer (or another replica's batch), so a location created a moment ago may be
    missing, and missing is not the brand's. Retried by the consumer, never dead-lettered: its LocationUpserted,
    or the answer inventory gives the consumer's lookup (`LocationLookup`), records it shortly."""

    def __init__(self, location_ids: Iterable[str]) -> None:
        self.location_ids = tuple(sorted(set(location_ids)))
        super().__init__(f"locations not known yet: {', '.join(self.location_ids)}")


async def location_owners(uow: DealersUnitOfWork, location_ids: Iterable[str]) -> dict[str, str]:
    """location id -> owning dealer id ("" for the brand's) of every one of `location_ids`; raises
    LocationNotKnownYet naming those dealers does not know."""
    wanted = set(location_ids)
    owners = await uow.repo.location_owners(wanted)
    if missing := wanted - owners.keys():
        raise LocationNotKnownYet(missing)
    return {location_id: owner or "" for location_id, owner in owners.items()}


async def own_transfer_received(
    uow: DealersUnitOfWork, *, transfer_id: str, reference: str, from_location_id: str, to_location_id: str
) -> Replenishment | None:
    """Inventory received a transfer naming a replenishment (its reference): if it is the replenishment's own
    (Replenishment.is_own_transfer), the replenishment is RECEIVED, as by ReceiveReplenishment (the dealer
    received it in inventory directly). Returns the replenishment then, None for anyone else's transfer.

    Shipping is never taken from inventory's events: the event carries no request id, and a transfer made by
    anyone else may cite the replenishment on the same route. Only the answer to the replenishment's own
    TransferStock records SHIPPED (the recovery loop replays it when it was lost)."""
    found = await uow.repo.get_replenishment(reference) if reference else None
    if found is None:
        return None
    if found.own_transfer_unknown(from_location_id, to_location_id):
        raise OwnTransferNotKnownYet(f"replenishment {found.id} has not recorded which transfer is its own yet")
    if not found.is_own_transfer(transfer_id, from_location_id, to_location_id):
        return None
    dealer = await get_dealer(uow, found.dealer_id, lock=True)
    replenishment = await get_replenishment(uow, found.id, lock=True)
    # Its own transfer once, its own for ever (SHIPPED or RECEIVED with that transfer id): no re-check needed.
    if replenishment.receive(dealer, now()):
        await uow.repo.save_replenishment(replenishment)
        await uow.repo.save_dealer(dealer)
    return replenishment


async def record_moves(uow: DealersUnitOfWork, factors: TierFactors, goods: Iterable[Goods]) -> list[OwnershipMove]:
    """Value each change of owner (domain/ownership.py) in the valuing dealer's currency, from the price list in
    that currency, and record it once by its id; a move recorded for the first time is published
    (dealers.ownership.moved) for settlement to book, and one that left SKUs unpriced is reported (`unpriced`)."""
    wanted = [g for g in goods if ownership.moves(g)]
    if not wanted:
        return []
    valuers = {d: await uow.repo.get_dealer(d) for d in sorted({ownership.valuing_dealer(g) for g in wanted})}
    currencies = [_move_currency(g, valuers[ownership.valuing_dealer(g)]) for g in wanted]
    prices = await uow.repo.price_lists({ln.sku for g in wanted for ln in g.lines}, currencies)
    recorded: list[OwnershipMove] = []
    for g, currency in zip(wanted, currencies, strict=True):
        dealer = valuers[ownership.valuing_dealer(g)]
        # Read per move, after the moves before it were added: a return's fulfillment moves come earlier in
        # the same event when dealers first hears of them.
        went_out_at = await uow.repo.move_unit_prices(s.move_id for s in g.sources)
        factor = factors.of(dealer.tier) if dealer else None
        move = ownership.value(g, currency, factor, prices[currency], went_out_at)
        if await uow.repo.add_move(move):
            recorded.append(move)
            if move.unpriced_skus:
                uow.after_commit(partial(unpriced.report, move))
    return recorded


def _move_currency(goods: Goods, dealer: Dealer | None) -> str:
    """The valuing dealer's credit currency; a dealer dealers does not know prices nothing, and its move is
    labelled with the currency the customer paid in (else the default)."""
    if dealer is not None:
        return dealer.currency
    paid = next(iter(goods.paid_prices.values()), None)
    return paid.currency if paid else DEFAULT_CURRENCY


async def transfer_received(
    uow: DealersUnitOfWork,
    factors: TierFactors,
    transfer_id: str,
    reference: str,
    lines: list[StockLine],
    from_location_id: str,
    to_location_id: str,
) -> list[OwnershipMove]:
    """A transfer between locations of different owners that is not a replenishment's moves the goods' owner.

    A replenishment's own transfer is the one it shipped with (SHIPPED or RECEIVED with that transfer id; the
    consumer follows the event to that first, `own_transfer_received`): it is booked as wholesale when received.
    Any other transfer naming a replenishment (an operator's citing it, one that went out for it after it was
    rejected, a second one) is goods that changed hands all the same, so it is a move, never skipped."""
    found = await uow.repo.get_replenishment(reference) if reference else None
    if found is not None and found.is_own_transfer(transfer_id, from_location_id, to_location_id):
        return []
    owners = await location_owners(uow, {from_location_id, to_location_id})
    goods = Goods(
        id=f"transfer:{transfer_id}",
        reason=MoveReason.TRANSFER,
        lines=tuple(lines),
        giver=owners[from_location_id],
        taker=owners[to_location_id],
        reference=transfer_id,
        location_id=to_location_id,
    )
    return await record_moves(uow, factors, [goods])


async def order_goods_moved(
    uow: DealersUnitOfWork, factors: TierFactors, shown: list[tuple[str, str, list[Goods | ReturnedGoods]]]
) -> None:
    """Goods orders events show changing owner ((order's dealer id, channel id, goods) per event, see
    ownership.resolve): sellers and the owners of the returns' locations looked up (LocationNotKnownYet for
    one dealers does not know yet), then the moves recorded. Nothing is read unless an event shows some (most
    orders events show none)."""
    relevant = [(dealer_id, channel_id, goods) for dealer_id, channel_id, goods in shown if goods]
    if not relevant:
        return
    returned_at = {g.location_id for _, _, goods in relevant for g in goods if isinstance(g, ReturnedGoods)}
    owners = await location_owners(uow, returned_at)
    channel_dealers = await uow.repo.dealer_ids_by_channels({c for d, c, _ in relevant if not d})
    resolved = [ownership.resolve(goods, d or channel_dealers.get(c, ""), owners) for d, c, goods in relevant]
    await record_moves(uow, factors, [g for goods in resolved for g in goods])


async def apply_stock(uow: DealersUnitOfWork, view: StockView) -> bool:
    return await uow.repo.apply_stock(view)


async def location_owner(uow: DealersUnitOfWork, location_id: str) -> str | None:
    return await uow.repo.location_owner(location_id)


async def apply_order(uow: DealersUnitOfWork, view: OrderView, channel_id: str) -> bool:
    """Keep the latest state of a dealer's order. Orders without a dealer id are the dealer's when they
    came through its channel."""
    if not view.dealer_id:
        dealer_id = await uow.repo.dealer_id_by_channel(channel_id)
        if dealer_id is None:
            return False
        view = replace(view, dealer_id=dealer_id)
    await uow.repo.lock_order(view.order_id)
    known = await uow.repo.get_order(view.order_id)
    if known is not None and not view.newer_than(known):
        return False
    await uow.repo.save_order(view)
    return True


async def apply_stock_levels(uow: DealersUnitOfWork, views: list[StockView]) -> None:
    """Several stock levels in a row (a consumer's batch): the same end state as `apply_stock` on each in turn.
    A view without a dealer is at a location dealers may know the owner of; a brand location's is skipped."""
    owners = await uow.repo.location_owners({v.location_id for v in views if not v.dealer_id})
    owned = [v if v.dealer_id else replace(v, dealer_id=owners.get(v.location_id, "")) for v in views]
    await uow.repo.apply_stock_levels([v for v in owned if v.dealer_id])


async def apply_orders(uow: DealersUnitOfWork, views: list[tuple[OrderView, str]]) -> None:
    """Several (order state, channel id) in a row (a consumer's batch): the same end state as `apply_order`
    on each in turn, with the channels' dealers looked up and the orders locked (in id order) once."""
    dealers = await uow.repo.dealer_ids_by_channels({c for v, c in views if not v.dealer_id})
    mine = [v if v.dealer_id else replace(v, dealer_id=dealers[c]) for v, c in views if v.dealer_id or c in dealers]
    if not mine:
        return
    ids = sorted({v.order_id for v in mine})
    await uow.repo.lock_orders(ids)
    known = await uow.repo.get_orders(ids)
    for view in mine:
        stored = known.get(view.order_id)
        if stored is None or view.newer_than(stored):
            await uow.repo.save_order(view)
            known[view.order_id] = view


async def add_settlement(uow: DealersUnitOfWork, dealer_id: str, currency: str, delta_minor: int) -> None:
    await uow.repo.add_settlement(dealer_id, currency, delta_minor)


async def _count(uow: DealersUnitOfWork, amounts: Iterable[DealerIncome]) -> None:
    """Add amounts to the dealers' settlement nets, summed per (dealer, currency) and in that order: two
    replicas' batches touching the same dealers then lock their rows in one order, instead of each holding
    one dealer and waiting for the other's."""
    deltas: dict[tuple[str, str], int] = {}
    for a in amounts:
        deltas[(a.dealer_id, a.currency)] = deltas.get((a.dealer_id, a.currency), 0) + a.amount_minor
    for (dealer_id, currency), delta in sorted(deltas.items()):
        if delta:
            await add_settlement(uow, dealer_id, currency, delta)


async def record_income(uow: DealersUnitOfWork, amounts: list[DealerIncome]) -> None:
    """What settlement posted to dealers: held while its order may still refund it, else counted
    (domain/income.py). Orders' income locks come before dealers' settlement rows, as in `orders_closed`."""
    orders = sorted({a.order_id for a in amounts if a.may_be_held})
    await uow.repo.lock_order_income(orders)
    closed = await uow.repo.closed_orders(orders)
    await uow.repo.hold_income([a for a in amounts if a.held(closed)])
    await _count(uow, [a for a in amounts if not a.held(closed)])


async def orders_closed(uow: DealersUnitOfWork, closed: Iterable[ClosedOrder]) -> None:
    """Orders events showed these orders closed: from now on their income counts, and what was held of it
    counts now (once: it is taken out of what is held). Only orders a dealer can earn from are kept (its own,
    one of its channel's, or one shipped from its locations): the close of every other order of the platform
    would be a row kept for ever that no income ever asks for."""
    closed = list(closed)
    channel_dealers = await uow.repo.dealer_ids_by_channels({c.channel_id for c in closed if not c.dealer_id})
    ids = sorted({c.order_id for c in closed if c.pays_a_dealer or c.channel_id in channel_dealers})
    if not ids:
        return
    await uow.repo.lock_order_income(ids)
    await uow.repo.close_orders(ids)
    await _count(uow, await uow.repo.release_income(ids))


async def overview(uow: DealersUnitOfWork, cmd: commands.GetDealerOverview) -> Overview:
    dealer = await get_dealer(uow, cmd.dealer_id)
    figures = currency_figures(
        dealer.currency,
        sales=await uow.repo.sales_by_currency(dealer.id, cmd.period_start, cmd.period_end),
        counted=await uow.repo.settlement_nets(dealer.id),
        held=await uow.repo.income_held_by_currency(dealer.id),
    )
    own = figures[0]  # the credit currency's
    return Overview(
        dealer_id=dealer.id,
        open_orders=await uow.repo.open_orders(dealer.id),
        sales_in_period=own.sales_in_period,
        units_in_stock=await uow.repo.units_in_stock(dealer.id),
        credit=dealer.credit(own.income_counted.amount_minor),
        period_start=cmd.period_start,
        period_end=cmd.period_end,
        inbound_units=await uow.repo.inbound_units(dealer.id),
        income_held=own.income_held,
        currencies=figures,
    )
