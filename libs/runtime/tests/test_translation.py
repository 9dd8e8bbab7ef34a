"""`onepool_runtime.translation`: an event of one aggregate is published under its own name with the aggregate;
every way a rule can be wrong is refused when the translator is built (at import), not at the first event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.dealers.v1 import events_pb2 as ev
from onepool_runtime.translation import Translator, carrying


@dataclass(frozen=True)
class Aggregate:
    id: str


@dataclass(frozen=True)
class DealerRegistered:
    dealer: Aggregate


@dataclass(frozen=True)
class DealerUpdated:
    dealer: Aggregate


@dataclass(frozen=True)
class Other:
    note: str


def to_proto(a: Aggregate) -> dealers_pb2.Dealer:
    return dealers_pb2.Dealer(id=a.id)


def test_an_event_of_one_aggregate_is_published_under_its_name_carrying_the_aggregate() -> None:
    translate = Translator(ev, carrying(to_proto, DealerRegistered, DealerUpdated))
    d1, d2 = dealers_pb2.Dealer(id="d1"), dealers_pb2.Dealer(id="d2")
    assert list(translate(DealerRegistered(Aggregate("d1")))) == [ev.DealerRegistered(dealer=d1)]
    assert list(translate(DealerUpdated(Aggregate("d2")))) == [ev.DealerUpdated(dealer=d2)]
    assert translate.produces == {ev.DealerRegistered, ev.DealerUpdated}


def test_other_events_go_to_rest_and_without_rest_are_refused() -> None:
    def rest(event: Any) -> list[Any]:
        return [common_pb2.Money(currency=event.note)]

    assert list(Translator(ev, rest=rest)(Other("CNY"))) == [common_pb2.Money(currency="CNY")]
    with pytest.raises(TypeError, match="no integration event for Other"):
        Translator(ev, carrying(to_proto, DealerRegistered))(Other("x"))


@dataclass(frozen=True)
class Unpublished:
    dealer: Aggregate


@dataclass(frozen=True)
class DealerRegisteredTwoFields:
    dealer: Aggregate
    why: str


@dataclass(frozen=True)
class ReplenishmentPlaced:  # the message's field is `replenishment`
    dealer: Aggregate


class NotADataclass:
    dealer: Aggregate


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Unpublished, "has no message Unpublished"),
        (DealerRegisteredTwoFields, "has 2 fields"),
        (ReplenishmentPlaced, "has no message field 'dealer'"),
        (NotADataclass, "is not a dataclass"),
    ],
)
def test_a_rule_that_does_not_fit_fails_when_the_translator_is_built(event: type, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Translator(ev, carrying(to_proto, event))


def test_one_event_in_two_rules_is_refused() -> None:
    with pytest.raises(TypeError, match="carried by two rules"):
        Translator(ev, carrying(to_proto, DealerRegistered), carrying(to_proto, DealerRegistered))
