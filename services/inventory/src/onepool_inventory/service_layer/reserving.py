"""Reserve, with concurrent calls coalesced into batched transactions.

A hot SKU must not serialise on one row lock per request. Each Reserve call is queued; a worker takes
everything queued (up to `max_batch`), and in ONE transaction: claims the idempotency keys, locks every
stock row of the SKUs involved once (in (sku, location) order), then plans and applies the requests one by
one in arrival order against the in-memory levels, so each request succeeds or fails on its own and never
beyond stock. Then it writes all changed levels, reservations and events in a few statements and commits.
Requests are routed to workers by SKU, so all requests for one SKU keep their arrival order.

Across processes (replicas) correctness comes from the row locks: two batches touching the same SKUs
queue on the first locked row, and take rows in the same order, so they cannot deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from onepool_runtime import metrics
from onepool_runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from onepool_runtime.idempotency import _is_retryable
from onepool_runtime.tables import idempotency_keys
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from onepool_inventory.domain import events, sourcing
from onepool_inventory.domain.commands import ReserveStock
from onepool_inventory.domain.model import (
    Allocation,
    ChannelPolicy,
    Location,
    Reservation,
    ReservationStatus,
    StockLevel,
)
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork

log = logging.getLogger(__name__)

KEY_PREFIX = "ReserveRequest:"


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
        uow_factory: Callable[[], InventoryUnitOfWork],
        encode: Callable[[Reservation], bytes],
        *,
        max_batch: int = 256,
        workers: int = 4,
    ) -> None:
        self._uow_factory = uow_factory
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
        for attempt in range(1, 4):
            try:
                async with self._uow_factory() as uow:
                    outcomes = await self._reserve_all(uow, batch)
                    await uow.commit()
                break
            except DBAPIError as exc:
                if _is_retryable(exc) and attempt < 3:
                    continue
                log.exception("reserve batch failed")
                outcomes = [exc] * len(batch)
                break
            except Exception as exc:
                log.exception("reserve batch failed")
                outcomes = [exc] * len(batch)
                break
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    async def _reserve_all(
        self, uow: InventoryUnitOfWork, batch: list[_Pending]
    ) -> list[ReserveOutcome | BaseException]:
        outcomes: list[ReserveOutcome | BaseException | None] = [None] * len(batch)
        first_of_key: dict[str, int] = {}
        for i, p in enumerate(batch):
            key = KEY_PREFIX + p.cmd.request_id
            if key in first_of_key:
                j = first_of_key[key]
                if batch[j].cmd.fingerprint != p.cmd.fingerprint:
                    outcomes[i] = InvalidArgument("request_id", "already used for a different request")
            else:
                first_of_key[key] = i

        # 1. Claim idempotency keys (sorted, so two batches never wait on each other's keys in a cycle).
        owned = await self._claim_keys(uow, sorted(first_of_key), batch, first_of_key)
        stored = await self._stored_answers(uow, [k for k in first_of_key if k not in owned])
        for key, i in first_of_key.items():
            if key in stored:
                fingerprint, answer = stored[key]
                if fingerprint != batch[i].cmd.fingerprint:
                    outcomes[i] = InvalidArgument("request_id", "already used for a different request")
                else:
                    outcomes[i] = ReserveOutcome(replay=answer)

        live = [i for i in first_of_key.values() if outcomes[i] is None]
        if live:
            await self._reserve_live(uow, batch, live, outcomes)

        # 2. Failed requests store nothing: a retry of a refused request is evaluated afresh.
        failed = [KEY_PREFIX + batch[i].cmd.request_id for i in live if isinstance(outcomes[i], BaseException)]
        if failed:
            await uow.session.execute(delete(idempotency_keys).where(idempotency_keys.c.key.in_(failed)))
        answers = [
            {"b_key": KEY_PREFIX + batch[i].cmd.request_id, "b_response": self._encode(outcome.reservation)}
            for i in live
            if isinstance((outcome := outcomes[i]), ReserveOutcome) and outcome.reservation is not None
        ]
        if answers:
            await uow.session.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == bindparam("b_key"))
                .values(response=bindparam("b_response")),
                answers,
            )
        # 3. In-batch duplicates get exactly what the first of their key got.
        for i, p in enumerate(batch):
            if outcomes[i] is None:
                outcomes[i] = outcomes[first_of_key[KEY_PREFIX + p.cmd.request_id]]
        return [o for o in outcomes if o is not None]

    async def _claim_keys(
        self, uow: InventoryUnitOfWork, keys: list[str], batch: list[_Pending], first_of_key: dict[str, int]
    ) -> set[str]:
        if not keys:
            return set()
        rows = [
            {
                "key": k,
                "operation": "ReserveRequest",
                "fingerprint": batch[first_of_key[k]].cmd.fingerprint,
                "response": b"",
            }
            for k in keys
        ]
        inserted = await uow.session.execute(
            insert(idempotency_keys).values(rows).on_conflict_do_nothing().returning(idempotency_keys.c.key)
        )
        return {r.key for r in inserted.all()}

    async def _stored_answers(self, uow: InventoryUnitOfWork, keys: list[str]) -> dict[str, tuple[str, bytes]]:
        if not keys:
            return {}
        rows = await uow.session.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                idempotency_keys.c.key.in_(keys)
            )
        )
        return {r.key: (r.fingerprint, bytes(r.response)) for r in rows.all()}

    async def _reserve_live(
        self,
        uow: InventoryUnitOfWork,
        batch: list[_Pending],
        live: list[int],
        outcomes: list[ReserveOutcome | BaseException | None],
    ) -> None:
        repo = uow.repo
        channel_ids = {batch[i].cmd.channel_id for i in live if batch[i].cmd.channel_id}
        policies: dict[str, ChannelPolicy | None] = {c: await repo.policy(c) for c in sorted(channel_ids)}
        locations = [loc for loc in await repo.locations() if loc.active]
        skus = {line.sku for i in live for line in batch[i].cmd.lines}
        levels = await repo.lock_levels_for_skus(skus)
        moment = datetime.now(UTC)
        created: list[Reservation] = []
        for i in live:
            cmd = batch[i].cmd
            try:
                reservation = self._reserve_one(cmd, policies, locations, levels, moment)
            except DomainError as exc:
                outcomes[i] = exc
                metrics.reservations.add(1, {"outcome": "rejected", "reason": type(exc).__name__})
                continue
            created.append(reservation)
            outcomes[i] = ReserveOutcome(reservation=reservation)
            metrics.reservations.add(1, {"outcome": "accepted"})
        await repo.add_reservations(created)

    def _reserve_one(
        self,
        cmd: ReserveStock,
        policies: dict[str, ChannelPolicy | None],
        locations: list[Location],
        levels: dict[tuple[str, str], StockLevel],
        moment: datetime,
    ) -> Reservation:
        policy = policies.get(cmd.channel_id) if cmd.channel_id else None
        if cmd.channel_id and policy is None:
            raise NotFound("channel", cmd.channel_id)
        if policy is not None and not policy.active:
            raise FailedPrecondition(
                "CHANNEL_INACTIVE", f"channel {cmd.channel_id} is not active", {"channel_id": cmd.channel_id}
            )
        allowed = [loc for loc in locations if policy is None or policy.allows(loc)]
        skus = {line.sku for line in cmd.lines}
        available = {
            (loc.id, sku): levels[(sku, loc.id)].available for loc in allowed for sku in skus if (sku, loc.id) in levels
        }
        caps = None
        if policy is not None:
            caps = {sku: policy.sellable(sum(v for (loc_id, s), v in available.items() if s == sku)) for sku in skus}
        planned = sourcing.plan(
            cmd.lines,
            cmd.hint,
            allowed,
            sourcing.Stock(available),
            caps=caps,
            preferred_owner=policy.owner_dealer_id if policy else "",
        )
        by_id = {loc.id: loc for loc in allowed}
        merged: dict[tuple[str, str], int] = {}
        for p in planned:
            merged[(p.sku, p.location_id)] = merged.get((p.sku, p.location_id), 0) + p.quantity
        for (sku, loc_id), quantity in merged.items():
            levels[(sku, loc_id)].reserve(quantity)
        reservation = Reservation(
            id=str(uuid.uuid4()),
            order_id=cmd.order_id,
            channel_id=cmd.channel_id,
            status=ReservationStatus.ACTIVE,
            allocations=[
                Allocation(sku, loc_id, q, 0, by_id[loc_id].owner_dealer_id, by_id[loc_id].type)
                for (sku, loc_id), q in sorted(merged.items(), key=lambda kv: (kv[0][1], kv[0][0]))
            ],
            expires_at=moment + timedelta(seconds=cmd.ttl_seconds),
            created_at=moment,
            updated_at=moment,
        )
        reservation.events.append(events.ReservationCreated(reservation))
        return reservation
