"""Use cases that span dealers and another service. None holds a database row lock while it waits on the
network; each is a chain of short transactions and idempotent calls, so it can stop anywhere and be
finished by a retry or by the recovery loop (`recover_once`).

- Registering a dealer: (1) record the dealer, once per request_id; (2) create its DEALER channel in the
  channels service (the request id is derived from the dealer id, so creating twice creates once); (3) record
  the channel id and publish dealers.dealer.registered. A dealer whose channel id is not recorded is
  finished by the recovery loop.
- The channel follows the dealer: a new dealer location, a rename or a status change moves the dealer's
  `revision` on; the saga pushes name, allocation (the brand's warehouses and stores, plus the dealer's own
  locations) and status (PAUSED while suspended) and records the revision it pushed. Pushes for one dealer are
  serialised by an advisory lock, so a later push always carries at least what an earlier one did.
- Shipping a replenishment: (1) record the shipping intent; (2) inventory TransferStock with a request id
  derived from the replenishment id; (3) record SHIPPED with the transfer id. A refusal (not enough stock)
  clears the intent, unless another attempt stamped it since (its transfer may still go out); an unanswered
  request is retried by the recovery loop (the replay's answer names the transfer the first request made,
  and the expected receipt below is made then too). Only that answer records step 3.
- Receiving: inventory ReceiveTransfer (idempotent), then RECEIVED in one transaction with the dealer's
  running totals and dealers.replenishment.received. inventory.transfer.received of the replenishment's own
  transfer (the one step 3 recorded) completes it too; any other transfer citing it is not its own (inventory's
  events name no request id, and anyone may cite a replenishment). One received while step 3 is unanswered
  waits (handlers.OwnTransferNotKnownYet) until the saga or its loop records the answer.
- Presale (docs/presale.md): once shipped, the replenishment is also recorded in inventory as an expected
  receipt at the dealer's location (ExpectReceipt, request id derived from the replenishment id), due
  `transit_seconds` later, so the dealer's own channel (the only one selling from its locations) may presell
  it; the receipt id inventory answers is recorded (`receipt_id`). Making it is best effort: if inventory
  cannot be reached the replenishment still ships; it is then only not preselling (a repeat of
  ShipReplenishment makes it, as long as no receipt id is recorded).
- A repeat after that date has passed: inventory refuses a receipt expected in the past, but answers an
  identical request it already took from its stored answer, so the first date is always asked first. Refused
  for its date, nothing is stored under the request id: the same request id asks again with the date moved on
  by whole days (`REDATE_STEP`) to the first one still ahead (`_redated`), the same date for every repeat that
  day. Refused for its request id, an earlier repeat's re-dated request was taken and its answer lost: the
  earlier days are asked back (replays) until one answers.
- Once received, by ReceiveReplenishment or by inventory's transfer.received event, the receipt must be
  cancelled: the goods came as the transfer (which fills the orders waiting there first), and an open
  receipt would let the channel presell them again. RECEIVED sets the replenishment's `receipt_cancel_due`
  in the same transaction; the cancel is asked at once by ReceiveReplenishment (and by any repeat of it), on
  the event path right after the consumer's commit (`receipt_due`, then `follow_receipts`: a consumer's
  transaction never waits on another service), and by the recovery loop until inventory confirms it
  (cancelled, closed, or no open receipt); only then is the flag cleared.
- The receipt cancelled is the recorded one: others at the location may cite the replenishment too (an
  operator's advance shipping notice) and are not dealers' to cancel. A replenishment with none recorded
  (shipped before migration 0010, or its ExpectReceipt answer lost) falls back to an open receipt there citing
  it and expecting exactly its goods; a location's open receipts are read once for all those due there (0008
  marked every replenishment ever received, most with no receipt left open). The id is not learnt by
  replaying ExpectReceipt: inventory answers a replay from the stored answer only while it keeps the request
  id (30 days); after that, or if the first request never landed, the replay makes a new receipt, offering
  goods already received for presale until it is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from onepool_runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from onepool_runtime.idempotency import run_in_transaction

from onepool_dealers.domain import commands
from onepool_dealers.domain.model import Dealer, Location, Replenishment, StockLine
from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.ports import ChannelsPort, InventoryPort
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork

log = logging.getLogger(__name__)
# A receipt re-dated because its first date passed is due the next whole step after the first date that is
# still this far ahead (inventory refuses dates in the past, with 5 minutes of clock skew).
REDATE_STEP = timedelta(days=1)
REDATE_MARGIN = timedelta(hours=1)


def transfer_request_id(replenishment_id: str) -> str:
    return f"replenishment:{replenishment_id}"


def expectation_request_id(replenishment_id: str) -> str:
    return f"replenishment:{replenishment_id}:expected"


@dataclass
class Sagas:
    uow_factory: Callable[[], DealersUnitOfWork]
    channels: ChannelsPort
    inventory: InventoryPort
    shipping_retry_after_seconds: float = 30.0
    recovery_batch: int = 50
    transit_seconds: int = 3 * 24 * 3600
    # Replenishments whose receipt `follow_receipts` is to cancel next, and what wakes it.
    _receipts_due: set[str] = field(default_factory=set, init=False, repr=False)
    _receipts_woken: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    async def _tx(self, produce):  # type: ignore[no-untyped-def]
        return await run_in_transaction(self.uow_factory, produce)

    async def _read(self, produce):  # type: ignore[no-untyped-def]
        async with self.uow_factory() as uow:
            return await produce(uow)

    # --- dealers and their channel ------------------------------------------------------------------

    async def register_dealer(self, cmd: commands.RegisterDealer) -> Dealer:
        dealer: Dealer = await self._tx(lambda uow: handlers.record_dealer(uow, cmd))
        if dealer.needs_channel_sync:
            try:
                dealer = await self.sync_channel(dealer.id)
            except Unavailable as exc:
                raise Unavailable(
                    f"dealer {dealer.id} is recorded but its sales channel could not be created yet ({exc.message}); "
                    "it will be finished in the background, or retry with the same request_id"
                ) from exc
        return dealer

    async def sync_channel(self, dealer_id: str, *, wait: bool = True) -> Dealer:
        """Create the dealer's channel if it has none, then push what changed since the last push."""
        async with self.uow_factory() as uow:
            if not await uow.repo.lock_channel_sync(dealer_id, wait=wait):
                return await handlers.get_dealer(uow, dealer_id)  # another replica is on it
            dealer = await handlers.get_dealer(uow, dealer_id)
            if not dealer.needs_channel_sync:
                return dealer
            pushed = dealer.revision
            channel_id = dealer.channel_id or await self.channels.create_dealer_channel(dealer)
            # The channel is created as the dealer was registered; anything since is pushed on top.
            if pushed > 0:
                await self.channels.update_dealer_channel(channel_id, dealer)
            dealer = await handlers.record_channel(uow, dealer_id, channel_id, pushed)
            await uow.commit()
            return dealer

    async def _sync_quietly(self, dealer_id: str) -> None:
        try:
            await self.sync_channel(dealer_id)
        except DomainError as exc:
            log.warning("dealer %s: channel not updated yet (%s); the recovery loop will retry", dealer_id, exc)

    async def update_dealer(self, cmd: commands.UpdateDealer) -> Dealer:
        dealer: Dealer = await self._tx(lambda uow: handlers.update_dealer(uow, cmd))
        if dealer.needs_channel_sync:
            await self._sync_quietly(dealer.id)
        return dealer

    async def add_dealer_location(self, cmd: commands.AddDealerLocation) -> Location:
        """Inventory first (it owns the pool and refuses a location owned by someone else), then our
        copy, then the dealer channel's allocation. Every step repeats safely, so a failed call is retried
        whole by the caller."""
        await self._read(lambda uow: handlers.dealer_for_new_location(uow, cmd.dealer_id, cmd.location.id))
        stored = await self.inventory.upsert_location(cmd.location)
        await self._tx(lambda uow: handlers.record_dealer_location(uow, stored))
        await self._sync_quietly(cmd.dealer_id)
        return stored

    # --- replenishments ------------------------------------------------------------------------------

    async def learn_location(self, location_id: str) -> None:
        """Placement checks locations against dealers' copy of the pool, fed by inventory's events. A brand
        warehouse created a moment ago may not have arrived yet: ask inventory once."""
        if await self._read(lambda uow: handlers.known_location(uow, location_id)) is not None:
            return
        found = await self.inventory.find_brand_warehouse(location_id)
        if found is not None:
            await self._tx(lambda uow: handlers.record_dealer_location(uow, found))

    async def ship(self, replenishment_id: str) -> Replenishment:
        replenishment, must_call = await self._tx(lambda uow: handlers.request_shipping(uow, replenishment_id))
        if not must_call:
            # Shipped already: the expectation may have failed after the transfer went out (no receipt recorded).
            # Asking again is a replay when it did not (the same request id and content).
            if not replenishment.receipt_id:
                await self._expect(replenishment)
            return replenishment  # type: ignore[no-any-return]
        try:
            transfer_id = await self.inventory.transfer(
                request_id=transfer_request_id(replenishment.id),
                from_location_id=replenishment.from_location_id,
                to_location_id=replenishment.to_location_id,
                lines=[StockLine(ln.sku, ln.quantity) for ln in replenishment.lines],
                reference=replenishment.id,
            )
        except (FailedPrecondition, NotFound, InvalidArgument) as exc:
            # Inventory said no (not enough stock, a disabled location): it stays PLACED, shippable later.
            reason, attempt = exc.message, replenishment.shipping_requested_at
            await self._tx(lambda uow: handlers.shipping_refused(uow, replenishment_id, attempt, reason))
            raise
        shipped: Replenishment = await self._tx(lambda uow: handlers.mark_shipped(uow, replenishment_id, transfer_id))
        await self._expect(shipped)
        return shipped

    async def _expect(self, replenishment: Replenishment) -> None:
        """The replenishment's goods as expected stock at the dealer's location (the same receipt every time:
        the request id and every field, the expected time too, follow from the shipped replenishment)."""
        shipped_at = replenishment.shipped_at or replenishment.updated_at or datetime.now(UTC)
        ask = partial(
            self.inventory.expect_receipt,
            request_id=expectation_request_id(replenishment.id),
            location_id=replenishment.to_location_id,
            lines=[StockLine(ln.sku, ln.quantity) for ln in replenishment.lines],
            reference=replenishment.id,
        )
        try:
            receipt_id = await _first_or_redated(ask, shipped_at + timedelta(seconds=self.transit_seconds))
        except DomainError as exc:
            log.warning(
                "replenishment %s is not expected stock at %s: %s", replenishment.id, replenishment.to_location_id, exc
            )
            return
        current: Replenishment = await self._tx(
            lambda uow: handlers.receipt_expected(uow, replenishment.id, receipt_id)
        )
        # Received while the receipt was being made: a cancel that ran before it did not know the receipt.
        if current.receipt_cancel_due:
            await self._cancel_receipt(current)

    async def receive(self, replenishment_id: str) -> Replenishment:
        replenishment: Replenishment = await self._read(lambda uow: handlers.get_replenishment(uow, replenishment_id))
        if not replenishment.needs_receiving():
            if replenishment.receipt_cancel_due:  # received before, its receipt not yet cancelled: finish it
                await self._cancel_receipt(replenishment)
            return replenishment
        await self.inventory.receive_transfer(replenishment.transfer_id)
        received: Replenishment = await self._tx(lambda uow: handlers.mark_received(uow, replenishment_id))
        await self._cancel_receipt(received)
        return received

    async def _cancel_receipt(self, replenishment: Replenishment) -> None:
        await self._cancel_receipts([replenishment])

    async def _cancel_receipts(self, replenishments: list[Replenishment]) -> None:
        """Cancel the replenishments' expected receipts and clear `receipt_cancel_due` once inventory confirms.
        A receipt already cancelled, fully received (RECEIPT_CLOSED) or gone is as good as cancelled. Anything
        else leaves the flag for the recovery loop. Each recorded receipt is cancelled by its id; the open
        receipts of a location are read once, for those with none recorded (module doc)."""
        unknown: dict[str, list[Replenishment]] = {}
        for replenishment in replenishments:
            if replenishment.receipt_id:
                await self._cancel_one_receipt(replenishment, replenishment.receipt_id)
            else:
                unknown.setdefault(replenishment.to_location_id, []).append(replenishment)
        for location_id, due in unknown.items():
            try:
                receipts = await self.inventory.open_receipts_at(location_id)
            except NotFound:
                receipts = []
            except DomainError as exc:
                log.warning("the expected receipts at %s stay open for now: %s", location_id, exc)
                continue
            for replenishment in due:
                found = (r.id for r in receipts if replenishment.may_be_own_receipt(r.reference, r.lines))
                await self._cancel_one_receipt(replenishment, next(found, ""))

    async def _cancel_one_receipt(self, replenishment: Replenishment, receipt_id: str) -> None:
        if receipt_id:
            try:
                await self.inventory.cancel_expected_receipt(receipt_id, "received as the replenishment's transfer")
            except DomainError as exc:
                gone = isinstance(exc, NotFound) or getattr(exc, "reason", "") == "RECEIPT_CLOSED"
                if not gone:
                    log.warning("replenishment %s: its expected receipt stays open for now: %s", replenishment.id, exc)
                    return
        await self._tx(lambda uow: handlers.receipt_cancelled(uow, replenishment.id))

    def receipt_due(self, replenishment_id: str) -> None:
        """A replenishment was received other than by ReceiveReplenishment (inventory's event): its receipt is
        to be cancelled now, by `follow_receipts`. Called after the commit that marked it; never blocks."""
        self._receipts_due.add(replenishment_id)
        self._receipts_woken.set()

    async def follow_receipts(self) -> None:
        """Background task: cancel the receipts `receipt_due` was told of as soon as it is told. What fails (or
        is lost with the process) keeps its `receipt_cancel_due`, which the recovery loop retries."""
        while True:
            await self._receipts_woken.wait()
            self._receipts_woken.clear()
            ids, self._receipts_due = sorted(self._receipts_due), set()
            await self._cancel_receipts(await self._read(partial(handlers.receipts_due, replenishment_ids=ids)))

    # --- recovery ------------------------------------------------------------------------------------

    async def recover_once(self) -> int:
        """Finish what was left half-done: dealers whose channel is missing or behind, shipments whose
        transfer request got no answer, and received replenishments whose expected receipt is not yet
        confirmed cancelled. Returns how many items were looked at."""
        dealer_ids = await self._read(lambda uow: handlers.dealers_needing_channel_sync(uow, self.recovery_batch))
        for dealer_id in dealer_ids:
            try:
                await self.sync_channel(dealer_id, wait=False)
            except DomainError as exc:
                log.warning("recovery: dealer %s channel still not in sync: %s", dealer_id, exc)
        stalled = await self._read(
            lambda uow: handlers.stalled_shipments(uow, self.shipping_retry_after_seconds, self.recovery_batch)
        )
        for replenishment_id in stalled:
            try:
                await self.ship(replenishment_id)
            except DomainError as exc:
                log.warning("recovery: replenishment %s not shipped: %s", replenishment_id, exc)
        received = await self._read(lambda uow: handlers.receipts_to_cancel(uow, self.recovery_batch))
        await self._cancel_receipts(received)
        return len(dealer_ids) + len(stalled) + len(received)


