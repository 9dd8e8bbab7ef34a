"""A dealer's overview shows its business in every currency it has (domain/overview.py currency_figures): a CNY
dealer whose own channel sells in USD, and whose shop ships a brand order paying it a USD fee, sees its USD
sales and income beside the CNY ones, while the overview's own fields and its credit stay in CNY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool.settlement.v1 import settlement_pb2
from onepool_dealers.domain.overview import currency_figures
from onepool_kernel.money import Money
from onepool_runtime import order_facts

from .conftest import eventually


def money(currency: str, amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency=currency, amount_minor=amount)


def figures(currency: str, sales: int, counted: int, held: int) -> pb.CurrencyFigures:
    return pb.CurrencyFigures(
        currency=currency,
        sales_in_period=money(currency, sales),
        income_counted=money(currency, counted),
        income_held=money(currency, held),
    )


@pytest.mark.asyncio
async def test_a_dealer_earning_in_two_currencies_sees_both(dealers, admin, setup, publish) -> None:  # type: ignore[no-untyped-def]
    """CNY dealer, limit 10 000. Its own orders: 1 000 CNY paid (open: its 700 share held) and 300 USD paid and
    completed (its 210 share counted). A brand order shipped from its shop, still open, holds a 50 USD fee.
    Before, the overview had CNY figures only: the USD sales and income were nowhere."""
    dealer = await setup.dealer(limit=10_000)
    party = f"dealer:{dealer.id}"
    in_cny, in_usd, brand = setup.name("O"), setup.name("O"), setup.name("O")
    created = datetime.now(UTC) - timedelta(days=1)

    def order(order_id: str, total: common_pb2.Money, *, final: bool) -> facts_pb2.OrderFacts:
        facts = facts_pb2.OrderFacts(
            order_id=order_id,
            dealer_id=dealer.id,
            channel_id=dealer.channel_id,
            is_open=not final,
            is_paid=True,
            total=total,
            paid=total,
            revision=3 if final else 2,
            facts_version=order_facts.IS_FINAL_STATED,
            is_final=final,
        )
        facts.created_at.FromDatetime(created)
        return facts

    def entry(order_id: str, amount: common_pb2.Money, rule: str = "sale") -> settlement_events.EntryPosted:
        back = money(amount.currency, -amount.amount_minor)
        return settlement_events.EntryPosted(
            entry_id=setup.name("E"),
            order_id=order_id,
            rule=rule,
            currency=amount.currency,
            lines=[
                settlement_pb2.JournalLine(party=party, amount=amount),
                settlement_pb2.JournalLine(party="brand", amount=back),
            ],
        )

    await publish("orders.order.paid", order_events.OrderPaid(facts=order(in_cny, money("CNY", 1_000), final=False)))
    await publish("orders.order.paid", order_events.OrderPaid(facts=order(in_usd, money("USD", 300), final=False)))
    await publish("settlement.entry.posted", entry(in_cny, money("CNY", 700)))
    await publish("settlement.entry.posted", entry(in_usd, money("USD", 210)))
    await publish(
        "orders.order.completed", order_events.OrderCompleted(facts=order(in_usd, money("USD", 300), final=True))
    )
    await publish("settlement.entry.posted", entry(brand, money("USD", 50), rule="fulfilment_fee"))

    expected = [figures("CNY", 1_000, 0, 700), figures("USD", 300, 210, 50)]

    async def overview() -> pb.GetDealerOverviewResponse:
        request = pb.GetDealerOverviewRequest(dealer_id=dealer.id)
        return await dealers.GetDealerOverview(request, metadata=admin)

    async def caught_up() -> bool:
        return list((await overview()).currencies) == expected

    await eventually(caught_up)
    o = await overview()
    # The overview's own fields keep meaning the credit currency's (and credit is only ever CNY).
    assert (o.sales_in_period, o.income_held) == (money("CNY", 1_000), money("CNY", 700))
    assert (o.balance, o.credit_available) == (money("CNY", 0), money("CNY", 10_000))
    assert o.open_orders == 1


@pytest.mark.asyncio
async def test_a_dealer_with_nothing_but_credit_has_its_credit_currency_only(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer = await setup.dealer(limit=5_000)
    o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=admin)
    assert list(o.currencies) == [figures("CNY", 0, 0, 0)]


def test_the_credit_currency_comes_first_and_unlabelled_sales_count_in_it() -> None:
    got = currency_figures("USD", sales={"": 5, "USD": 10, "EUR": 7}, counted={"CNY": -3}, held={"AUD": 1})
    assert [f.currency for f in got] == ["USD", "AUD", "CNY", "EUR"]
    assert got[0].sales_in_period == Money("USD", 15)
    assert (got[1].income_held, got[2].income_counted, got[3].sales_in_period) == (
        Money("AUD", 1),
        Money("CNY", -3),
        Money("EUR", 7),
    )
