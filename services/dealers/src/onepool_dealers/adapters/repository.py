"""Dealers persistence: SQL in, domain objects out.

Locking discipline (deadlock freedom): a transaction that needs both locks a dealer's row before any of
its replenishments' rows. Placement locks the dealer row, so one dealer's placements are serialised and two
concurrent orders can never both pass the credit check. The channel saga serialises on an advisory lock
per dealer instead, so a slow channels service never holds up a dealer's placements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from onepool_kernel.money import Money
from onepool_runtime.columns import core_tables
from onepool_runtime.mapping import build, copy_fields, row_values
from onepool_runtime.repository import Repository, by_id, page
from onepool_runtime.upserts import upsert, upsert_newer, upsert_newer_rows
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from onepool_dealers.adapters.orm import (
    ClosedOrderRow,
    DealerOrderRow,
    DealerRow,
    DealerSettlementRow,
    DealerStockRow,
    HeldSettlementRow,
    LocationRow,
    OwnershipMoveLineRow,
    OwnershipMoveRow,
    ReplenishmentLineRow,
    ReplenishmentRow,
    SinglePriceRow,
    WholesalePriceRow,
)
from onepool_dealers.domain.income import DealerIncome
from onepool_dealers.domain.model import (
    Dealer,
    DealerStatus,
    DealerTier,
    Location,
    LocationType,
    Replenishment,
    ReplenishmentLine,
    ReplenishmentStatus,
)
from onepool_dealers.domain.overview import OrderView, StockView
from onepool_dealers.domain.ownership import OwnershipMove

_DEALERS, _LOC, _PRICES, _REPL = core_tables(DealerRow, LocationRow, WholesalePriceRow, ReplenishmentRow)
_LINES, _STOCK, _ORDERS = core_tables(ReplenishmentLineRow, DealerStockRow, DealerOrderRow)
_MOVES, _MOVE_LINES = core_tables(OwnershipMoveRow, OwnershipMoveLineRow)
_SETTLE, _HELD, _CLOSED = core_tables(DealerSettlementRow, HeldSettlementRow, ClosedOrderRow)
(_SINGLE_PRICE,) = core_tables(SinglePriceRow)


def _dealer(row: Any, location_ids: list[str]) -> Dealer:
    return build(
        Dealer,
        row,
        tier=DealerTier(row.tier),
        credit_limit=Money(row.currency, row.credit_limit_minor),
        status=DealerStatus(row.status),
        location_ids=location_ids,
    )


def _location(row: Any) -> Location:
    return build(Location, row, type=LocationType(row.type))


def _order(row: Any) -> OrderView:
    return build(OrderView, row, total=Money(row.currency, row.total_minor))


def _dealer_values(d: Dealer) -> dict[str, object]:
    return row_values(_DEALERS, d, credit_limit_minor=d.credit_limit.amount_minor)


class DealersRepository(Repository):
    # --- dealers ----------------------------------------------------------------------------------------

    async def add_dealer(self, dealer: Dealer, request_id: str, fingerprint: str) -> tuple[Dealer, str]:
        """Insert the dealer unless its request_id was seen; returns the stored dealer and its fingerprint.

        A concurrent duplicate blocks on the unique request_id until the first commits, then reads it."""
        inserted = (
            await self.session.execute(
                insert(_DEALERS)
                .values(**_dealer_values(dealer), request_id=request_id, request_fingerprint=fingerprint)
                .on_conflict_do_nothing(index_elements=["request_id"])
                .returning(_DEALERS.c.id)
            )
        ).first()
        if inserted is not None:
            self._uow.track(dealer)
            return dealer, fingerprint
        row = (await self.session.execute(select(_DEALERS).where(_DEALERS.c.request_id == request_id))).one()
        return _dealer(row, await self._location_ids(row.id)), row.request_fingerprint

    async def _location_ids(self, dealer_id: str) -> list[str]:
        rows = await self.session.execute(
            select(_LOC.c.id).where(_LOC.c.owner_dealer_id == dealer_id).order_by(_LOC.c.id)
        )
        return list(rows.scalars())

    async def get_dealer(self, dealer_id: str, *, lock: bool = False) -> Dealer | None:
        query = by_id(_DEALERS, dealer_id, lock=lock)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        dealer = _dealer(row, await self._location_ids(dealer_id))
        if lock:
            self._uow.track(dealer)
        return dealer

    async def save_dealer(self, dealer: Dealer) -> None:
        await self.session.execute(update(_DEALERS).where(_DEALERS.c.id == dealer.id).values(**_dealer_values(dealer)))
        self._uow.track(dealer)

    async def list_dealers(
        self,
        *,
        status: DealerStatus | None,
        region: str,
        only_id: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Dealer]:
        """In name order (then id); `after` is the (name, id) of the last dealer sent."""
        query = page(_DEALERS, "name", after, limit, status=status, region=region or None, id=only_id)
        rows = (await self.session.execute(query)).all()
        locations: dict[str, list[str]] = {r.id: [] for r in rows}
        if rows:
            for loc in await self.session.execute(
                select(_LOC.c.id, _LOC.c.owner_dealer_id)
                .where(_LOC.c.owner_dealer_id.in_(list(locations)))
                .order_by(_LOC.c.id)
            ):
                locations[loc.owner_dealer_id].append(loc.id)
        return [_dealer(r, locations[r.id]) for r in rows]

    async def dealer_id_by_channel(self, channel_id: str) -> str | None:
        if not channel_id:
            return None
        return (await self.session.execute(select(_DEALERS.c.id).where(_DEALERS.c.channel_id == channel_id))).scalar()

    async def dealer_ids_by_channels(self, channel_ids: Iterable[str]) -> dict[str, str]:
        """channel id -> dealer id, for the channels that are a dealer's."""
        wanted = sorted({c for c in channel_ids if c})
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(_DEALERS.c.channel_id, _DEALERS.c.id).where(_DEALERS.c.channel_id.in_(wanted))
        )
        return {r.channel_id: r.id for r in rows}

    async def dealers_needing_channel_sync(self, limit: int) -> list[str]:
        rows = await self.session.execute(
            select(_DEALERS.c.id)
            .where(or_(_DEALERS.c.channel_id == "", _DEALERS.c.channel_synced_revision < _DEALERS.c.revision))
            .order_by(_DEALERS.c.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def lock_channel_sync(self, dealer_id: str, *, wait: bool = True) -> bool:
        """Serialise the channel saga of one dealer (held until the transaction ends)."""
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        result = await self.session.execute(text(f"SELECT {fn}(hashtext(:k))"), {"k": f"dealers:channel:{dealer_id}"})
        return wait or bool(result.scalar())

    # --- locations --------------------------------------------------------------------------------------

    async def get_location(self, location_id: str) -> Location | None:
        row = (await self.session.execute(select(_LOC).where(_LOC.c.id == location_id))).first()
        return _location(row) if row else None

    async def location_owner(self, location_id: str) -> str | None:
        return (await self.session.execute(select(_LOC.c.owner_dealer_id).where(_LOC.c.id == location_id))).scalar()

    async def location_owners(self, location_ids: Iterable[str]) -> dict[str, str]:
        """location id -> owning dealer id, for the known locations among `location_ids`."""
        wanted = sorted(set(location_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(select(_LOC.c.id, _LOC.c.owner_dealer_id).where(_LOC.c.id.in_(wanted)))
        return {r.id: r.owner_dealer_id for r in rows}

    async def save_location(self, location: Location) -> bool:
        """Keep the copy unless a newer version is kept already (events of one location arrive in any order
        across replicas and redeliveries, and AddDealerLocation's answer races them); the same version is
        written again. True when written."""
        values = row_values(_LOC, location)
        return await upsert_newer(self.session, _LOC, values, ["id"], replace_equal=True, touch=True)

    # --- ownership moves --------------------------------------------------------------------------------

    async def add_move(self, move: OwnershipMove) -> bool:
        """Record a move once by its id; False if it was recorded before (its event was published then)."""
        inserted = await self.session.execute(
            insert(_MOVES)
            .values(
                **row_values(
                    _MOVES,
                    move.goods,
                    currency=move.currency,
                    reason=move.goods.reason.value,
                    from_dealer_id=move.goods.giver,
                    to_dealer_id=move.goods.taker,
                    reference=move.goods.reference,
                    total_minor=move.total.amount_minor,
                )
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(_MOVES.c.id)
        )
        if inserted.first() is None:
            return False
        if move.lines:
            await self.session.execute(
                insert(_MOVE_LINES),
                [
                    {
                        "move_id": move.goods.id,
                        "position": i,
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                        "unit_price_minor": ln.unit_price.amount_minor,
                    }
                    for i, ln in enumerate(move.lines)
                ],
            )
        self._uow.track(move)
        return True

    async def move_unit_prices(self, move_ids: Iterable[str]) -> dict[str, dict[str, Money]]:
        """move id -> SKU -> the unit price the recorded move valued it at (moves with lines only)."""
        wanted = sorted(set(move_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(_MOVE_LINES.c.move_id, _MOVE_LINES.c.sku, _MOVE_LINES.c.unit_price_minor, _MOVES.c.currency)
            .join(_MOVES, _MOVES.c.id == _MOVE_LINES.c.move_id)
            .where(_MOVE_LINES.c.move_id.in_(wanted))
            .order_by(_MOVE_LINES.c.move_id, _MOVE_LINES.c.position)
        )
        out: dict[str, dict[str, Money]] = {}
        for r in rows:
            out.setdefault(r.move_id, {}).setdefault(r.sku, Money(r.currency, r.unit_price_minor))
        return out

    # --- wholesale prices -------------------------------------------------------------------------------

    async def set_price(self, sku: str, list_price: Money) -> None:
        """The SKU's list price in `list_price.currency`; its prices in other currencies stay as they are.

        Replicas of a release before migration 0015 read one price per SKU (`wholesale_prices`): it changes only
        in its own currency (or is the SKU's first price), so a price set in another currency never re-prices
        the SKU for the dealers they price. It is written first: the trigger 0015 put on it copies the row into
        the price list, and two writers of one SKU then lock its rows in the same order."""
        values = {"sku": sku, "currency": list_price.currency, "list_price_minor": list_price.amount_minor}
        single = insert(_SINGLE_PRICE).values(**values)
        await self.session.execute(
            single.on_conflict_do_update(
                index_elements=["sku"],
                set_={"list_price_minor": single.excluded.list_price_minor, "updated_at": func.now()},
                where=_SINGLE_PRICE.c.currency == single.excluded.currency,
            )
        )
        listed = insert(_PRICES).values(**values)
        await self.session.execute(
            listed.on_conflict_do_update(
                index_elements=["sku", "currency"],
                set_={"list_price_minor": listed.excluded.list_price_minor, "updated_at": func.now()},
            )
        )

    async def price_lists(self, skus: Iterable[str], currencies: Iterable[str]) -> dict[str, dict[str, Money]]:
        """currency -> SKU -> list price, for each of `currencies` (empty where none of `skus` has a price)."""
        wanted = sorted(set(currencies))
        out: dict[str, dict[str, Money]] = {c: {} for c in wanted}
        skus = sorted(set(skus))
        if not wanted or not skus:
            return out
        rows = await self.session.execute(
            select(_PRICES).where(_PRICES.c.sku.in_(skus), _PRICES.c.currency.in_(wanted))
        )
        for r in rows:
            out[r.currency][r.sku] = Money(r.currency, r.list_price_minor)
        return out

    # --- replenishments ---------------------------------------------------------------------------------

    async def add_replenishment(self, r: Replenishment) -> None:
        await self.session.execute(insert(_REPL).values(**row_values(_REPL, r, total_minor=r.total.amount_minor)))
        await self.session.execute(
            insert(_LINES),
            [
                {
                    "replenishment_id": r.id,
                    "position": i,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "unit_price_minor": ln.unit_price.amount_minor,
                }
                for i, ln in enumerate(r.lines)
            ],
        )
        self._uow.track(r)

    async def _with_lines(self, rows: Sequence[Any]) -> list[Replenishment]:
        if not rows:
            return []
        lines: dict[str, list[ReplenishmentLine]] = {r.id: [] for r in rows}  # type: ignore[attr-defined]
        currency = {r.id: r.currency for r in rows}  # type: ignore[attr-defined]
        for ln in await self.session.execute(
            select(_LINES)
            .where(_LINES.c.replenishment_id.in_(list(lines)))
            .order_by(_LINES.c.replenishment_id, _LINES.c.position)
        ):
            lines[ln.replenishment_id].append(
                ReplenishmentLine(ln.sku, ln.quantity, Money(currency[ln.replenishment_id], ln.unit_price_minor))
            )
        return [build(Replenishment, r, lines=lines[r.id], status=ReplenishmentStatus(r.status)) for r in rows]

    async def get_replenishment(self, replenishment_id: str, *, lock: bool = False) -> Replenishment | None:
        query = by_id(_REPL, replenishment_id, lock=lock)
        found = await self._with_lines(list((await self.session.execute(query)).all()))
        if not found:
            return None
        if lock:
            self._uow.track(found[0])
        return found[0]

    async def save_replenishment(self, r: Replenishment) -> None:
        # The whole row as the aggregate has it (what never changes is written back unchanged, under the lock).
        await self.session.execute(update(_REPL).where(_REPL.c.id == r.id).values(**row_values(_REPL, r)))
        self._uow.track(r)

    async def list_replenishments(
        self, *, dealer_id: str, status: ReplenishmentStatus | None, before_seq: int, limit: int
    ) -> list[tuple[int, Replenishment]]:
        """Newest first (by `seq`, the order they were placed in), older than `before_seq` when it is not 0."""
        query = select(_REPL).order_by(_REPL.c.seq.desc()).limit(limit)
        if before_seq:
            query = query.where(_REPL.c.seq < before_seq)
        if dealer_id:
            query = query.where(_REPL.c.dealer_id == dealer_id)
        if status is not None:
            query = query.where(_REPL.c.status == status.value)
        rows = list((await self.session.execute(query)).all())
        return list(zip([r.seq for r in rows], await self._with_lines(rows), strict=True))

    async def stalled_shipments(self, requested_before: datetime, limit: int) -> list[str]:
        rows = await self.session.execute(
            select(_REPL.c.id)
            .where(
                and_(
                    _REPL.c.shipping_requested_at.is_not(None),
                    _REPL.c.shipping_requested_at < requested_before,
                    _REPL.c.status == ReplenishmentStatus.PLACED.value,
                )
            )
            .order_by(_REPL.c.shipping_requested_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def receipts_to_cancel(self, limit: int) -> list[Replenishment]:
        """Received replenishments whose expected receipt is not yet confirmed cancelled, oldest first."""
        query = select(_REPL).where(_REPL.c.receipt_cancel_due).order_by(_REPL.c.seq).limit(limit)
        return await self._with_lines(list((await self.session.execute(query)).all()))

    # --- read models ------------------------------------------------------------------------------------

    async def apply_stock(self, view: StockView) -> bool:
        """Keep the newest version of a (sku, location) level; an older one changes nothing."""
        values = copy_fields(view, "location_id", "sku", "dealer_id", "on_hand", "version")
        return await upsert_newer(self.session, _STOCK, values, ["location_id", "sku"])

    async def apply_stock_levels(self, views: list[StockView]) -> None:
        """`apply_stock` of many levels in one statement."""
        rows = [copy_fields(v, "location_id", "sku", "dealer_id", "on_hand", "version") for v in views]
        await upsert_newer_rows(self.session, _STOCK, rows, ["location_id", "sku"])

    async def get_orders(self, order_ids: Iterable[str]) -> dict[str, OrderView]:
        rows = await self.session.execute(select(_ORDERS).where(_ORDERS.c.order_id.in_(sorted(set(order_ids)))))
        return {r.order_id: _order(r) for r in rows}

    async def get_order(self, order_id: str) -> OrderView | None:
        row = (await self.session.execute(select(_ORDERS).where(_ORDERS.c.order_id == order_id))).first()
        if row is None:
            return None
        return _order(row)

    async def lock_orders(self, order_ids: list[str], *, prefix: str = "dealers:order:") -> None:
        """`lock_order` of each, in the order given (callers sort them), in one statement."""
        await self.session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(k)) FROM (SELECT CAST(:p AS text) || k AS k, n "
                "FROM unnest(CAST(:ks AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n) AS keys"
            ),
            {"ks": order_ids, "p": prefix},
        )

    async def lock_order_income(self, order_ids: list[str]) -> None:
        """Serialise holding and releasing each order's income (callers sort the ids). A key of its own: the
        order view's lock is taken only for dealers' own orders, this one for any order."""
        if order_ids:
            await self.lock_orders(order_ids, prefix="dealers:income:")

    async def closed_orders(self, order_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(order_ids))
        if not wanted:
            return set()
        rows = await self.session.execute(select(_CLOSED.c.order_id).where(_CLOSED.c.order_id.in_(wanted)))
        return set(rows.scalars())

    async def close_orders(self, order_ids: list[str]) -> None:
        if order_ids:
            await self.session.execute(
                insert(_CLOSED).values([{"order_id": o} for o in order_ids]).on_conflict_do_nothing()
            )

    async def hold_income(self, held: list[DealerIncome]) -> None:
        """Keep each amount once by (entry, dealer, currency)."""
        if held:
            rows = [copy_fields(h, "entry_id", "order_id", "dealer_id", "currency", "amount_minor") for h in held]
            await self.session.execute(insert(_HELD).values(rows).on_conflict_do_nothing())

    async def release_income(self, order_ids: list[str]) -> list[DealerIncome]:
        """Take out (delete) what is held for these orders."""
        if not order_ids:
            return []
        rows = await self.session.execute(
            _HELD.delete()
            .where(_HELD.c.order_id.in_(order_ids))
            .returning(_HELD.c.entry_id, _HELD.c.order_id, _HELD.c.dealer_id, _HELD.c.currency, _HELD.c.amount_minor)
        )
        return [DealerIncome(r.entry_id, r.order_id, r.dealer_id, r.currency, r.amount_minor) for r in rows]

    async def save_order(self, view: OrderView) -> None:
        values = row_values(_ORDERS, view, currency=view.total.currency, total_minor=view.total.amount_minor)
        await self.session.execute(upsert(_ORDERS, values, ["order_id"]))

    async def lock_order(self, order_id: str) -> None:
        """Serialise concurrent updates of one order's row (it may not exist yet)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"dealers:order:{order_id}"}
        )

    async def add_settlement(self, dealer_id: str, currency: str, delta_minor: int) -> None:
        stmt = insert(_SETTLE).values(dealer_id=dealer_id, currency=currency, net_minor=delta_minor)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["dealer_id", "currency"],
                set_={"net_minor": _SETTLE.c.net_minor + stmt.excluded.net_minor, "updated_at": func.now()},
            )
        )

    async def income_held_by_currency(self, dealer_id: str) -> dict[str, int]:
        """currency -> what is held of the dealer's income (orders that may still refund it). Reads the index
        `held_settlement_by_dealer` (dealer_id, currency): rows of orders not heard closed only, as a release
        deletes them."""
        rows = await self.session.execute(
            select(_HELD.c.currency, func.sum(_HELD.c.amount_minor).label("held"))
            .where(_HELD.c.dealer_id == dealer_id)
            .group_by(_HELD.c.currency)
        )
        return {r.currency: int(r.held) for r in rows}

    async def settlement_net(self, dealer_id: str, currency: str) -> int:
        value = (
            await self.session.execute(
                select(_SETTLE.c.net_minor).where(
                    and_(_SETTLE.c.dealer_id == dealer_id, _SETTLE.c.currency == currency)
                )
            )
        ).scalar()
        return int(value or 0)

    async def settlement_nets(self, dealer_id: str) -> dict[str, int]:
        """currency -> `settlement_net`: one row per currency the dealer was ever posted in (the primary key)."""
        rows = await self.session.execute(
            select(_SETTLE.c.currency, _SETTLE.c.net_minor).where(_SETTLE.c.dealer_id == dealer_id)
        )
        return {r.currency: int(r.net_minor) for r in rows}

    async def units_in_stock(self, dealer_id: str) -> int:
        value = (
            await self.session.execute(
                select(func.coalesce(func.sum(_STOCK.c.on_hand), 0)).where(_STOCK.c.dealer_id == dealer_id)
            )
        ).scalar()
        return int(value or 0)

    async def inbound_units(self, dealer_id: str) -> int:
        """Units of the dealer's SHIPPED replenishments (in transit to its locations)."""
        value = (
            await self.session.execute(
                select(func.coalesce(func.sum(_LINES.c.quantity), 0))
                .join(_REPL, _REPL.c.id == _LINES.c.replenishment_id)
                .where(_REPL.c.dealer_id == dealer_id, _REPL.c.status == ReplenishmentStatus.SHIPPED.value)
            )
        ).scalar()
        return int(value or 0)

    async def open_orders(self, dealer_id: str) -> int:
        value = (
            await self.session.execute(
                select(func.count()).where(and_(_ORDERS.c.dealer_id == dealer_id, _ORDERS.c.open))
            )
        ).scalar()
        return int(value or 0)

    async def sales_by_currency(self, dealer_id: str, start: datetime, end: datetime) -> dict[str, int]:
        """currency -> net sales of the dealer's orders created in [start, end) ("" for orders stored without
        a currency). Reads the index `dealer_orders_by_created` (dealer_id, created_at): the period's orders
        only, however many the dealer had before."""
        rows = await self.session.execute(
            select(_ORDERS.c.currency, func.sum(_ORDERS.c.net_sales_minor).label("sales"))
            .where(
                and_(
                    _ORDERS.c.dealer_id == dealer_id,
                    _ORDERS.c.created_at >= start,
                    _ORDERS.c.created_at < end,
                )
            )
            .group_by(_ORDERS.c.currency)
        )
        return {r.currency: int(r.sales) for r in rows}
