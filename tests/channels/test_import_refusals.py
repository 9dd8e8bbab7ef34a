"""ImportOrder refuses what it cannot import, naming what is wrong, and places nothing.

A refusal of what the channel's listings say asks orders one thing, whether the order was placed before (a
re-import after the listings changed is answered with that order): each refusal here checks that orders
holds no order of the channel afterwards. The module's last test stops orders.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, field_violations, metadata

pytestmark = pytest.mark.asyncio
DOC = Path(__file__).resolve().parents[2] / "docs" / "import-formats.md"
EXAMPLES = dict(re.findall(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", DOC.read_text("utf-8"), flags=re.S))
LISTED = {"shopify": ["SHOP-TEE-RED-M"], "taobao": ["TB-TEE-RED-M"], "generic": ["GEN-TEE-RED-M"]}


@pytest.fixture(scope="module", autouse=True)
async def orders(started):  # type: ignore[no-untyped-def]
    await started.start("orders")
    return started.stub("orders")


async def refusal(
    world, channel_id: str, format_: str, payload: str, meta=None, *, orders=None
) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ImportOrder(
            cpb.ImportOrderRequest(channel_id=channel_id, format=format_, payload=payload), metadata=meta or world.admin
        )
    if orders is not None:
        try:
            placed = await orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id), metadata=world.admin)
            assert list(placed.orders) == []
        except grpc.aio.AioRpcError as unknown:
            assert unknown.code() == grpc.StatusCode.NOT_FOUND  # orders has not even heard of the channel
    return exc.value


@pytest.fixture
async def market(world):  # type: ignore[no-untyped-def]
    """A channel listing only the first channel SKU of each example: every example has one unknown SKU."""
    channel = await world.channel("market")
    for channel_skus in LISTED.values():
        for channel_sku in channel_skus:
            await world.listing(channel.id, world.name("SKU"), channel_sku=channel_sku)
    return channel


@pytest.mark.parametrize(
    ("format_", "path"),
    [
        ("shopify", "payload.line_items[1].sku"),
        ("taobao", "payload.trade_fullinfo_get_response.trade.orders.order[1].outer_iid"),
        ("generic", "payload.lines[1].channel_sku"),
    ],
)
async def test_an_unknown_channel_sku_is_refused_naming_its_line(
    world, orders, market, format_: str, path: str
) -> None:  # type: ignore[no-untyped-def]
    error = await refusal(world, market.id, format_, EXAMPLES[format_], orders=orders)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == [path]
    assert "unknown channel SKU" in (error.details() or "")


async def test_a_missing_field_is_refused_naming_it(world, orders, market) -> None:  # type: ignore[no-untyped-def]
    shopify = json.loads(EXAMPLES["shopify"])
    del shopify["currency"]
    del shopify["line_items"][0]["price"]
    error = await refusal(world, market.id, "shopify", json.dumps(shopify), orders=orders)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"payload.currency", "payload.line_items[0].price"}

    generic = json.loads(EXAMPLES["generic"])
    del generic["external_order_id"]
    error = await refusal(world, market.id, "generic", json.dumps(generic), orders=orders)
    assert field_violations(error) == ["payload.external_order_id"]


@pytest.mark.parametrize("format_", ["shopify", "taobao", "generic"])
async def test_broken_json_is_refused(world, orders, market, format_: str) -> None:  # type: ignore[no-untyped-def]
    error = await refusal(world, market.id, format_, EXAMPLES[format_][:-7], orders=orders)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["payload"]
    assert "not valid JSON" in (error.details() or "")


async def test_bad_requests_are_refused_before_reading_the_payload(world, orders, market) -> None:  # type: ignore[no-untyped-def]
    error = await refusal(world, market.id, "amazon", "", orders=orders)
    assert set(field_violations(error)) == {"format", "payload"}
    error = await refusal(world, "no-such-channel", "generic", EXAMPLES["generic"], orders=orders)
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_paused_channel_takes_no_orders(world, orders, market) -> None:  # type: ignore[no-untyped-def]
    await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=market.id, status=cpb.CHANNEL_STATUS_PAUSED), update_mask={"paths": ["status"]}
        ),
        metadata=world.admin,
    )
    generic = json.loads(EXAMPLES["generic"])
    generic["lines"] = generic["lines"][:1]  # only listed SKUs
    error = await refusal(
        world, market.id, "generic", json.dumps(generic), metadata("channel", channel_id=market.id), orders=orders
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(error)
    assert info is not None and info.reason == "CHANNEL_PAUSED"


async def test_lines_beyond_what_one_order_may_total_are_refused_not_internal(world, orders) -> None:  # type: ignore[no-untyped-def]
    # A dear listing sold at 0 by the marketplace: the discount (listing price less the price paid, times the
    # quantity) passes int64 unless the lines are bounded first. Duplicate lines are merged, so they add up.
    channel = await world.channel("dear")
    await world.listing(channel.id, world.name("SKU"), channel_sku="DEAR", price=10**13)
    line = {"channel_sku": "DEAR", "quantity": 1_000_000, "unit_price_minor": 0}
    for lines in ([line], [{**line, "quantity": 60}] * 2):
        payload = {"external_order_id": world.name("MP"), "currency": "CNY", "lines": lines}
        error = await refusal(world, channel.id, "generic", json.dumps(payload), orders=orders)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert field_violations(error) == [f"payload.lines[{len(lines) - 1}].channel_sku"], error.details()
        assert "more than one order may total" in (error.details() or "")


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        ("lines[0].channel_sku", "GEN-TEE\u0000RED-M"),
        ("lines[0].channel_sku", "GEN-TEE-RED-M\ud800"),
        ("customer.name", "Li\u0000Lei"),
        ("customer.name", "Li\ud800"),
        ("fulfillment.address", "Road\u0000 1"),
        ("fulfillment.address", "Road \udc00"),
        ("external_order_id", "E\u0000X"),
        ("external_order_id", "E\ud800"),
        ("fulfillment.region", "CN\u0001SH"),
    ],
)
async def test_escaped_control_characters_and_lone_surrogates_are_refused_on_their_path(
    world, orders, market, where: str, bad: str
) -> None:  # type: ignore[no-untyped-def]
    """The request's own check reads the raw payload, where a JSON escape (\\u0000, \\ud800) is plain text:
    they reached SQL or the reply's encoding, INTERNAL."""
    generic = json.loads(EXAMPLES["generic"])
    generic["lines"] = generic["lines"][:1]  # only listed SKUs
    del generic["total"]
    *parents, key = where.replace("[0]", ".0").split(".")
    node = generic
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[key] = bad
    error = await refusal(world, market.id, "generic", json.dumps(generic), orders=orders)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert field_violations(error) == [f"payload.{where}"]


@pytest.mark.parametrize("amount", ['"1e999999"', '"1E+1000000"', '"1e-99999999"', "1e999999"])
async def test_an_amount_beyond_decimal_range_is_refused_on_its_path(world, orders, market, amount: str) -> None:  # type: ignore[no-untyped-def]
    """decimal.Overflow escaped as INTERNAL; 1e-99999999 was read as 0."""
    generic = json.loads(EXAMPLES["generic"])
    generic["lines"] = generic["lines"][:1]
    del generic["total"]
    generic["lines"][0]["unit_price"] = "AMOUNT"
    payload = json.dumps(generic).replace('"AMOUNT"', amount)  # a string or a bare JSON number
    error = await refusal(world, market.id, "generic", payload, orders=orders)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert field_violations(error) == ["payload.lines[0].unit_price"]


async def test_when_orders_is_unreachable_the_import_is_retryable_not_internal(world, market, started) -> None:  # type: ignore[no-untyped-def]
    await started.stop("orders")  # the module's last test
    generic = json.loads(EXAMPLES["generic"])
    generic["lines"] = generic["lines"][:1]
    del generic["total"]  # the example's total counts the line cut off
    error = await refusal(world, market.id, "generic", json.dumps(generic))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
