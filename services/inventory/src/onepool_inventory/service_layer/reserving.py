"""Reserve, with concurrent calls coalesced into batched transactions (group commit).

A hot SKU must not serialise on one row lock per request. Each Reserve call is queued; a worker takes
everything queued (up to `max_batch`), and in ONE transaction: claims the idempotency keys, locks every
stock row of the SKUs involved once (in (sku, location) order), then plans and applies the requests one by
one in arrival order against the in-memory levels, so each request succeeds or fails on its own and never
beyond stock. Then it writes all changed levels, reservations, events and answers and commits.
Requests are routed to workers by SKU, so all requests for one SKU keep their arrival order.

The window adapts by itself: a worker never waits for a batch to fill. It takes what is queued the moment
it is free, so a lone caller is served at once (a batch of one), and under load the requests that arrive
while one batch commits form the next (its size follows the arrival rate times the commit time).

The transaction runs on a connection of the engine's read pool (`db.pooled_transaction`: no SQLAlchemy
checkout per batch; adapters/reserve_store.py): eight prepared statements for any batch instead of about
thirteen SQLAlchemy statements compiled per batch size. Deadlocks and serialization failures are retried
(`attempts`), then every request of the batch is answered ABORTED; any other failure fails the batch's
requests alike.

Across processes (replicas) correctness comes from the row locks: two batches touching the same SKUs
queue on the first locked row, and take rows in the same order, so they cannot deadlock.

Channel rules (docs/channel-rules.md, `domain/channel_view.py`) are enforced under the same transaction:
after the stock rows, the batch locks the SKUs' ACTIVE dedicated allocations (only when some level has
dedicated units) and creates-and-locks the (channel, sku) sales counters, so a sales cap holds across
concurrent batches and replicas exactly like stock does.

Units that now wait where receipts are expected change what those receipts promise: after writing everything
else, the batch publishes them (service_layer/promises.py), locking the receipts whose numbers moved last of
all, in id order, like every other writer.

A request that accepts waiting for goods (`accept_awaiting_stock`) keeps on hand the lines that fit there; the
others wait (domain/expected.py `plan_wait`): as presale on an expected receipt at one of the channel's
locations, within the listing's presale_units and the room left there, or as backorder. All of it is planned
before anything changes, so the request still succeeds or fails as a whole.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from onepool_kernel.ids import new_uuid
from onepool_runtime import db, idempotency, metrics, outbox
from onepool_runtime.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    InsufficientStock,
    InvalidArgument,
    NotFound,
    Shortage,
)
from onepool_runtime.infra import is_transaction_conflict
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_inventory.adapters.integration import translate
from onepool_inventory.adapters.receipt_promises import ReceiptPromises
from onepool_inventory.adapters.reserve_store import ReserveStore
from onepool_inventory.domain import sourcing
from onepool_inventory.domain.channel_view import ChannelView
from onepool_inventory.domain.commands import ReserveStock
from onepool_inventory.domain.expected import ExpectedReceipt, Slot, plan_wait
from onepool_inventory.domain.model import (
    ChannelAllocation,
    ChannelPolicy,
    ChannelSales,
    Location,
    Reservation,
    StockLevel,
    Waiting,
)
from onepool_inventory.service_layer import promises

log = logging.getLogger(__name__)

# Keys share run_in_transaction's key space: the operation is the request message's name.
OPERATION = "ReserveRequest"


@dataclass
class ReserveOutcome:
    """Either a new reservation, or the stored answer of an earlier identical request (replay)."""

    reservation: Reservation | None = None
    replay: bytes | None = None


@dataclass
class _Pending:
    cmd: ReserveStock
    future: asyncio.Future[ReserveOutcome]


class ReserveCoalescer:
    def __init__(
        self,
        engine: AsyncEngine,
        encode: Callable[[Reservation], bytes],
        *,
        max_batch: int = 256,
        workers: int = 4,
        attempts: int = 3,
    ) -> None:
        self._engine = engine
        self._attempts = attempts
        self._encode = encode
        self._max_batch = max_batch
        self._queues: list[asyncio.Queue[_Pending]] = [asyncio.Queue() for _ in range(max(1, workers))]
        self.batches = 0
        self.largest_batch = 0

    async def submit(self, cmd: ReserveStock) -> ReserveOutcome:
        future: asyncio.Future[ReserveOutcome] = asyncio.get_running_loop().create_future()
        shard = zlib.crc32(min(line.sku for line in cmd.lines).encode()) % len(self._queues)
        await self._queues[shard].put(_Pending(cmd, future))
        return await future

    async def run(self) -> None:
        await asyncio.gather(*(self._work(q) for q in self._queues))

    async def _work(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            live = [p for p in batch if not p.future.done()]  # callers that gave up are skipped
            if live:
                await self._process(live)

    async def _process(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        outcomes: list[ReserveOutcome | BaseException]
        try:
            outcomes = await self._transaction(batch)
        except Conflict as exc:
            outcomes = [exc] * len(batch)
        except Exception as exc:
            log.exception("reserve batch failed")
            outcomes = [exc] * len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    async def _transaction(self, batch: list[_Pending]) -> list[ReserveOutcome | BaseException]:
        """The batch in one transaction; deadlocks and serialization failures are retried, then ABORTED."""
        for attempt in range(1, self._attempts + 1):
            try:
                async with db.pooled_transaction(self._engine) as conn:
                    store = ReserveStore(conn)
                    outcomes = await self._reserve_all(store, batch)
                    wrote = await outbox.add_events_on(conn, "inventory", store.events)
                if wrote:
                    outbox.wake(self._engine)
                return outcomes
            except Exception as exc:
                if not is_transaction_conflict(exc):
                    raise
                if attempt == self._attempts:
                    raise Conflict("concurrent update conflict; retry the request") from exc
                log.info("retrying reserve batch after transient database conflict (attempt %d)", attempt)
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    async def _reserve_all(self, store: ReserveStore, batch: list[_Pending]) -> list[ReserveOutcome | BaseException]:
        outcomes: list[ReserveOutcome | BaseException | None] = [None] * len(batch)
        first_of_key: dict[str, int] = {}
        for i, p in enumerate(batch):
            key = idempotency.stored_key(OPERATION, p.cmd.request_id)
            if key in first_of_key:
                j = first_of_key[key]
                if batch[j].cmd.fingerprint != p.cmd.fingerprint:
                    outcomes[i] = InvalidArgument("request_id", "already used for a different request")
            else:
                first_of_key[key] = i

        # 1. Claim the idempotency keys; an earlier request's stored answer is replayed.
        claims = await idempotency.claim_many_on(
            store.conn, OPERATION, {key: batch[i].cmd.fingerprint for key, i in first_of_key.items()}
        )
        for key, i in first_of_key.items():
            claim = claims.get(key)
            if claim is None or claim.owned:
                continue
            if claim.fingerprint != batch[i].cmd.fingerprint:
                outcomes[i] = InvalidArgument("request_id", "already used for a different request")
            else:
                outcomes[i] = ReserveOutcome(replay=claim.answer)

        live = {key: i for key, i in first_of_key.items() if outcomes[i] is None}
        if live:
            await self._reserve_live(store, batch, list(live.values()), outcomes)

        # 2. Failed requests store nothing: a retry of a refused request is evaluated afresh.
        await idempotency.settle_on(
            store.conn,
            {
                key: self._encode(outcome.reservation)
                for key, i in live.items()
                if isinstance((outcome := outcomes[i]), ReserveOutcome) and outcome.reservation is not None
            },
            [key for key, i in live.items() if isinstance(outcomes[i], BaseException)],
        )
        # 3. In-batch duplicates get exactly what the first of their key got.
        for i, p in enumerate(batch):
            if outcomes[i] is None:
                outcomes[i] = outcomes[first_of_key[idempotency.stored_key(OPERATION, p.cmd.request_id)]]
        return [o for o in outcomes if o is not None]

    async def _reserve_live(
        self,
        store: ReserveStore,
        batch: list[_Pending],
        live: list[int],
        outcomes: list[ReserveOutcome | BaseException | None],
    ) -> None:
        channel_ids = {batch[i].cmd.channel_id for i in live if batch[i].cmd.channel_id}
        found = await store.policies(channel_ids)
        policies: dict[str, ChannelPolicy | None] = {c: found.get(c) for c in sorted(channel_ids)}
        skus = {line.sku for i in live for line in batch[i].cmd.lines}
        named = {line.location_id for i in live for line in batch[i].cmd.lines if line.location_id}
        named.update(batch[i].cmd.hint.pickup_location_id for i in live if batch[i].cmd.hint.pickup_location_id)
        # Only these locations can take part: sourcing uses a location only where it holds the SKU, or where a
        # request names it.
        levels, every = await store.lock_skus(skus, named)
        locations = [loc for loc in every if loc.active]
        # Channel rules, locked after the stock rows (see adapters/channel_rules.py for the order).
        dedicated: list[ChannelAllocation] = []
        if any(level.dedicated for level in levels.values()):
            dedicated = await store.lock_allocations(skus)
        sales = await store.lock_sales(
            (batch[i].cmd.channel_id, line.sku)
            for i in live
            if policies.get(batch[i].cmd.channel_id) is not None
            for line in batch[i].cmd.lines
        )
        waiting_skus = {line.sku for i in live if batch[i].cmd.accept_awaiting_stock for line in batch[i].cmd.lines}
        slots: dict[tuple[str, str], list[Slot]] = {}
        if any(level.expected for (sku, _), level in levels.items() if sku in waiting_skus):
            slots = await store.slots(waiting_skus)
        moment = datetime.now(UTC)
        created: list[Reservation] = []
        for n, i in enumerate(live):
            cmd = batch[i].cmd
            try:
                # Arrival order within the batch is reservation order (waiting lines are first come, first served).
                at = moment + timedelta(microseconds=n)
                reservation = self._reserve_one(cmd, policies, locations, levels, dedicated, sales, slots, at)
            except DomainError as exc:
                outcomes[i] = exc
                metrics.reservations.add(1, {"outcome": "rejected", "reason": type(exc).__name__})
                continue
            created.append(reservation)
            outcomes[i] = ReserveOutcome(reservation=reservation)
            metrics.reservations.add(1, {"outcome": "accepted"})
        changed = await store.write(levels.values(), created)
        rules = await store.write_rules(dedicated, sales.values())
        # Units now waiting on expected receipts change what those receipts promise: published last, their rows
        # locked after everything else (service_layer/promises.py). Where nothing is expected nothing moves.
        receipts = await promises.publish(
            ReceiptPromises(store.conn), [lvl for lvl in levels.values() if lvl.expected], moment
        )
        # Events in the unit of work's order: the levels (locked first), then the reservations, the channel
        # rules' allocations and counters, and the receipts.
        aggregates: list[StockLevel | Reservation | ChannelAllocation | ChannelSales | ExpectedReceipt] = [
            *changed,
            *created,
            *rules,
            *receipts,
        ]
        store.events = [m for agg in aggregates for e in agg.events for m in translate(e)]

    def _reserve_one(
        self,
        cmd: ReserveStock,
        policies: dict[str, ChannelPolicy | None],
        locations: list[Location],
        levels: dict[tuple[str, str], StockLevel],
        dedicated: list[ChannelAllocation],
        sales: dict[tuple[str, str], ChannelSales],
        slots: dict[tuple[str, str], list[Slot]],
        moment: datetime,
    ) -> Reservation:
        policy = policies.get(cmd.channel_id) if cmd.channel_id else None
        if cmd.channel_id and policy is None:
            raise NotFound("channel", cmd.channel_id)
        if policy is not None and not policy.active:
            raise FailedPrecondition(
                "CHANNEL_INACTIVE", f"channel {cmd.channel_id} is not active", {"channel_id": cmd.channel_id}
            )
        skus = {line.sku for line in cmd.lines}
        view = ChannelView.of(
            policy,
            locations,
            levels,
            dedicated,
            {sku: sales[(cmd.channel_id, sku)] for sku in skus} if policy is not None else None,
        )
        available = {
            (loc.id, sku): view.available_at(sku, loc.id)
            for loc in view.locations
            for sku in skus
            if (sku, loc.id) in levels
        }

        def plan(lines: list[sourcing.Line]) -> list[sourcing.Planned]:
            return sourcing.plan(
                lines,
                cmd.hint,
                view.locations,
                sourcing.Stock(available, view.dedicated(skus)),
                caps=view.caps(skus),
                shared_caps=view.shared_caps(skus),
                preferred_owner=cmd.hint.deliver_from_dealer_id or (policy.owner_dealer_id if policy else ""),
                fill_own_first=policy.fill_own_first if policy else False,
            )

        waits: dict[tuple[str, str], Waiting] = {}
        try:
            planned = plan(list(cmd.lines))
        except InsufficientStock:
            if not (cmd.accept_awaiting_stock and policy is not None):
                raise
            planned, waits = self._plan_waiting(cmd, plan, view, levels, slots)
        by_id = {loc.id: loc for loc in view.locations}
        merged: dict[tuple[str, str], int] = {}
        totals: dict[str, int] = {}
        for p in planned:
            merged[(p.sku, p.location_id)] = merged.get((p.sku, p.location_id), 0) + p.quantity
            totals[p.sku] = totals.get(p.sku, 0) + p.quantity
        view.check(merged)
        waiting_totals: dict[str, int] = {}
        for (_, sku), w in waits.items():
            waiting_totals[sku] = waiting_totals.get(sku, 0) + w.quantity
        self._check_caps(view, totals, waiting_totals)
        for (loc_id, sku), w in waits.items():  # refused before the batch's shared levels change
            level = levels[(sku, loc_id)]
            level.make_room("awaiting", level.awaiting, w.quantity)
        for (sku, loc_id), quantity in merged.items():
            view.take(sku, loc_id, quantity, moment)
        for (loc_id, sku), w in waits.items():
            levels[(sku, loc_id)].wait_for(w.quantity)
            view.sales[sku].hold(w.quantity)
            if w.presale_units:
                view.sales[sku].presale_hold(w.presale_units)
            merged[(sku, loc_id)] = merged.get((sku, loc_id), 0) + w.quantity
        return Reservation.hold(
            new_uuid(),
            order_id=cmd.order_id,
            channel_id=cmd.channel_id,
            held=[(by_id[loc_id], sku, q) for (sku, loc_id), q in merged.items()],
            ttl_seconds=cmd.ttl_seconds,
            now=moment,
            waiting=waits,
        )

    @staticmethod
    def _plan_waiting(
        cmd: ReserveStock,
        plan: Callable[[list[sourcing.Line]], list[sourcing.Planned]],
        view: ChannelView,
        levels: dict[tuple[str, str], StockLevel],
        slots: dict[tuple[str, str], list[Slot]],
    ) -> tuple[list[sourcing.Planned], dict[tuple[str, str], Waiting]]:
        """Not everything is on hand: the lines that fit stay on hand (in order), the others wait. Nothing
        changes here; refused (InsufficientStock) when a line can wait nowhere. Without allow_split the order
        is one parcel: every line waits where the lines on hand are (or, none being on hand, all at one
        location), else FAILED_PRECONDITION SPLIT_REQUIRED, as sourcing refuses a split on hand."""
        fit: list[sourcing.Line] = []
        rest: list[sourcing.Line] = []
        for line in cmd.lines:
            try:
                plan([*fit, line])
                fit.append(line)
            except InsufficientStock:
                rest.append(line)
        on_hand = plan(fit) if fit else []
        wait = partial(_place_waiting, rest, on_hand, cmd.hint, view, levels, slots)
        planned, waits = wait(None)
        places = {p.location_id for p in planned} | {loc for loc, _ in waits}
        if cmd.hint.allow_split or len(places) == 1:
            return planned, waits
        # The soonest place for each line splits the parcel: the first place all lines can share, if any.
        shared = [loc.id for loc in _wait_candidates(rest[0], cmd.hint, view)]
        for line in rest[1:]:
            allowed = {loc.id for loc in _wait_candidates(line, cmd.hint, view)}
            shared = [i for i in shared if i in allowed]
        for home in [p.location_id for p in on_hand[:1]] or shared:
            try:
                return wait(home)
            except InsufficientStock:
                continue
        raise FailedPrecondition(
            "SPLIT_REQUIRED",
            f"the lines can wait for goods only at {len(places)} locations together and allow_split is false",
            {"locations_needed": str(len(places))},
        )

    @staticmethod
    def _check_caps(view: ChannelView, on_hand: dict[str, int], waiting: dict[str, int]) -> None:
        """Waiting units count against the sales cap like reserved ones: both together must fit."""
        shortages = []
        for sku, quantity in waiting.items():
            left = view.sales[sku].cap_left
            if left is not None and on_hand.get(sku, 0) + quantity > left:
                shortages.append(Shortage(sku, on_hand.get(sku, 0) + quantity, max(0, left)))
        if shortages:
            raise InsufficientStock(shortages)


def _place_waiting(
    rest: list[sourcing.Line],
    on_hand: list[sourcing.Planned],
    hint: sourcing.Hint,
    view: ChannelView,
    levels: dict[tuple[str, str], StockLevel],
    slots: dict[tuple[str, str], list[Slot]],
    home: str | None,
) -> tuple[list[sourcing.Planned], dict[tuple[str, str], Waiting]]:
    """Where each of the `rest` lines waits (and what it takes from the shelf there), after the lines `on_hand`;
    at `home` only when given. Refused (InsufficientStock) when a line can wait nowhere."""
    planned = list(on_hand)
    used: dict[tuple[str, str], int] = {}
    for p in planned:
        used[(p.sku, p.location_id)] = used.get((p.sku, p.location_id), 0) + p.quantity
        used[(p.sku, "")] = used.get((p.sku, ""), 0) + p.quantity
    waits: dict[tuple[str, str], Waiting] = {}
    joining: dict[tuple[str, str], int] = {}
    presale_used: dict[str, int] = {}
    shortages = []
    for line in rest:
        sales = view.sales[line.sku]
        candidates = [loc for loc in _wait_candidates(line, hint, view) if home is None or loc.id == home]
        # What the line may still take on hand (within the channel's sellable): the rest waits behind it.
        sellable_left = view.bounds(line.sku).sellable - used.get((line.sku, ""), 0)
        on_shelves = {key: q for key, q in used.items() if key[1]}
        shelf = {
            (line.sku, loc.id): min(sellable_left, view.room_at(line.sku, loc.id, on_shelves)) for loc in candidates
        }
        where = plan_wait(
            line.sku,
            line.quantity,
            candidates,
            levels,
            slots,
            presale_left=sales.presale_left - presale_used.get(line.sku, 0),
            allow_backorder=sales.allow_backorder,
            joining=joining,
            shelf=shelf,
        )
        if where is None:
            left = sales.presale_left - presale_used.get(line.sku, 0)
            could = _could_have(line.sku, candidates, levels, shelf, left)
            shortages.append(Shortage(line.sku, line.quantity, could))
            continue
        location_id, taken, wait = where
        if taken:
            planned.append(sourcing.Planned(line.sku, location_id, taken))
            used[(line.sku, location_id)] = used.get((line.sku, location_id), 0) + taken
            used[(line.sku, "")] = used.get((line.sku, ""), 0) + taken
        key = (location_id, line.sku)
        joining[(line.sku, location_id)] = joining.get((line.sku, location_id), 0) + wait.quantity
        presale_used[line.sku] = presale_used.get(line.sku, 0) + wait.presale_units
        waits[key] = wait.joined(waits[key]) if key in waits else wait
    if shortages:
        raise InsufficientStock(shortages)
    return planned, waits


def _wait_candidates(line: sourcing.Line, hint: sourcing.Hint, view: ChannelView) -> list[Location]:
    """Where a line may wait for goods: its pinned location, the pickup store, or the channel's shipping
    locations in sourcing's order of preference."""
    allowed = {loc.id: loc for loc in view.locations}
    if line.location_id:
        return [allowed[line.location_id]] if line.location_id in allowed else []
    if hint.mode is sourcing.SourcingMode.PICKUP:
        return [allowed[hint.pickup_location_id]] if hint.pickup_location_id in allowed else []
    owner = view.policy.owner_dealer_id if view.policy else ""
    return sorted((loc for loc in view.locations if loc.ships), key=lambda loc: sourcing.rank(loc, hint, owner))


def _could_have(
    sku: str,
    candidates: list[Location],
    levels: dict[tuple[str, str], StockLevel],
    shelf: dict[tuple[str, str], int],
    presale_left: int,
) -> int:
    """For the refusal's detail: the most units of `sku` the line could have in one place now, what it may take
    from the shelf there and what may wait there as presale (a listing without presale: the shelf alone, as
    a reservation that does not wait is told)."""
    best = 0
    for loc in candidates:
        level = levels.get((sku, loc.id))
        if level is None:
            continue
        wait = max(0, min(presale_left, level.presale_room))
        best = max(best, max(0, shelf.get((sku, loc.id), 0)) + wait)
    return best
