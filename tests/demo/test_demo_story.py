"""The demo's story on the real stack (five services, PostgreSQL, NATS): every number `onepool demo` prints.

The same library as `onepool demo` (onepool_cli.demo) seeds the sample brand under a fresh run id and runs the
brief's ten flows; this test asserts every order's state, total and source, the stock per location before and
after, each channel's sellable numbers, and every party's statement, then checks that the printed story shows
exactly those numbers. Seeding again under another run id (running the demo twice) leaves the first alone.

Where the numbers come from (prices in fen: tee 9900, cap 4900; wholesale tee 6000, GOLD pays 80%):
- stock: the seed (WH-EAST 40 tees 20 caps, WH-NORTH 30/10, SHOP-SH 5/0, SHOP-BJ 3/2, dealer shop 6/0), less
  what shipped (WH-NORTH 2 tees + 1 cap, dealer shop 1 + 2 tees, SHOP-SH 1 tee, WH-EAST 1 cap + 2 tees),
  plus the return (1 tee at SHOP-SH) and the replenishment (10 tees WH-EAST -> dealer shop); released
  reservations (expired, cancelled) give their units back.
- sellable: web and the dealer's channel sell every location (the dealer's own first), the POS the brand's
  four; the marketplace 50% of the two warehouses, its tees capped at 10 (2 sold: 8 left).
- statements: clearing paid 93,900 of sales and got 4,900 (cancel) + 9,900 (return) back; the marketplace
  keeps 5% of 19,800; the dealer 70% of its 19,800 sale (13,860) plus a 5% fulfillment fee on the 9,900 web
  order its shop shipped (495) and the GOLD price of the tee it gave up for it (4,800, an ownership move),
  less 48,000 wholesale; the brand the rest. They sum to zero."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from onepool_cli.demo.report import print_story, yuan
from onepool_cli.demo.story import Level, Statement, Story, run_story
from onepool_cli.demo.world import Clients, new_run_id, seed
from rich.console import Console


@pytest.fixture(scope="module")
async def clients(stack, admin):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement")
    return Clients(*(stack.stub(n) for n in ("orders", "inventory", "channels", "dealers", "settlement")), admin)


@pytest.fixture(scope="module")
async def story(clients) -> Story:  # type: ignore[no-untyped-def]
    started = datetime.now(UTC)
    brand = await seed(clients, new_run_id())
    return await run_story(clients, brand, started)


def _levels(rows: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]]) -> dict[tuple[str, str], Level]:
    return {(loc, sku): Level(*n) for loc, (tee, cap) in rows.items() for sku, n in (("TEE", tee), ("CAP", cap))}


async def test_every_order_ends_where_its_flow_says(story: Story) -> None:
    told = [(f.number, o.label, o.lines, o.total_minor, o.status, o.locations) for f in story.flows for o in f.orders]
    assert told == [
        (1, "web order, Beijing", "2 x TEE, 1 x CAP", 24700, "COMPLETED", ("WH-NORTH",)),
        (1, "web order, Hangzhou", "1 x TEE", 9900, "SHIPPED", ("DEALER-SHOP",)),
        (2, "pickup at the Nanjing Road shop", "1 x TEE", 9900, "COMPLETED", ("SHOP-SH",)),
        (3, "shop POS sells a cap it does not stock", "1 x CAP", 4900, "SHIPPED", ("WH-EAST",)),
        (4, "dealer's own channel", "2 x TEE", 19800, "SHIPPED", ("DEALER-SHOP",)),
        (5, "Tmall order (imported twice)", "2 x TEE", 19800, "SHIPPED", ("WH-EAST",)),
        (6, "web order never paid (1 s to pay)", "1 x TEE", 9900, "CANCELLED", ("WH-EAST",)),
        (7, "paid, then cancelled", "1 x CAP", 4900, "CANCELLED", ("WH-EAST",)),
        (7, "Beijing order, one tee returned in Shanghai", "2 x TEE, 1 x CAP", 24700, "COMPLETED", ("WH-NORTH",)),
    ]
    facts = {f.number: f.facts for f in story.flows}
    assert facts[2] == ["after payment the order is READY_FOR_PICKUP; the shop hands it over"]
    assert facts[6] == ["cancelled: payment not received in time"]
    assert facts[7][0] == "refunded 4900 of 4900 paid; the cap is back"
    assert facts[7][1] == "the Beijing customer returns 1 tee at the Nanjing Road shop: refund 9900"
    assert facts[8] == ["10 tees at the GOLD price 4800 each = 48000: PLACED -> SHIPPED -> RECEIVED"]
    assert facts[9] == ["7 parties' statements for the run sum to 0; the ledger sums to 0"]


async def test_stock_per_location_before_and_after(story: Story) -> None:
    assert story.stock_before == _levels(
        {
            "WH-EAST": ((40, 0, 40), (20, 0, 20)),
            "WH-NORTH": ((30, 0, 30), (10, 0, 10)),
            "SHOP-SH": ((5, 0, 5), (0, 0, 0)),
            "SHOP-BJ": ((3, 0, 3), (2, 0, 2)),
            "DEALER-SHOP": ((6, 0, 6), (0, 0, 0)),
        }
    )
    assert story.stock_after == _levels(
        {
            "WH-EAST": ((28, 0, 28), (19, 0, 19)),
            "WH-NORTH": ((28, 0, 28), (9, 0, 9)),
            "SHOP-SH": ((5, 0, 5), (0, 0, 0)),
            "SHOP-BJ": ((3, 0, 3), (2, 0, 2)),
            "DEALER-SHOP": ((13, 0, 13), (0, 0, 0)),
        }
    )


async def test_each_channels_sellable_numbers_before_and_after(story: Story) -> None:
    assert story.sellable_before == {
        ("dealer", "TEE"): 84, ("dealer", "CAP"): 32,
        ("web", "TEE"): 84, ("web", "CAP"): 32,
        ("marketplace", "TEE"): 10, ("marketplace", "CAP"): 15,
        ("pos", "TEE"): 78, ("pos", "CAP"): 32,
    }  # fmt: skip
    assert story.sellable_after == {
        ("dealer", "TEE"): 77, ("dealer", "CAP"): 30,
        ("web", "TEE"): 77, ("web", "CAP"): 30,
        ("marketplace", "TEE"): 8, ("marketplace", "CAP"): 14,
        ("pos", "TEE"): 64, ("pos", "CAP"): 30,
    }  # fmt: skip


async def test_every_partys_statement_and_they_sum_to_zero(story: Story) -> None:
    dealer = f"dealer {story.brand.dealer_name}"
    assert story.statements == {
        "brand": Statement(0, 106955, 106955, 12),
        dealer: Statement(0, -28845, -28845, 4),
        "channel dealer": Statement(0, 0, 0, 0),
        "channel web": Statement(0, 0, 0, 0),
        "channel marketplace": Statement(0, 990, 990, 1),
        "channel pos": Statement(0, 0, 0, 0),
        "clearing (customers' money)": Statement(0, -79100, -79100, 9),
    }
    assert story.statements_sum_minor == 0
    assert (story.ledger_sum_minor, story.orders_settled, story.discrepancies) == (0, 7, 0)


def _rows(text: str) -> list[list[str]]:
    """The printed tables' rows, as their cells' text."""
    return [[cell.strip() for cell in line.strip("│ ").split("│")] for line in text.splitlines() if "│" in line]


async def test_the_printed_story_shows_those_numbers(story: Story) -> None:
    console = Console(record=True, width=160)
    print_story(story, console)
    text = console.export_text()
    rows = _rows(text)
    for flow in story.flows:
        assert f"{flow.number}. {flow.title}" in text
        for fact in flow.facts:
            assert fact in text
        for o in flow.orders:
            assert [o.label, o.lines, yuan(o.total_minor), o.status, ", ".join(o.locations)] in rows
    assert ["WH-EAST", "40/0/40 -> 28/0/28", "20/0/20 -> 19/0/19"] in rows
    assert ["DEALER-SHOP", "6/0/6 -> 13/0/13", "0/0/0 -> 0/0/0"] in rows
    assert ["marketplace", "10 -> 8", "15 -> 14"] in rows
    assert ["pos", "78 -> 64", "32 -> 30"] in rows
    assert ["brand", "12", "¥1,069.55", "¥0.00", "¥1,069.55"] in rows
    assert [f"dealer {story.brand.dealer_name}", "4", "-¥288.45", "¥0.00", "-¥288.45"] in rows
    assert ["channel marketplace", "1", "¥9.90", "¥0.00", "¥9.90"] in rows
    assert ["clearing (customers' money)", "9", "-¥791.00", "¥0.00", "-¥791.00"] in rows
    assert ["sum", "", "¥0.00"] in [r[:3] for r in rows]
    assert "Reconcile: 7 orders settled, ledger sum ¥0.00, 0 discrepancies" in text


async def test_seeding_again_under_another_run_id_leaves_the_first_alone(clients, story: Story) -> None:  # type: ignore[no-untyped-def]
    second = await seed(clients, new_run_id())
    assert set(second.locations.values()).isdisjoint(story.brand.locations.values())
    assert set(second.channels.values()).isdisjoint(story.brand.channels.values())
    from onepool_cli.demo.story import StoryRun

    assert await StoryRun(clients, story.brand, lambda _: None).stock() == story.stock_after
