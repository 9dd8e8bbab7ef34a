"""`make fuzz`: hostile requests generated from the proto descriptors for every RPC of the five services.

Against all five real services (real PostgreSQL and NATS), with an admin token so calls reach the handlers
and a dealer token for a share: no reply may be INTERNAL, UNKNOWN, UNAVAILABLE or past the 10 s deadline,
every service still reports SERVING at the end, and calls that were refused change nothing stored.

The last is checked in chunks, RPC by RPC, on a stack whose background timers are parked (so stored state
moves only through calls and the events they cause): snapshot every table of every service schema (count
and a digest of the rows), send a chunk concurrently, snapshot again. If every call in the chunk was
refused, the snapshots must be equal; the next chunk's first snapshot must also equal the last one (nothing
moved between chunks). A chunk with a successful call is not judged; the state is let settle instead.

The full run (`make fuzz`, marker `slow`) sends ONEPOOL_FUZZ_PER_RPC requests per RPC (default 2,000); the
smoke run in `make test` a few dozen. ONEPOOL_FUZZ_SEED repeats a run; ONEPOOL_FUZZ_RPCS narrows it to some RPCs.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from pathlib import Path
from typing import Any

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.testing.services import SESSION_TOKEN_TTL, metadata

from tests.fuzz.campaign import Rpc, Tally, bombard, generator, is_failure, send
from tests.fuzz.generate import methods
from tests.support.hostile import PARKED_TIMERS, Snapshots, diff, seed, uid

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("ONEPOOL_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
# A changed state counts as settled once unchanged this long: longer than a consumer's redelivery/fetch lag
# under load, or a late event from an earlier, successful chunk is blamed on the next one.
SETTLE_SECONDS = 2.0
# ...or once unchanged this long with nothing in flight (no unpublished outbox row, no message a consumer has not
# been given or has not acknowledged): what the long wait allowed for is then seen to be over.
SETTLE_IDLE_SECONDS = 0.6
# ONEPOOL_FUZZ_RPCS narrows a run to the RPCs whose full name contains one of its comma-separated parts
# (e.g. "InventoryService." or "FulfillReservation,CommitReservation"), to chase one finding with more requests.
ONLY = [part for part in os.environ.get("ONEPOOL_FUZZ_RPCS", "").split(",") if part]
RPCS = [
    rpc
    for rpc in (Rpc(service, descriptor, method) for service, descriptor, method in methods())
    if not ONLY or any(part in rpc.name for part in ONLY)
]


@pytest.fixture(scope="module")
async def world(stack, admin, database_url):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement", **PARKED_TIMERS)
    seeded = await seed(stack, admin)
    snapshots = Snapshots(database_url, stack.nats_url)
    yield stack, seeded, known_ids(seeded), snapshots
    await snapshots.close()


def known_ids(w: Any) -> dict[str, list[str]]:
    """Values that exist in the seeded world, by request field name, so calls get past lookups."""
    locations = [w.warehouse, w.shop, w.dealer_location]
    examples = re.findall(
        r"<!-- example: \w+ -->\n```json\n(.*?)\n```", (ROOT / "docs" / "import-formats.md").read_text("utf-8"), re.S
    )
    payloads = [*examples]
    for example in examples:
        payloads += [re.sub(r"\d+", big, example) for big in ("9" * 30, "-1", "0", "1e400")]
        payloads += [example.replace('"', "'"), example[: len(example) // 2], example.replace(":", ": null,", 1)]
    return {
        "channel_id": [w.channel_id],
        "location_id": locations,
        "from_location_id": locations,
        "to_location_id": locations,
        "pickup_location_id": locations,
        "return_location_id": locations,
        "sku": w.skus,
        "channel_sku": [f"c-{s}" for s in w.skus],
        "dealer_id": [w.dealer_id],
        "owner_dealer_id": [w.dealer_id],
        "order_id": [w.order.id],
        "reservation_id": [w.reservation_id],
        "fulfillment_id": [f.id for f in w.order.fulfillments],
        "customer_id": [w.order.customer_id],
        "id": [w.replenishment_id, w.dealer_id, w.channel_id, w.order.id, w.warehouse],
        "party": ["brand", "clearing", f"dealer:{w.dealer_id}", f"channel:{w.channel_id}", "dealer:nobody"],
        "currency": ["CNY", "USD", "JPY"],
        "format": ["shopify", "taobao", "generic"],
        "request_id": ["fuzz-req-1", "fuzz-req-2", uid("fuzz")],
        "code": ["fuzz-web", uid("code").lower()],
        "payment_ref": ["PAY-fuzz-1", uid("PAY")],
        "external_order_id": ["EXT-fuzz-1", uid("EXT")],
        "region": ["CN-SH", "CN-BJ"],
        "phone": ["13800000000", "+8613800138000"],
        "email": ["li.lei@example.com"],
        "tracking_no": ["SF123456789CN"],
        "reason": ["damaged in transit", "count correction"],
        "reference": ["PO-1"],
        "payload": payloads,
    }


_SHOW: list[Any] = []


@pytest.fixture(autouse=True)
def _terminal(pytestconfig):  # type: ignore[no-untyped-def]
    """The tables are the suite's output: written to the terminal whatever pytest's capture setting."""
    plugins = pytestconfig.pluginmanager
    _SHOW[:] = [plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")]


def _print(text: str) -> None:
    reporter, capture = _SHOW
    with capture.global_and_fixture_disabled():
        for line in text.splitlines():
            reporter.write_line(line)


def _report(tally: Tally, title: str) -> None:
    _print(tally.table(f"{title} (seed {SEED})"))
    for (rpc, code), details in sorted(tally.notes.items()):
        _print(f"  note {rpc} {code}: {details!r}")
    for finding in tally.findings:
        _print(f"  FAIL {finding.rpc} {finding.code}: {finding.details!r}\n       request: {finding.request}")


# A refusal whose recording the contract documents: a shipment inventory refused stays PLACED with the refusal
# as its status_reason (dealers.proto, Replenishment.status_reason). Only that table may move, nothing else.
RECORDED_REFUSALS: dict[str, set[str]] = {"DealerService.ShipReplenishment": {"dealers.replenishments"}}


async def refused_calls_change_nothing(world: Any, per_rpc: int, chunk: int) -> tuple[int, int]:
    """Returns (refused calls proven to change nothing, calls in chunks whose change was not attributable)."""
    stack, _, known, snapshots = world
    admin = metadata("admin", ttl=SESSION_TOKEN_TTL)
    channels = {name: stack.channel(name) for name in {rpc.service for rpc in RPCS}}
    checked = skipped = 0
    last = await snapshots.quiesce(still=SETTLE_SECONDS, brief=SETTLE_IDLE_SECONDS)
    for rpc in RPCS:
        gen = generator(SEED + 1, rpc, known, huge=False)
        for _ in range(0, per_rpc, chunk):
            requests = [gen.request(rpc.method) for _ in range(chunk)]
            before = await snapshots.take()
            assert diff(last, before) == {}, f"state moved between chunks, before {rpc.name}"
            outcomes = await asyncio.gather(*(send(channels[rpc.service], rpc, r, admin) for r in requests))
            assert not [o for o in outcomes if is_failure(o)], (rpc.name, [o for o in outcomes if is_failure(o)])
            after = await snapshots.take()
            refused = sum(o.code != "OK" for o in outcomes)
            if refused == len(outcomes):
                changed = set(diff(before, after)) - RECORDED_REFUSALS.get(rpc.name, set())
                assert not changed, f"{rpc.name}: refused calls changed stored state: {sorted(changed)}"
            if after == before:
                # Nothing a call of this chunk wrote (rows, outbox events) exists, so nothing can follow either.
                checked += refused
                last = after
            else:
                skipped += len(outcomes)
                last = await snapshots.quiesce(still=SETTLE_SECONDS, brief=SETTLE_IDLE_SECONDS)
    return checked, skipped


async def healthy(stack: Any) -> dict[str, str]:
    answers = {}
    for name in ("inventory", "orders", "channels", "dealers", "settlement"):
        reply = await health_pb2_grpc.HealthStub(stack.channel(name)).Check(health_pb2.HealthCheckRequest(), timeout=5)
        answers[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return answers


async def campaign(world: Any, *, per_rpc: int, dealer_per_rpc: int, refusal_per_rpc: int, chunk: int) -> None:
    stack, seeded, known, _ = world
    loop = asyncio.get_running_loop()
    start = loop.time()
    checked, skipped = await refused_calls_change_nothing(world, refusal_per_rpc, chunk)
    _print(
        f"\nrefused calls checked for no change: {checked} in {loop.time() - start:.0f} s"
        f" (chunks with a success, not judged: {skipped} calls)"
    )
    assert checked >= len(RPCS)  # not vacuous: most chunks are all refused

    channels = {name: stack.channel(name) for name in {rpc.service for rpc in RPCS}}
    start = loop.time()
    # Tokens outlive the run: a full run takes longer than the default ten minutes, and calls with an expired
    # token stop at auth (UNAUTHENTICATED, counted as refused), so the rest of the run tested nothing.
    tally = await bombard(channels, RPCS, per_rpc, SEED, known, metadata("admin", ttl=SESSION_TOKEN_TTL))
    _report(tally, f"admin token: {per_rpc} requests per RPC in {loop.time() - start:.0f} s")
    dealer = metadata("dealer", dealer_id=seeded.dealer_id, ttl=SESSION_TOKEN_TTL)
    dealer_tally = await bombard(channels, RPCS, dealer_per_rpc, SEED + 2, known, dealer)
    _report(dealer_tally, f"dealer token: {dealer_per_rpc} requests per RPC")

    assert len(tally.codes) == len(RPCS)
    for name, t in (("admin", tally), ("dealer", dealer_tally)):
        unauthenticated = sum(c["UNAUTHENTICATED"] for c in t.codes.values())
        assert unauthenticated == 0, f"{unauthenticated} {name}-token calls never reached a handler"
    assert tally.failures == 0 and dealer_tally.failures == 0, [
        f.__dict__ for f in tally.findings + dealer_tally.findings
    ]
    assert max(tally.slowest.values()) < 10.0
    answers = await healthy(stack)
    assert answers == dict.fromkeys(answers, "SERVING"), answers  # all five, whichever RPCs were called


async def test_fuzz_smoke(world) -> None:  # type: ignore[no-untyped-def]
    await campaign(world, per_rpc=30, dealer_per_rpc=5, refusal_per_rpc=10, chunk=10)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_fuzz_full(world) -> None:  # type: ignore[no-untyped-def]
    per_rpc = int(os.environ.get("ONEPOOL_FUZZ_PER_RPC", "2000"))
    await campaign(world, per_rpc=per_rpc, dealer_per_rpc=max(1, per_rpc // 10), refusal_per_rpc=200, chunk=50)
