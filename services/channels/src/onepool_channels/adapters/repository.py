"""Channels persistence: SQL in, domain objects out.

Reads of many keys bind each set of keys as one array (`= ANY(:skus)`), never one parameter per key: a
channel's listings or a location's SKUs run to tens of thousands, past what PostgreSQL (a row-value IN list
that deep exceeds its stack depth) and asyncpg (32,767 bind parameters) take. (channel, sku) keys are read as
`channel_id = ANY(..) AND sku = ANY(..)` (the composite indexes serve it) and narrowed to the pairs asked for
here.

Locking discipline (deadlock freedom and no lost feed updates): a transaction that changes a channel or a
listing locks the channel row first (FOR NO KEY UPDATE to change it, FOR SHARE to list under it), then
the per-SKU advisory locks of every SKU it recomputes, in ascending lock-key order. Stock events take only
the SKU locks. So two recomputations of the same SKU never interleave, and the later one always reads what
the earlier one committed. A transaction of the stock feed (a consumer's batch: several events, each taking
its location and SKU locks as it comes, so not in one global order) first takes the feed lock
(`lock_feed`): replicas sharing the consumer apply their batches one after another instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_runtime.columns import core_table, core_tables
from onepool_runtime.errors import AlreadyExists
from onepool_runtime.mapping import build, copy_fields
from onepool_runtime.repository import Repository, by_id, page
from onepool_runtime.upserts import upsert_newer, upsert_newer_rows, upsert_rows
from sqlalchemy import Text, any_, func, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_channels.adapters.orm import (
    ChannelRow,
    ChannelSalesRow,
    ChannelStockRow,
    ClosedTradeRow,
    DedicatedStockRow,
    ExpectedStockRow,
    ListingRow,
    StartupRunRow,
    StockLocationRow,
    StockPositionRow,
)
from onepool_channels.domain.model import (
    AllocationPolicy,
    Catalogue,
    Channel,
    ChannelStatus,
    ChannelStock,
    ChannelType,
    Listing,
    LocationInfo,
    LocationType,
    OwnStockRule,
    RuleNumbers,
    StockPosition,
)

_CH, _LIST, _LOC, _POS = core_tables(ChannelRow, ListingRow, StockLocationRow, StockPositionRow)
_DED, _SALES = core_tables(DedicatedStockRow, ChannelSalesRow)
_STOCK = core_table(ChannelStockRow)
_EXPECTED = core_table(ExpectedStockRow)
_RUNS = core_table(StartupRunRow)
_CLOSED = core_table(ClosedTradeRow)
_RULE_COLUMNS = (
    "exposed",
    "dedicated",
    "sales_cap_units",
    "sales_counted",
    "presale_units",
    "presale_counted",
    "expected",
    "presale_sellable",
    "allow_backorder",
)

# Advisory lock class for per-SKU recomputation (the two-key form keeps clear of other advisory locks).
SKU_LOCK_CLASS = 7301
# SKUs share this many lock buckets, so recomputing a whole location or channel takes at most this many
# locks (PostgreSQL's shared lock table is small); two SKUs in one bucket merely take turns.
SKU_LOCK_BUCKETS = 256
# The stock feed's own key in the same class: outside the SKU buckets (0 .. SKU_LOCK_BUCKETS - 1).
FEED_LOCK_KEY = -1
# Session advisory locks of start-up work (held across the work's many transactions), one key per kind.
STARTUP_LOCK_CLASS = 7302
STARTUP_LOCK_KEYS = {"stock-rebuild": 1, "announce": 2}


@dataclass(frozen=True)
class StartupRun:
    """What `startup_runs` says of one kind of start-up work (see the table's doc)."""

    name: str
    started_at: datetime | None
    finished_at: datetime | None
    stream_created: datetime | None = None
    stream_seq: int = 0
    contract: str = ""


_DEAD_PEER_SETTINGS = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 30000",
)


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine, name: str, poll_seconds: float) -> AsyncIterator[None]:
    """Held by one replica at a time for the whole of the start-up work `name` (whose pages commit one by
    one). A session lock on a connection of its own, so it ends with the replica (stopped, crashed, cut off):
    the next replica to ask takes the work over. Tried every `poll_seconds` with no transaction open between
    tries (a waiter blocked in pg_advisory_lock would hold a snapshot all along)."""
    key = {"cls": STARTUP_LOCK_CLASS, "key": STARTUP_LOCK_KEYS[name]}
    async with engine.connect() as conn:
        # The server must notice a holder that vanished without closing its socket (a node lost) in seconds, not
        # after the operating system's two hours of keepalive: until then the lock is held and nobody finishes
        # the work. Session settings: they stay with the connection in the pool, where they do no harm.
        for setting in _DEAD_PEER_SETTINGS:
            await conn.execute(text(setting))
        while True:
            locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:cls, :key)"), key)
            await conn.commit()
            if locked:
                break
            await asyncio.sleep(poll_seconds)
        try:
            yield
        finally:
            # The connection goes back to the pool: a lock left on it would outlive the work. If it cannot be
            # unlocked (the connection broke, the task was cancelled again), the connection is dropped instead.
            try:
                await _unlock(conn, key)
            except BaseException:
                await conn.invalidate()
                raise


