"""A Hypothesis state machine over random channel rules, stock and orders, against the real inventory service
(gRPC, PostgreSQL, NATS): channels with random exposure ratios get random sales caps (as channels' listing
events), dedicated stock is set aside, released and ended, orders are reserved, paid, shipped and cancelled
in random orders. After every step:

- no channel ever holds and sells more than its sales cap allowed when each order was reserved, and
  inventory's count is the model's (active, committed and fulfilled units count; released ones do not);
- dedicated stock is taken only by its own channel (no other channel's order ever lowers it);
- no stock is lost: each level's dedicated units are exactly its active allocations' remaining units,
  a released or ended allocation gives every unit it had left back to the shared pool, and the ledger
  invariants hold (check_invariants).

Replays must draw the same way (Hypothesis raises FlakyStrategyDefinition otherwise): ids are drawn by
index from lists kept in insertion order (the ids themselves are random), and nothing the next draws depend
on moves by a clock: an allocation with an end is made to end by its own rule (`reach_end`, which moves
ends_at into the past and waits for the service's sweeper), never in between steps.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from sqlalchemy import text

from .test_channel_rules import publish_listing
from .test_channel_view import publish_channel

pytestmark = pytest.mark.asyncio

CHANNELS = ["X", "Y", "Z"]
LOCS = ["W1", "W2"]
SKU = "P"


def build_machine(loop: asyncio.AbstractEventLoop, inventory: Any, admin: Any, host: Any, check: Any) -> type:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    async def call(method: str, request: Any) -> Any:
        return await getattr(inventory, method)(request, metadata=admin)

    def rpc(method: str, request: Any) -> tuple[Any, grpc.aio.AioRpcError | None]:
        try:
            return run(call(method, request)), None
        except grpc.aio.AioRpcError as exc:
            assert exc.code() != grpc.StatusCode.INTERNAL, exc.details()
            return None, exc

    def view(channel_id: str = "") -> pb.Availability:
        reply, err = rpc("GetAvailability", pb.GetAvailabilityRequest(skus=[machine_sku[0]], channel_id=channel_id))
        assert err is None, err
        return reply.items[0]

    machine_sku = [""]

    class ChannelRulesMachine(RuleBasedStateMachine):
        @initialize(
            shares=st.lists(st.sampled_from([0, 3000, 5000, 10000]), min_size=3, max_size=3),
            stock=st.lists(st.integers(5, 30), min_size=2, max_size=2),
        )
        def lay_out(self, shares: list[int], stock: list[int]) -> None:
            tag = uuid.uuid4().hex[:8]
            machine_sku[0] = self.sku = f"{SKU}-{tag}"
            self.loc = {name: f"{name}-{tag}" for name in LOCS}
            self.channel = {name: f"{name}-{tag}" for name in CHANNELS}
            for (name, location_id), quantity in zip(self.loc.items(), stock, strict=True):
                rpc(
                    "UpsertLocation",
                    pb.UpsertLocationRequest(
                        location=pb.Location(id=location_id, name=name, type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)
                    ),
                )
                _, err = rpc(
                    "ReceiveStock",
                    pb.ReceiveStockRequest(
                        request_id=uuid.uuid4().hex,
                        location_id=location_id,
                        lines=[pb.StockLine(sku=self.sku, quantity=quantity)],
                    ),
                )
                assert err is None
            js = host.infra.js
            for channel_id, share in zip(self.channel.values(), shares, strict=True):
                run(
                    publish_channel(
                        js,
                        channels_pb2.Channel(
                            id=channel_id, version=1, allocation=channels_pb2.AllocationPolicy(max_share_bps=share)
                        ),
                    )
                )
            for channel_id in self.channel.values():
                for _ in range(200):
                    _, err = rpc("GetAvailability", pb.GetAvailabilityRequest(skus=[self.sku], channel_id=channel_id))
                    if err is None:
                        break
                    run(asyncio.sleep(0.05))
            self.cap = dict.fromkeys(CHANNELS, 0)
            self.cap_version = 0
            self.counted = dict.fromkeys(CHANNELS, 0)
            # Dicts keep insertion order, which is what draws index into (see the module's docstring).
            self.reservations: dict[str, dict[str, Any]] = {}  # id -> channel, quantity, status
            self.allocations: dict[str, bool] = {}  # id of each ACTIVE one -> whether it has an end

        def _allocations(self) -> dict[str, pb.ChannelAllocation]:
            reply, err = rpc(
                "ListChannelAllocations", pb.ListChannelAllocationsRequest(sku=self.sku, include_closed=True)
            )
            assert err is None
            return {a.id: a for a in reply.allocations}

        @rule(channel=st.sampled_from(CHANNELS), cap=st.integers(0, 25))
        def set_cap(self, channel: str, cap: int) -> None:
            self.cap_version += 1
            run(publish_listing(host.infra.js, self.channel[channel], self.sku, cap, self.cap_version))
            for _ in range(200):
                if view(self.channel[channel]).sales_cap_units == cap:
                    break
                run(asyncio.sleep(0.05))
            assert view(self.channel[channel]).sales_cap_units == cap
            self.cap[channel] = cap

        @rule(
            channel=st.sampled_from(CHANNELS), loc=st.sampled_from(LOCS), quantity=st.integers(1, 8), ends=st.booleans()
        )
        def dedicate(self, channel: str, loc: str, quantity: int, ends: bool) -> None:
            request = pb.CreateChannelAllocationRequest(
                request_id=uuid.uuid4().hex,
                channel_id=self.channel[channel],
                location_id=self.loc[loc],
                sku=self.sku,
                quantity=quantity,
            )
            if ends:  # far enough ahead never to end by itself; `reach_end` ends it
                moment = Timestamp()
                moment.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
                request.ends_at.CopyFrom(moment)
            shared = next((b.available for b in view().by_location if b.location_id == self.loc[loc]), 0)
            reply, err = rpc("CreateChannelAllocation", request)
            # Only the shared pool can be set aside, and all of it can.
            assert (err is None) == (quantity <= shared), (err, quantity, shared)
            if err is None:
                self.allocations[reply.allocation.id] = ends

        @precondition(lambda self: self.allocations)
        @rule(data=st.data())
        def release_allocation(self, data: Any) -> None:
            allocation_id = data.draw(st.sampled_from(list(self.allocations)))
            before = view().available
            reply, err = rpc(
                "ReleaseChannelAllocation", pb.ReleaseChannelAllocationRequest(allocation_id=allocation_id)
            )
            assert err is None
            del self.allocations[allocation_id]
            assert reply.allocation.status == pb.CHANNEL_ALLOCATION_STATUS_RELEASED, reply.allocation
            # Everything it had left went back to the pool.
            assert view().available == before + reply.allocation.returned

        @precondition(lambda self: any(self.allocations.values()))
        @rule(data=st.data())
        def reach_end(self, data: Any) -> None:
            """An allocation's end comes: the service's sweeper gives what is left back to the pool."""
            allocation_id = data.draw(st.sampled_from([a for a, ends in self.allocations.items() if ends]))
            before = view().available

            async def end_now() -> None:
                async with host.infra.engine.begin() as conn:
                    await conn.execute(
                        text("UPDATE channel_allocations SET ends_at = now() - interval '1 second' WHERE id = :id"),
                        {"id": allocation_id},
                    )

            run(end_now())
            for _ in range(400):
                allocation = self._allocations()[allocation_id]
                if allocation.status != pb.CHANNEL_ALLOCATION_STATUS_ACTIVE:
                    break
                run(asyncio.sleep(0.05))
            assert allocation.status == pb.CHANNEL_ALLOCATION_STATUS_ENDED, allocation
            del self.allocations[allocation_id]
            assert view().available == before + allocation.returned

        @rule(channel=st.sampled_from([*CHANNELS, ""]), quantity=st.integers(1, 6), split=st.booleans())
        def reserve(self, channel: str, quantity: int, split: bool) -> None:
            channel_id = self.channel[channel] if channel else ""
            before = self._allocations()
            reply, err = rpc(
                "Reserve",
                pb.ReserveRequest(
                    request_id=uuid.uuid4().hex,
                    order_id=uuid.uuid4().hex,
                    channel_id=channel_id,
                    lines=[pb.ReserveLine(sku=self.sku, quantity=quantity)],
                    hint=pb.SourcingHint(allow_split=split),
                ),
            )
            after = self._allocations()
            for allocation_id, allocation in after.items():
                if allocation.channel_id != channel_id:
                    # Another channel's dedicated stock: never taken by this order.
                    assert allocation.remaining >= before[allocation_id].remaining or allocation.status != (
                        pb.CHANNEL_ALLOCATION_STATUS_ACTIVE
                    ), (allocation, before[allocation_id])
            if err is not None:
                assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err.details()
                return
            if channel:
                cap = self.cap[channel]
                assert cap == 0 or self.counted[channel] + quantity <= cap, (channel, self.counted, cap, quantity)
                self.counted[channel] += quantity
            self.reservations[reply.reservation.id] = {"channel": channel, "quantity": quantity, "status": "ACTIVE"}

        def _pick(self, data: Any, *statuses: str) -> str:
            return data.draw(st.sampled_from([r for r, v in self.reservations.items() if v["status"] in statuses]))

        @precondition(lambda self: any(v["status"] in ("ACTIVE", "COMMITTED") for v in self.reservations.values()))
        @rule(data=st.data())
        def cancel(self, data: Any) -> None:
            rid = self._pick(data, "ACTIVE", "COMMITTED")
            _, err = rpc("ReleaseReservation", pb.ReleaseReservationRequest(reservation_id=rid, reason="cancelled"))
            assert err is None
            res = self.reservations[rid]
            res["status"] = "RELEASED"
            if res["channel"]:
                self.counted[res["channel"]] -= res["quantity"]

        @precondition(lambda self: any(v["status"] == "ACTIVE" for v in self.reservations.values()))
        @rule(data=st.data())
        def pay_and_ship(self, data: Any) -> None:
            rid = self._pick(data, "ACTIVE")
            reply, err = rpc("CommitReservation", pb.CommitReservationRequest(reservation_id=rid))
            assert err is None
            for location_id in {a.location_id for a in reply.reservation.allocations}:
                _, err = rpc(
                    "FulfillReservation", pb.FulfillReservationRequest(reservation_id=rid, location_id=location_id)
                )
                assert err is None
            self.reservations[rid]["status"] = "FULFILLED"  # still counts against the cap

        @invariant()
        def rules_hold(self) -> None:
            if not hasattr(self, "sku"):
                return
            for name, channel_id in self.channel.items():
                assert view(channel_id).sales_counted == self.counted[name], (name, self.counted)

            async def dedicated_matches_allocations() -> None:
                async with host.infra.engine.connect() as conn:
                    rows = (
                        await conn.execute(
                            text(
                                "SELECT l.location_id, l.dedicated, coalesce(sum(a.remaining), 0) AS remaining "
                                "FROM stock_levels l LEFT JOIN channel_allocations a ON a.sku = l.sku "
                                "AND a.location_id = l.location_id AND a.status = 'ACTIVE' WHERE l.sku = :sku "
                                "GROUP BY l.location_id, l.dedicated"
                            ),
                            {"sku": self.sku},
                        )
                    ).all()
                for row in rows:
                    assert row.dedicated == row.remaining, row

            run(dedicated_matches_allocations())
            run(check())

    return ChannelRulesMachine


async def test_random_channel_rules_stock_and_orders_never_break_a_rule(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # thousands of steps, each a few RPCs: far beyond the suite's 300 s default
async def test_long_random_channel_rules_stock_and_orders_never_break_a_rule(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """`make test-long`: the same machine, more and longer runs."""
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=100,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)