def _refused_for(exc: InvalidArgument, field_name: str) -> bool:
    return any(v.field == field_name for v in exc.violations)


def _redated(due: datetime, now: datetime) -> list[datetime]:
    """`due` moved on by whole steps: every such date up to the first still REDATE_MARGIN ahead of `now`."""
    dates = [due + REDATE_STEP]
    while dates[-1] < now + REDATE_MARGIN:
        dates.append(dates[-1] + REDATE_STEP)
    return dates


async def _first_or_redated(ask: Callable[..., Awaitable[str]], due: datetime) -> str:
    """The receipt id of ExpectReceipt asked with `due`, or re-dated once that has passed (module doc)."""
    try:
        return await ask(expected_at=due)
    except InvalidArgument as exc:
        # Its date passed and nothing is stored, or a re-dated request is stored under its request id.
        if not (_refused_for(exc, "expected_at") or _refused_for(exc, "request_id")):
            raise
        taken = exc
    # The latest date first: new, or the replay of a repeat the same day; the earlier (passed) only replay.
    for expected_at in reversed(_redated(due, datetime.now(UTC))):
        try:
            return await ask(expected_at=expected_at)
        except InvalidArgument as exc:
            if not _refused_for(exc, "request_id"):
                raise
            taken = exc
    raise taken