async def _unlock(conn: Any, key: dict[str, int]) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:cls, :key)"), key)
    await conn.commit()


def _any(values: Iterable[str]) -> Any:
    """`column == _any(values)`: the values bound as one text[] parameter, however many there are."""
    return any_(literal(sorted(set(values)), ARRAY(Text)))


def _pairs(column_a: Any, column_b: Any, keys: Collection[tuple[str, str]]) -> Any:
    """The condition for rows whose (a, b) is among `keys`, as two arrays (callers keep only the pairs asked
    for: the condition also admits the cross product)."""
    return (column_a == _any(a for a, _ in keys)) & (column_b == _any(b for _, b in keys))


def _channel(row: Any) -> Channel:
    allocation = build(
        AllocationPolicy,
        row,
        location_ids=frozenset(row.location_ids),
        location_types=frozenset(LocationType(t) for t in row.location_types),
        own_stock=OwnStockRule(row.own_stock),
    )
    return build(
        Channel,
        row,
        type=ChannelType(row.type),
        allocation=allocation,
        status=ChannelStatus(row.status),
        catalogue=Catalogue(row.catalogue),
        presale=PresaleTerms(row.balance_due_seconds, row.min_deposit_bps, DepositRule(row.deposit_rule)),
    )


def _channel_values(channel: Channel) -> dict[str, Any]:
    a = channel.allocation
    return {
        "id": channel.id,
        "code": channel.code,
        "name": channel.name,
        "type": channel.type.value,
        "owner_dealer_id": channel.owner_dealer_id,
        "fee_rate_bps": channel.fee_rate_bps,
        "location_ids": sorted(a.location_ids),
        "location_types": sorted(t.value for t in a.location_types),
        "max_share_bps": a.max_share_bps,
        "buffer_units": a.buffer_units,
        "own_stock": a.own_stock.value,
        "catalogue": channel.catalogue.value,
        "balance_due_seconds": channel.presale.balance_due_seconds,
        "min_deposit_bps": channel.presale.min_deposit_bps,
        "deposit_rule": channel.presale.deposit_rule.value,
        "return_window_days": channel.return_window_days,
        "import_payment_ttl_seconds": channel.import_payment_ttl_seconds,
        "status": channel.status.value,
        "currency": channel.currency,
        "version": channel.version,
    }


def _listing(row: Any) -> Listing:
    return build(Listing, row, price=Money(row.price_currency, row.price_minor))


def _stock(row: Any) -> ChannelStock:
    rules = RuleNumbers(
        row.exposed,
        row.dedicated,
        row.sales_cap_units,
        row.sales_counted,
        row.presale_units,
        row.presale_counted,
        row.expected,
        row.presale_sellable,
        row.allow_backorder,
    )
    return build(ChannelStock, row, rules=rules)


