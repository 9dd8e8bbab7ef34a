"""A Hypothesis state machine drives receive/reserve/commit/release/fulfill/adjust/transfer/expire in random
orders against the real service and PostgreSQL, and after every step checks the invariants (0 <= reserved <=
on_hand; on_hand == sum of the ledger; reserved == sum of open reservations) and that the service agrees with
a simple model of what each request should have done."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from functools import partial
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_runtime.idempotency import run_in_transaction
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

LOCS = ["W1", "W2", "S1"]
SKUS = ["A", "B"]


def build_machine(loop: asyncio.AbstractEventLoop, inventory: Any, admin: Any, host: Any, check: Any) -> type:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    async def call(method: str, request: Any) -> Any:
        return await getattr(inventory, method)(request, metadata=admin)

    def rpc(method: str, request: Any) -> tuple[Any, grpc.StatusCode | None]:
        try:
            return run(call(method, request)), None
        except grpc.aio.AioRpcError as exc:
            assert exc.code() != grpc.StatusCode.INTERNAL, exc.details()
            return None, exc.code()

    class InventoryMachine(RuleBasedStateMachine):
        @initialize()
        def lay_out(self) -> None:
            tag = uuid.uuid4().hex[:8]
            self.loc = {name: f"{name}-{tag}" for name in LOCS}
            self.sku = {name: f"{name}-{tag}" for name in SKUS}
            for name, location_id in self.loc.items():
                store = name.startswith("S")
                rpc(
                    "UpsertLocation",
                    pb.UpsertLocationRequest(
                        location=pb.Location(
                            id=location_id,
                            name=name,
                            type=pb.LOCATION_TYPE_STORE if store else pb.LOCATION_TYPE_WAREHOUSE,
                            ships=True,
                            pickup=store,
                            priority=len(name),
                        )
                    ),
                )
            self.on_hand = {(s, lo): 0 for s in SKUS for lo in LOCS}
            self.reservations: dict[str, dict[str, Any]] = {}
            self.transfers: dict[str, tuple[str, str, int]] = {}

        # --- model helpers ---
        def reserved(self, sku: str, loc: str) -> int:
            return sum(
                r["open"].get((sku, loc), 0)
                for r in self.reservations.values()
                if r["status"] in ("ACTIVE", "COMMITTED")
            )

        def available(self, sku: str, loc: str) -> int:
            return self.on_hand[(sku, loc)] - self.reserved(sku, loc)

        def key_back(self, allocation: Any) -> tuple[str, str]:
            sku = next(k for k, v in self.sku.items() if v == allocation.sku)
            loc = next(k for k, v in self.loc.items() if v == allocation.location_id)
            return sku, loc

        def free(self, rid: str) -> None:
            self.reservations[rid]["open"] = {}

        # --- rules ---
        @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(LOCS), qty=st.integers(1, 5))
        def receive(self, sku: str, loc: str, qty: int) -> None:
            _, err = rpc(
                "ReceiveStock",
                pb.ReceiveStockRequest(
                    request_id=uuid.uuid4().hex,
                    location_id=self.loc[loc],
                    lines=[pb.StockLine(sku=self.sku[sku], quantity=qty)],
                ),
            )
            assert err is None
            self.on_hand[(sku, loc)] += qty

        @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(LOCS), delta=st.integers(-4, 3).filter(bool))
        def adjust(self, sku: str, loc: str, delta: int) -> None:
            ok = self.on_hand[(sku, loc)] + delta >= self.reserved(sku, loc)
            _, err = rpc(
                "AdjustStock",
                pb.AdjustStockRequest(
                    request_id=uuid.uuid4().hex,
                    location_id=self.loc[loc],
                    sku=self.sku[sku],
                    delta=delta,
                    reason="count",
                ),
            )
            assert (err is None) == ok, (err, self.on_hand[(sku, loc)], delta, self.reserved(sku, loc))
            if ok:
                self.on_hand[(sku, loc)] += delta

        @rule(sku=st.sampled_from(SKUS), qty=st.integers(1, 6), split=st.booleans())
        def reserve(self, sku: str, qty: int, split: bool) -> None:
            per_loc = [self.available(sku, lo) for lo in LOCS]
            expect_ok = sum(per_loc) >= qty and (split or max(per_loc) >= qty)
            reply, err = rpc(
                "Reserve",
                pb.ReserveRequest(
                    request_id=uuid.uuid4().hex,
                    lines=[pb.ReserveLine(sku=self.sku[sku], quantity=qty)],
                    ttl_seconds=3600,
                    hint=pb.SourcingHint(allow_split=split),
                ),
            )
            assert (err is None) == expect_ok, (err, per_loc, qty, split)
            if err is not None:
                assert err == grpc.StatusCode.FAILED_PRECONDITION
                return
            opened: dict[tuple[str, str], int] = {}
            for a in reply.reservation.allocations:
                key = self.key_back(a)
                assert a.quantity <= self.available(*key)  # never beyond what was available
                opened[key] = opened.get(key, 0) + a.quantity
            assert sum(opened.values()) == qty
            self.reservations[reply.reservation.id] = {"status": "ACTIVE", "open": opened}

        def _pick(self, data: Any, *statuses: str) -> str | None:
            # Insertion order, not the ids' order: ids are random, and Hypothesis must draw the same way on replay.
            ids = [r for r, v in self.reservations.items() if not statuses or v["status"] in statuses]
            return data.draw(st.sampled_from(ids)) if ids else None

        @precondition(lambda self: self.reservations)
        @rule(data=st.data())
        def commit(self, data: Any) -> None:
            rid = self._pick(data)
            status = self.reservations[rid]["status"]
            _, err = rpc("CommitReservation", pb.CommitReservationRequest(reservation_id=rid))
            assert (err is None) == (status in ("ACTIVE", "COMMITTED")), (status, err)
            if err is None:
                self.reservations[rid]["status"] = "COMMITTED"

        @precondition(lambda self: self.reservations)
        @rule(data=st.data())
        def release(self, data: Any) -> None:
            rid = self._pick(data)
            status = self.reservations[rid]["status"]
            _, err = rpc("ReleaseReservation", pb.ReleaseReservationRequest(reservation_id=rid, reason="cancel"))
            assert (err is None) == (status != "FULFILLED"), (status, err)
            if status in ("ACTIVE", "COMMITTED"):
                self.reservations[rid]["status"] = "RELEASED"
                self.free(rid)

        @precondition(lambda self: any(v["status"] == "COMMITTED" for v in self.reservations.values()))
        @rule(data=st.data())
        def fulfill(self, data: Any) -> None:
            rid = self._pick(data, "COMMITTED")
            res = self.reservations[rid]
            loc = data.draw(st.sampled_from(sorted({lo for (_, lo), q in res["open"].items() if q > 0})))
            reply, err = rpc(
                "FulfillReservation", pb.FulfillReservationRequest(reservation_id=rid, location_id=self.loc[loc])
            )
            assert err is None, err
            for (sku, lo), q in list(res["open"].items()):
                if lo == loc:
                    self.on_hand[(sku, lo)] -= q
                    res["open"][(sku, lo)] = 0
            if not any(res["open"].values()):
                res["status"] = "FULFILLED"
            assert reply.reservation.status == getattr(pb, f"RESERVATION_STATUS_{res['status']}")

        @rule(sku=st.sampled_from(SKUS), src=st.sampled_from(LOCS), dst=st.sampled_from(LOCS), qty=st.integers(1, 4))
        def transfer(self, sku: str, src: str, dst: str, qty: int) -> None:
            if src == dst:
                return
            ok = self.available(sku, src) >= qty
            reply, err = rpc(
                "TransferStock",
                pb.TransferStockRequest(
                    request_id=uuid.uuid4().hex,
                    from_location_id=self.loc[src],
                    to_location_id=self.loc[dst],
                    lines=[pb.StockLine(sku=self.sku[sku], quantity=qty)],
                ),
            )
            assert (err is None) == ok, (err, self.available(sku, src), qty)
            if ok:
                self.on_hand[(sku, src)] -= qty
                self.transfers[reply.transfer.id] = (sku, dst, qty)

        @precondition(lambda self: self.transfers)
        @rule(data=st.data())
        def receive_transfer(self, data: Any) -> None:
            tid = data.draw(st.sampled_from(list(self.transfers)))
            sku, dst, qty = self.transfers.pop(tid)
            _, err = rpc("ReceiveTransfer", pb.ReceiveTransferRequest(transfer_id=tid))
            assert err is None
            self.on_hand[(sku, dst)] += qty

        @precondition(lambda self: any(v["status"] == "ACTIVE" for v in self.reservations.values()))
        @rule(data=st.data())
        def expire(self, data: Any) -> None:
            rid = self._pick(data, "ACTIVE")

            async def force() -> None:
                async with host.infra.engine.begin() as conn:
                    await conn.execute(
                        text("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = :id"),
                        {"id": rid},
                    )
                uow = partial(InventoryUnitOfWork, host.infra.sessions)
                await run_in_transaction(uow, lambda u: handlers.expire_reservations(u, 100))

            run(force())
            reply, _ = rpc("GetReservation", pb.GetReservationRequest(reservation_id=rid))
            # The service's own sweeper may have taken the row first (the pass above skips locked rows): then it
            # is expired by that sweeper's transaction, a moment later.
            for _ in range(100):
                if reply.reservation.status != pb.RESERVATION_STATUS_ACTIVE:
                    break
                run(asyncio.sleep(0.05))
                reply, _ = rpc("GetReservation", pb.GetReservationRequest(reservation_id=rid))
            assert reply.reservation.status == pb.RESERVATION_STATUS_EXPIRED
            self.reservations[rid]["status"] = "EXPIRED"
            self.free(rid)

        @invariant()
        def ledger_and_model_agree(self) -> None:
            if not hasattr(self, "loc"):
                return
            levels = run(check())
            for (sku, loc), on_hand in self.on_hand.items():
                db = levels.get((self.sku[sku], self.loc[loc]), (0, 0))
                assert db == (on_hand, self.reserved(sku, loc)), ((sku, loc), db, on_hand, self.reserved(sku, loc))

    return InventoryMachine


async def test_random_operation_sequences_keep_every_invariant(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # thousands of steps, each a few RPCs: far beyond the suite's 300 s default
async def test_long_random_operation_sequences_keep_every_invariant(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """`make test-long`: the same machine, ten times the examples and longer runs."""
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=200,
        stateful_step_count=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)