class ChannelsRepository(Repository):
    _feed_locked = False

    # --- locks -----------------------------------------------------------------------------------------

    async def lock_feed(self) -> None:
        """The stock feed's lock, once per transaction, before its other locks (see the module doc)."""
        if self._feed_locked:
            return
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :key)"), {"cls": SKU_LOCK_CLASS, "key": FEED_LOCK_KEY}
        )
        self._feed_locked = True

    async def lock_skus(self, skus: Iterable[str]) -> None:
        """Per-SKU transaction locks (by bucket), taken in ascending bucket order (see the module doc)."""
        keys = sorted(set(skus))
        if not keys:
            return
        await self.session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:cls, k) FROM "
                "(SELECT DISTINCT (hashtext(s) & :mask) AS k FROM unnest(CAST(:skus AS text[])) AS s ORDER BY k)"
                " AS keys"
            ),
            {"cls": SKU_LOCK_CLASS, "mask": SKU_LOCK_BUCKETS - 1, "skus": keys},
        )

    # --- channels --------------------------------------------------------------------------------------

    async def add_channel(self, channel: Channel) -> Channel:
        stmt = (
            insert(_CH)
            .values(**_channel_values(channel))
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(_CH.c.created_at, _CH.c.updated_at)
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise AlreadyExists("channel", channel.code)
        channel.created_at, channel.updated_at = row.created_at, row.updated_at
        self._uow.track(channel)
        return channel

    async def get_channel(self, channel_id: str, *, lock: str = "") -> Channel | None:
        """lock: "" (plain read), "share" (listings are being changed under it) or "update"."""
        query = select(_CH).where(_CH.c.id == channel_id)
        if lock == "update":
            query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: listings' FKs do not wait
        elif lock == "share":
            query = query.with_for_update(read=True)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        channel = _channel(row)
        self._uow.track(channel)
        return channel

    async def channels(self, ids: Iterable[str]) -> dict[str, Channel]:
        rows = (await self.session.execute(select(_CH).where(_CH.c.id == _any(ids)))).all()
        return {r.id: _channel(r) for r in rows}

    async def list_channels(
        self,
        *,
        type_: ChannelType | None,
        owner_dealer_id: str,
        only_id: str,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Channel]:
        """In code order (then id); `after` is the (code, id) of the last channel sent."""
        owner = owner_dealer_id or None
        query = page(_CH, "code", after, limit, type=type_, owner_dealer_id=owner, id=only_id or None)
        return [_channel(r) for r in (await self.session.execute(query)).all()]

    async def save_channel(self, channel: Channel) -> None:
        values = _channel_values(channel)
        row = (
            await self.session.execute(
                update(_CH)
                .where(_CH.c.id == channel.id)
                .values(**{k: v for k, v in values.items() if k != "id"}, updated_at=channel.updated_at)
                .returning(_CH.c.updated_at)
            )
        ).one()
        channel.updated_at = row.updated_at

    # --- listings --------------------------------------------------------------------------------------

    async def upsert_listing(self, listing: Listing) -> Listing:
        values = {
            "channel_id": listing.channel_id,
            "sku": listing.sku,
            "channel_sku": listing.channel_sku,
            "price_currency": listing.price.currency,
            "price_minor": listing.price.amount_minor,
            "active": listing.active,
            "sales_cap_units": listing.sales_cap_units,
            "presale_units": listing.presale_units,
            "allow_backorder": listing.allow_backorder,
        }
        stmt: Any = insert(_LIST).values(**values)
        changing = (
            "channel_sku",
            "price_currency",
            "price_minor",
            "active",
            "sales_cap_units",
            "presale_units",
            "allow_backorder",
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel_id", "sku"],
            set_={
                **{k: stmt.excluded[k] for k in changing},
                "updated_at": text("now()"),
                # Upserts of one listing are serialised by its SKU lock, so versions follow commit order.
                "version": _LIST.c.version + 1,
            },
        ).returning(_LIST.c.updated_at, _LIST.c.version)
        try:
            row = (await self.session.execute(stmt)).one()
        except IntegrityError as exc:
            if "listings_channel_sku_unique" in str(exc.orig):
                raise AlreadyExists("listing channel_sku", listing.channel_sku) from None
            raise
        listing.updated_at, listing.version = row.updated_at, row.version
        self._uow.track(listing)
        return listing

    async def listings_after(self, after: tuple[str, str], limit: int) -> list[Listing]:
        """Every channel's listings in (channel_id, sku) order, a page after `after` (for the announcement)."""
        query = (
            select(_LIST)
            .where(tuple_(_LIST.c.channel_id, _LIST.c.sku) > tuple_(*after))
            .order_by(_LIST.c.channel_id, _LIST.c.sku)
            .limit(limit)
        )
        return [_listing(r) for r in (await self.session.execute(query)).all()]

    async def listing_with_channel_sku(self, channel_id: str, channel_sku: str) -> Listing | None:
        row = (
            await self.session.execute(
                select(_LIST).where(_LIST.c.channel_id == channel_id, _LIST.c.channel_sku == channel_sku)
            )
        ).first()
        return _listing(row) if row else None

    async def listings_by_channel_sku(self, channel_id: str, channel_skus: Iterable[str]) -> dict[str, Listing]:
        rows = (
            await self.session.execute(
                select(_LIST).where(_LIST.c.channel_id == channel_id, _LIST.c.channel_sku == _any(channel_skus))
            )
        ).all()
        return {r.channel_sku: _listing(r) for r in rows}

    async def listings(
        self, channel_id: str, *, after_sku: str = "", limit: int | None = None, skus: Iterable[str] | None = None
    ) -> list[Listing]:
        query = select(_LIST).where(_LIST.c.channel_id == channel_id, _LIST.c.sku > after_sku).order_by(_LIST.c.sku)
        if skus is not None:
            query = query.where(_LIST.c.sku == _any(skus))
        if limit is not None:
            query = query.limit(limit)
        return [_listing(r) for r in (await self.session.execute(query)).all()]

    async def listings_of_skus(self, skus: Iterable[str], channel_id: str = "") -> list[Listing]:
        query = select(_LIST).where(_LIST.c.sku == _any(skus)).order_by(_LIST.c.channel_id, _LIST.c.sku)
        if channel_id:
            query = query.where(_LIST.c.channel_id == channel_id)
        return [_listing(r) for r in (await self.session.execute(query)).all()]

    async def listed_skus(self, channel_id: str) -> list[str]:
        rows = await self.session.execute(
            select(_LIST.c.sku).where(_LIST.c.channel_id == channel_id).order_by(_LIST.c.sku)
        )
        return [r.sku for r in rows]

    # --- the stock read model --------------------------------------------------------------------------

    async def upsert_location(self, location: LocationInfo) -> bool:
        """Store what inventory says about a location unless a newer version of it is stored (the same version
        is stored again: a redelivery, or two events from before locations had versions, the later one
        winning as it always did); returns True when it changes what channels see."""
        values = {
            "id": location.id,
            "type": location.type.value,
            "owner_dealer_id": location.owner_dealer_id,
            "active": location.active,
            "version": location.version,
            "ships": location.ships,
        }
        held = (await self.session.execute(by_id(_LOC, location.id, lock=True))).first()
        if not await upsert_newer(self.session, _LOC, values, ["id"], replace_equal=True):
            return False  # stale: a later change of the location was applied already
        # A newer version that changes nothing channels see (a renamed location) is stored for its version
        # alone, so an older event arriving after it is still recognised as older.
        return held is None or any(
            held._mapping[k] != values[k] for k in ("type", "owner_dealer_id", "active", "ships")
        )

    async def remember_location(self, location: LocationInfo) -> None:
        """A location first seen in a stock event (its own event may come later): keep what we know."""
        await self.session.execute(
            insert(_LOC)
            .values(id=location.id, type=location.type.value, owner_dealer_id=location.owner_dealer_id, active=True)
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def apply_position(self, sku: str, location_id: str, available: int, version: int) -> bool:
        """Store a stock level unless a newer version is already stored; returns whether it was applied."""
        values = {"sku": sku, "location_id": location_id, "available": available, "version": version}
        return await upsert_newer(self.session, _POS, values, ["sku", "location_id"])

    async def apply_positions(self, levels: list[tuple[str, str, int, int]]) -> set[str]:
        """`apply_position` of (sku, location_id, available, version) levels in one statement; returns the SKUs
        of the levels stored."""
        rows = [{"sku": s, "location_id": loc, "available": a, "version": v} for s, loc, a, v in levels]
        return {sku for sku, _ in await upsert_newer_rows(self.session, _POS, rows, ["sku", "location_id"])}

    async def positions(self, skus: Iterable[str]) -> dict[str, list[StockPosition]]:
        wanted = sorted(set(skus))
        out: dict[str, list[StockPosition]] = {s: [] for s in wanted}
        if not wanted:
            return out
        rows = (
            await self.session.execute(
                select(
                    _POS.c.sku,
                    _POS.c.available,
                    _LOC.c.id,
                    _LOC.c.type,
                    _LOC.c.owner_dealer_id,
                    _LOC.c.active,
                    _LOC.c.ships,
                )
                .join(_LOC, _LOC.c.id == _POS.c.location_id)
                .where(_POS.c.sku == _any(wanted))
                .order_by(_POS.c.sku, _POS.c.location_id)
            )
        ).all()
        for r in rows:
            location = LocationInfo(r.id, LocationType(r.type), r.owner_dealer_id, r.active, ships=r.ships)
            out[r.sku].append(StockPosition(r.sku, location, r.available))
        return out

    async def skus_at(self, location_id: str) -> list[str]:
        rows = await self.session.execute(
            select(_POS.c.sku).where(_POS.c.location_id == location_id).order_by(_POS.c.sku)
        )
        return [r.sku for r in rows]

    # --- the channel rules' read models (inventory's dedicated stock and sales counters) -------------------

    async def apply_dedicated(
        self, allocation_id: str, channel_id: str, sku: str, location_id: str, remaining: int, version: int
    ) -> bool:
        values = {
            "allocation_id": allocation_id,
            "channel_id": channel_id,
            "sku": sku,
            "location_id": location_id,
            "remaining": remaining,
            "version": version,
        }
        return await upsert_newer(self.session, _DED, values, ["allocation_id"])

    async def apply_dedicated_many(self, allocations: list[tuple[str, str, str, str, int, int]]) -> set[str]:
        """`apply_dedicated` of (allocation_id, channel_id, sku, location_id, remaining, version) in one
        statement; returns the SKUs of the allocations stored."""
        rows = [
            {"allocation_id": a, "channel_id": c, "sku": s, "location_id": loc, "remaining": n, "version": v}
            for a, c, s, loc, n, v in allocations
        ]
        written = {key for (key,) in await upsert_newer_rows(self.session, _DED, rows, ["allocation_id"])}
        return {sku for allocation_id, _, sku, _, _, _ in allocations if allocation_id in written}

    async def apply_sales(
        self, channel_id: str, sku: str, counted: int, version: int, presale_counted: int = 0
    ) -> bool:
        values = {
            "channel_id": channel_id,
            "sku": sku,
            "counted": counted,
            "presale_counted": presale_counted,
            "version": version,
        }
        return await upsert_newer(self.session, _SALES, values, ["channel_id", "sku"])

    async def apply_sales_many(self, counts: list[tuple[str, str, int, int, int]]) -> set[str]:
        """`apply_sales` of (channel_id, sku, counted, version, presale_counted) counts in one statement; returns
        the SKUs of the counts stored."""
        rows = [
            {"channel_id": c, "sku": s, "counted": n, "version": v, "presale_counted": p} for c, s, n, v, p in counts
        ]
        return {sku for _, sku in await upsert_newer_rows(self.session, _SALES, rows, ["channel_id", "sku"])}

    async def apply_expected(self, receipt_id: str, location_id: str, unpromised: dict[str, int], version: int) -> bool:
        """An expected receipt's unpromised units per SKU, unless a newer version of the receipt is stored."""
        rows = [
            {"receipt_id": receipt_id, "sku": sku, "location_id": location_id, "unpromised": n, "version": version}
            for sku, n in sorted(unpromised.items())
        ]
        return bool(await upsert_newer_rows(self.session, _EXPECTED, rows, ["receipt_id", "sku"])) if rows else False

    async def expected(self, skus: Iterable[str]) -> dict[str, list[StockPosition]]:
        """Per SKU: unpromised expected units per open receipt and known location (presale can draw on them)."""
        wanted = sorted(set(skus))
        out: dict[str, list[StockPosition]] = {s: [] for s in wanted}
        if not wanted:
            return out
        rows = (
            await self.session.execute(
                select(
                    _EXPECTED.c.sku,
                    _EXPECTED.c.unpromised,
                    _LOC.c.id,
                    _LOC.c.type,
                    _LOC.c.owner_dealer_id,
                    _LOC.c.active,
                    _LOC.c.ships,
                )
                .join(_LOC, _LOC.c.id == _EXPECTED.c.location_id)
                .where(_EXPECTED.c.sku == _any(wanted), _EXPECTED.c.unpromised > 0)
                .order_by(_EXPECTED.c.sku, _EXPECTED.c.receipt_id)
            )
        ).all()
        for r in rows:
            location = LocationInfo(r.id, LocationType(r.type), r.owner_dealer_id, r.active, ships=r.ships)
            out[r.sku].append(StockPosition(r.sku, location, r.unpromised))
        return out

    async def presale_counted(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(_SALES.c.channel_id, _SALES.c.sku, _SALES.c.presale_counted).where(
                    _pairs(_SALES.c.channel_id, _SALES.c.sku, wanted)
                )
            )
        ).all()
        asked = set(wanted)
        return {(r.channel_id, r.sku): r.presale_counted for r in rows if (r.channel_id, r.sku) in asked}

    async def dedicated(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[StockPosition]]:
        """Per (channel, sku): the channel's remaining dedicated units per location (only locations known)."""
        wanted = sorted(set(keys))
        out: dict[tuple[str, str], list[StockPosition]] = {k: [] for k in wanted}
        if not wanted:
            return out
        rows = (
            await self.session.execute(
                select(
                    _DED.c.channel_id,
                    _DED.c.sku,
                    _DED.c.remaining,
                    _LOC.c.id,
                    _LOC.c.type,
                    _LOC.c.owner_dealer_id,
                    _LOC.c.active,
                    _LOC.c.ships,
                )
                .join(_LOC, _LOC.c.id == _DED.c.location_id)
                .where(_pairs(_DED.c.channel_id, _DED.c.sku, wanted), _DED.c.remaining > 0)
                .order_by(_DED.c.channel_id, _DED.c.sku, _DED.c.location_id)
            )
        ).all()
        for r in rows:
            if (r.channel_id, r.sku) not in out:
                continue
            location = LocationInfo(r.id, LocationType(r.type), r.owner_dealer_id, r.active, ships=r.ships)
            out[(r.channel_id, r.sku)].append(StockPosition(r.sku, location, r.remaining))
        return out

    async def counted(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(_SALES.c.channel_id, _SALES.c.sku, _SALES.c.counted).where(
                    _pairs(_SALES.c.channel_id, _SALES.c.sku, wanted)
                )
            )
        ).all()
        asked = set(wanted)
        return {(r.channel_id, r.sku): r.counted for r in rows if (r.channel_id, r.sku) in asked}

    async def listing_keys_after(self, after: tuple[str, str], limit: int) -> list[tuple[str, str]]:
        """Every listing's (channel_id, sku), capped or not, in that order, a page after `after` (the rebuild's
        counters: a cap added later counts what was sold before it)."""
        query = (
            select(_LIST.c.channel_id, _LIST.c.sku)
            .where(tuple_(_LIST.c.channel_id, _LIST.c.sku) > tuple_(*after))
            .order_by(_LIST.c.channel_id, _LIST.c.sku)
            .limit(limit)
        )
        return [(r.channel_id, r.sku) for r in (await self.session.execute(query)).all()]

    async def is_empty(self) -> bool:
        """No stock position at all: a fresh (or wiped) read model that must be rebuilt from inventory."""
        return (await self.session.execute(select(_POS.c.sku).limit(1))).first() is None

    # --- closed trades ---------------------------------------------------------------------------------

    async def close_trade(self, channel_id: str, external_order_id: str, marketplace_status: str) -> None:
        """Record that the marketplace closed the trade; the first close recorded stands."""
        await self.session.execute(
            insert(_CLOSED)
            .values(channel_id=channel_id, external_order_id=external_order_id, marketplace_status=marketplace_status)
            .on_conflict_do_nothing(index_elements=["channel_id", "external_order_id"])
        )

    async def closed_trade(self, channel_id: str, external_order_id: str) -> str | None:
        """The marketplace status the trade was closed with, None while it was never seen closed."""
        query = select(_CLOSED.c.marketplace_status).where(
            _CLOSED.c.channel_id == channel_id, _CLOSED.c.external_order_id == external_order_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    # --- start-up work -------------------------------------------------------------------------------

    async def startup_run(self, name: str) -> StartupRun | None:
        row = (await self.session.execute(select(_RUNS).where(_RUNS.c.name == name))).first()
        return None if row is None else build(StartupRun, row)

    async def start_run(
        self, name: str, stream_created: datetime | None = None, stream_seq: int = 0, contract: str = ""
    ) -> None:
        """`name` started now and has not finished (a replica that finds it so takes it over)."""
        values = {
            "started_at": func.now(),
            "finished_at": None,
            "stream_created": stream_created,
            "stream_seq": stream_seq,
            "contract": contract,
        }
        stmt = insert(_RUNS).values(name=name, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))

    async def finish_run(self, name: str) -> None:
        await self.session.execute(
            update(_RUNS).where(_RUNS.c.name == name).values(finished_at=func.now(), last_error="")
        )

    async def run_failed(self, name: str, error: str) -> None:
        await self.session.execute(update(_RUNS).where(_RUNS.c.name == name).values(last_error=error[:2000]))

    # --- published channel stock -----------------------------------------------------------------------

    async def channel_stock(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ChannelStock]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(select(_STOCK).where(_pairs(_STOCK.c.channel_id, _STOCK.c.sku, wanted)))
        ).all()
        asked = set(wanted)
        found = {(r.channel_id, r.sku): _stock(r) for r in rows if (r.channel_id, r.sku) in asked}
        for key in wanted:
            found.setdefault(key, ChannelStock.unpublished(*key))
        for stock in found.values():
            self._uow.track(stock)
        return found

    async def published(self, channel_id: str) -> list[ChannelStock]:
        rows = (
            await self.session.execute(select(_STOCK).where(_STOCK.c.channel_id == channel_id).order_by(_STOCK.c.sku))
        ).all()
        return [_stock(r) for r in rows]

    async def save_channel_stock(self, changed: list[ChannelStock]) -> None:
        if not changed:
            return
        rows = [
            copy_fields(s, "channel_id", "sku", "channel_sku", "sellable", "version")
            | copy_fields(s.rules, *_RULE_COLUMNS)
            for s in changed
        ]
        await self.session.execute(upsert_rows(_STOCK, tuple(rows[0]), ("channel_id", "sku"), touch=True), rows)
